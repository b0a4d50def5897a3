// fake-cuda (test double, never ships): process-wide state — configuration from the
// environment, the registry of live contexts, handles, device-memory accounting and the
// optional state file.
#include "graph.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>

namespace vgpu::fake {
namespace {

std::atomic<bool> g_initialized{false};
std::once_flag g_init_once;
Config g_config;

std::mutex g_registry_mu;
std::unordered_map<CUcontext, std::shared_ptr<Context>> g_contexts;

std::atomic<std::uintptr_t> g_next_handle{1};
std::array<std::atomic<std::uint64_t>, kMaxDevices> g_device_used{};
std::atomic<std::uint64_t> g_context_count{0};
std::atomic<std::uint64_t> g_allocation_count{0};
std::atomic<std::uint64_t> g_allocated_bytes{0};
std::atomic<std::uint64_t> g_link_count{0};
std::atomic<std::uint64_t> g_graph_count{0};
std::atomic<std::uint64_t> g_graph_exec_count{0};

std::mutex g_state_file_mu;

thread_local CUcontext t_current = nullptr;

std::string env_string(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool env_u64(const char* name, std::uint64_t& out) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long parsed = std::strtoull(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0') return false;
  out = parsed;
  return true;
}

void load_config() {
  std::uint64_t v = 0;
  if (env_u64("FAKE_CUDA_DEVICE_COUNT", v)) {
    g_config.device_count = v > kMaxDevices ? kMaxDevices : static_cast<int>(v);
  }
  if (env_u64("FAKE_CUDA_TOTAL_MEMORY", v) && v > 0) g_config.total_memory = v;
  g_config.state_file = env_string("FAKE_CUDA_STATE_FILE");
  // "%p" becomes the pid: vgpud runs each channel in its own process, and each keeps a file.
  if (auto at = g_config.state_file.find("%p"); at != std::string::npos)
    g_config.state_file.replace(at, 2, std::to_string(::getpid()));
  g_config.launch_log = env_string("FAKE_CUDA_LAUNCH_LOG");
  std::string verbose_env = env_string("FAKE_CUDA_VERBOSE");
  g_config.verbose = !verbose_env.empty() && verbose_env != "0";
  g_config.peer_access = env_string("FAKE_CUDA_PEER_ACCESS") != "0";
}

void count(std::atomic<std::uint64_t>& counter, int delta) {
  if (delta > 0)
    counter.fetch_add(static_cast<std::uint64_t>(delta));
  else
    counter.fetch_sub(static_cast<std::uint64_t>(-delta));
}

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

// ---- init / config ----

CUresult initialize() {
  std::call_once(g_init_once, [] {
    load_config();
    g_initialized.store(true, std::memory_order_release);
    write_state_file();
  });
  return g_config.device_count == 0 ? CUDA_ERROR_NO_DEVICE : CUDA_SUCCESS;
}

bool initialized() { return g_initialized.load(std::memory_order_acquire); }
const Config& config() { return g_config; }

void verbose(const char* fmt, ...) {
  if (!initialized() || !g_config.verbose) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "fake-cuda: %s\n", buf);
}

// ---- handles ----

std::uintptr_t next_handle() {
  // Distinct, never 0/1/2 (NULL, CU_STREAM_LEGACY, CU_STREAM_PER_THREAD), never reused, and
  // recognisable when printed.
  return 0xfa0000000000ull + g_next_handle.fetch_add(1, std::memory_order_relaxed) * 0x10;
}

// ---- contexts ----

CUcontext& current_handle() { return t_current; }

std::shared_ptr<Context> find_context(CUcontext handle) {
  std::lock_guard<std::mutex> g(g_registry_mu);
  auto it = g_contexts.find(handle);
  return it == g_contexts.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Context>> live_contexts() {
  std::lock_guard<std::mutex> g(g_registry_mu);
  std::vector<std::shared_ptr<Context>> out;
  out.reserve(g_contexts.size());
  for (const auto& [handle, ctx] : g_contexts) out.push_back(ctx);
  return out;
}

namespace {
std::atomic<CUresult> g_process_poison{CUDA_SUCCESS};
}  // namespace

void poison_process(CUresult error) {
  CUresult expected = CUDA_SUCCESS;
  g_process_poison.compare_exchange_strong(expected, error);
}

CUresult process_poison() { return g_process_poison.load(); }

CUresult create_context(CUdevice dev, unsigned flags, CUcontext* out) {
  if (process_poison() != CUDA_SUCCESS) return process_poison();
  auto ctx = std::make_shared<Context>();
  ctx->handle = new_handle<CUcontext>();
  ctx->device = dev;
  ctx->flags = flags;
  {
    std::lock_guard<std::mutex> g(g_registry_mu);
    g_contexts.emplace(ctx->handle, ctx);
    g_context_count.fetch_add(1);
  }
  *out = ctx->handle;
  t_current = ctx->handle;
  write_state_file();
  return CUDA_SUCCESS;
}

CUresult destroy_context(CUcontext handle) {
  std::shared_ptr<Context> ctx;
  {
    std::lock_guard<std::mutex> g(g_registry_mu);
    auto it = g_contexts.find(handle);
    if (it == g_contexts.end()) return CUDA_ERROR_INVALID_CONTEXT;
    ctx = std::move(it->second);
    g_contexts.erase(it);
    g_context_count.fetch_sub(1);
  }
  {
    // Waits for a call running in this context on another thread (a copy, a kernel) to end.
    std::lock_guard<std::mutex> g(ctx->mu);
    ctx->destroyed = true;
    release_context_resources(*ctx);
  }
  // After the registry forgot it: a cuCtxEnablePeerAccess racing with this sees it gone (see
  // peer.cpp), and no other context keeps it in its peer set.
  forget_peer(handle);
  if (t_current == handle) t_current = nullptr;
  write_state_file();
  return CUDA_SUCCESS;
}

CUresult enter(Locked& out, bool check_sticky) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (t_current == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  auto ctx = find_context(t_current);
  if (!ctx) return CUDA_ERROR_INVALID_CONTEXT;
  std::unique_lock<std::mutex> lock(ctx->mu);
  if (ctx->destroyed) return CUDA_ERROR_INVALID_CONTEXT;
  if (check_sticky && ctx->sticky != CUDA_SUCCESS) return ctx->sticky;
  if (check_sticky && process_poison() != CUDA_SUCCESS) return process_poison();
  out.ctx = std::move(ctx);
  out.lock = std::move(lock);
  return CUDA_SUCCESS;
}

// ---- device memory ----

// Device memory comes from mmap, not the heap: like a real GPU's addresses, it then lies away
// from where malloc (and AddressSanitizer's allocator) puts host memory, in this process and
// in a guest process that has a similar layout.
namespace {
std::mutex g_mappings_mu;
std::map<void*, std::size_t> g_mappings;  // device allocation -> mapped length
}  // namespace

void* device_alloc(std::size_t bytes) {
  const std::size_t page = 4096;
  if (bytes == 0 || bytes > SIZE_MAX - kAllocAlignment) return nullptr;
  const std::size_t rounded = (bytes + kAllocAlignment - 1) / kAllocAlignment * kAllocAlignment;
  const std::size_t length = (rounded + page - 1) / page * page;
  void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  std::lock_guard<std::mutex> g(g_mappings_mu);
  g_mappings.emplace(p, length);
  return p;
}

void device_free(void* p) {
  std::size_t length = 0;
  {
    std::lock_guard<std::mutex> g(g_mappings_mu);
    auto it = g_mappings.find(p);
    if (it == g_mappings.end()) return;
    length = it->second;
    g_mappings.erase(it);
  }
  ::munmap(p, length);
}

bool reserve_device_memory(CUdevice dev, std::size_t bytes) {
  auto& used = g_device_used[static_cast<std::size_t>(dev)];
  std::uint64_t cur = used.load();
  const std::uint64_t total = g_config.total_memory;
  do {
    if (bytes > total || cur > total - bytes) return false;
  } while (!used.compare_exchange_weak(cur, cur + bytes));
  return true;
}

void release_device_memory(CUdevice dev, std::size_t bytes) {
  g_device_used[static_cast<std::size_t>(dev)].fetch_sub(bytes);
}

std::uint64_t device_used(CUdevice dev) { return g_device_used[static_cast<std::size_t>(dev)].load(); }

void count_allocation(std::size_t bytes) {
  g_allocation_count.fetch_add(1);
  g_allocated_bytes.fetch_add(bytes);
}

void count_free(std::size_t bytes) {
  g_allocation_count.fetch_sub(1);
  g_allocated_bytes.fetch_sub(bytes);
}

void count_link(int delta) { count(g_link_count, delta); }
void count_graph(int delta) { count(g_graph_count, delta); }
void count_graph_exec(int delta) { count(g_graph_exec_count, delta); }

void release_module(Context& ctx, CUmodule mod) {
  auto it = ctx.modules.find(mod);
  if (it == ctx.modules.end()) return;
  for (CUfunction f : it->second.functions) ctx.functions.erase(f);
  for (auto& [name, global] : it->second.globals) {
    release_device_memory(ctx.device, global.second);
    drop_region(ctx, global.first);
  }
  ctx.modules.erase(it);
}

void release_context_resources(Context& ctx) {
  while (!ctx.modules.empty()) release_module(ctx, ctx.modules.begin()->first);
  release_arrays(ctx);
  while (!ctx.regions.empty()) {
    // Only cuMemAlloc allocations and mappings remain (module globals went with their modules).
    // A mapping stays mapped, as the driver's outlive contexts; only the index forgets it.
    const auto [base, region] = *ctx.regions.begin();
    if (!region.mapping) {
      release_device_memory(ctx.device, region.size);
      count_free(region.size);
    }
    drop_region(ctx, base);
  }
  ctx.host_registered.clear();
  capture_forget_context(ctx);  // the graphs of its open captures go with it
  ctx.streams.clear();
  ctx.events.clear();
  ctx.peers.clear();
}

void write_state_file() {
  if (!initialized() || g_config.state_file.empty()) return;
  std::lock_guard<std::mutex> g(g_state_file_mu);
  // Snapshot inside the lock: whichever write comes last reflects every earlier change.
  char buf[256];
  int n = std::snprintf(buf, sizeof buf,
                        "contexts=%" PRIu64 "\nallocations=%" PRIu64 "\nallocated_bytes=%" PRIu64
                        "\nlinks=%" PRIu64 "\ngraphs=%" PRIu64 "\ngraph_execs=%" PRIu64 "\n",
                        static_cast<std::uint64_t>(g_context_count.load()),
                        static_cast<std::uint64_t>(g_allocation_count.load()),
                        static_cast<std::uint64_t>(g_allocated_bytes.load()),
                        static_cast<std::uint64_t>(g_link_count.load()),
                        static_cast<std::uint64_t>(g_graph_count.load()),
                        static_cast<std::uint64_t>(g_graph_exec_count.load()));
  if (n <= 0) return;
  std::string tmp = g_config.state_file + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    verbose("cannot write %s: %s", tmp.c_str(), std::strerror(errno));
    return;
  }
  bool ok = write_all(fd, buf, static_cast<std::size_t>(n));
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), g_config.state_file.c_str()) != 0) {
    verbose("cannot replace %s: %s", g_config.state_file.c_str(), std::strerror(errno));
    ::unlink(tmp.c_str());
  }
}

// ---- checks ----

bool stream_ok(const Context& ctx, CUstream s) {
  return s == nullptr || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD || ctx.streams.count(s) != 0;
}

}  // namespace vgpu::fake
