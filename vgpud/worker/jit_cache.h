// Each tenant's own JIT cache. The driver keeps the code it compiles from PTX in a cache on disk
// (CUDA_CACHE_PATH, by default ~/.nv/ComputeCache), keyed by the PTX and its options. Shared by
// every worker, one tenant could tell from how fast a load is whether another compiled the same
// PTX, and could fill the cache for all. So a worker points its driver at a folder of its
// tenant's under that cache, before it loads the driver.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace vgpud {

// The tenant's folder under `configured` (CUDA_CACHE_PATH; null if unset), else under the
// driver's default below `home`; nullopt when neither is known.
std::optional<std::string> tenant_jit_cache_path(const char* configured, const char* home, std::string_view tenant);

// Sets CUDA_CACHE_PATH to the tenant's folder, made (0700) if needed. When there is none or it
// cannot be made, turns the driver's cache off (CUDA_CACHE_DISABLE) instead: a slower load is
// better than a shared cache. Returns a sentence for the log when it had to.
std::optional<std::string> use_tenant_jit_cache(std::string_view tenant);

}  // namespace vgpud
