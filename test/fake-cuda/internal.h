// fake-cuda: a host-memory TEST DOUBLE of the CUDA Driver API. It never ships and proves
// nothing about CUDA; it only lets vgpud run end to end on machines without a GPU.
//
// Internal declarations shared by the files of the library. Everything here is hidden
// (-fvisibility=hidden); only the Driver API entry points are exported (see exports.map).
#pragma once

// Pull in the C headers cuda.h includes first, so that the visibility push below covers only
// cuda.h's own declarations.
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdint.h>
#include <stdlib.h>

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

// cuda.h declares the Driver API; with default visibility for its declarations, the
// definitions in this library are exported while everything else stays hidden. The header's
// #define renames (cuMemAlloc -> cuMemAlloc_v2, ...) only touch the unsuffixed names; the
// definitions below use the exact exported names.
#pragma GCC visibility push(default)
#include <cuda.h>
// cuda.h renames cuEventElapsedTime to cuEventElapsedTime_v2, cuGraphAddKernelNode and
// cuGraphAddDependencies to their _v2; both names of each are exported.
#undef cuEventElapsedTime
#undef cuGraphAddKernelNode
#undef cuGraphAddDependencies
extern "C" {
// Not declared by cuda.h without __CUDA_API_VERSION_INTERNAL (it renames cuCtxCreate to _v4).
CUresult CUDAAPI cuCtxCreate_v2(CUcontext* pctx, unsigned int flags, CUdevice dev);
CUresult CUDAAPI cuEventElapsedTime(float* pMilliseconds, CUevent hStart, CUevent hEnd);
CUresult CUDAAPI cuGraphAddKernelNode(CUgraphNode* phGraphNode, CUgraph hGraph, const CUgraphNode* dependencies,
                                      size_t numDependencies, const CUDA_KERNEL_NODE_PARAMS_v1* nodeParams);
CUresult CUDAAPI cuGraphAddDependencies(CUgraph hGraph, const CUgraphNode* from, const CUgraphNode* to,
                                        size_t numDependencies);
}
#pragma GCC visibility pop

#define FAKE_CUDA_API extern "C" __attribute__((visibility("default")))

namespace vgpu::fake {

inline constexpr int kMaxDevices = 8;
inline constexpr int kDriverVersion = 13000;
inline constexpr std::size_t kAllocAlignment = 256;
inline constexpr int kMaxThreadsPerBlock = 1024;
inline constexpr int kSharedPerBlock = 49152;
inline constexpr int kSharedPerBlockOptin = 232448;
inline constexpr std::size_t kMaxParamBytes = 32764;
// The SM the occupancy calculators model (an H100's: device.cpp reports the same numbers).
inline constexpr int kSmCount = 132;
inline constexpr int kThreadsPerSm = 2048;
inline constexpr int kBlocksPerSm = 32;
inline constexpr int kSharedPerSm = 233472;
inline constexpr int kSharedReservedPerBlock = 1024;  // what the driver keeps per block (sm_90)
inline constexpr int kMaxPortableClusterSize = 8;
inline constexpr int kMaxNonPortableClusterSize = 16;
inline constexpr int kSmsPerGpc = 16;  // a cluster runs inside one GPC

// The context limits (cuCtxGetLimit) a new context starts with: the driver's defaults on an
// H100 with driver 580.
inline std::array<std::size_t, CU_LIMIT_MAX> default_limits() {
  std::array<std::size_t, CU_LIMIT_MAX> l{};
  l[CU_LIMIT_STACK_SIZE] = 1024;
  l[CU_LIMIT_PRINTF_FIFO_SIZE] = 1 << 20;
  l[CU_LIMIT_MALLOC_HEAP_SIZE] = 8 << 20;
  l[CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH] = 2;
  l[CU_LIMIT_DEV_RUNTIME_PENDING_LAUNCH_COUNT] = 2048;
  l[CU_LIMIT_MAX_L2_FETCH_GRANULARITY] = 64;
  l[CU_LIMIT_PERSISTING_L2_CACHE_SIZE] = 0;
  l[CU_LIMIT_SHMEM_SIZE] = 0;    // not a CIG context
  l[CU_LIMIT_CIG_ENABLED] = 0;
  l[CU_LIMIT_CIG_SHMEM_FALLBACK_ENABLED] = 0;
  return l;
}

// ---- process-wide configuration (read from the environment by cuInit) ----
struct Config {
  int device_count = 1;
  std::uint64_t total_memory = 16ull << 30;
  std::string state_file;  // FAKE_CUDA_STATE_FILE
  std::string launch_log;  // FAKE_CUDA_LAUNCH_LOG
  bool verbose = false;    // FAKE_CUDA_VERBOSE
  // FAKE_CUDA_PEER_ACCESS: "0" means that no pair of devices can access each other's memory.
  bool peer_access = true;
};

CUresult initialize();  // cuInit: reads the environment once
bool initialized();
const Config& config();  // valid once initialized() is true

// ---- objects owned by a context ----
struct Region {  // device memory: a cuMemAlloc allocation, a module global or a cuMemMap mapping
  std::size_t size = 0;
  CUmodule owner = nullptr;  // null for cuMemAlloc allocations
  bool mapping = false;      // vmm.cpp's: its memory is a physical allocation's, charged there
  bool managed = false;      // a module's `managed` global (a __managed__ variable)
  bool graph = false;        // graph memory (graph_memory.cpp): cuMemFree leaves it for its node
};

struct ParamLayout {
  std::size_t offset = 0;
  std::size_t size = 0;
};

enum class Builtin { none, vector_add, fill_u32, fault, sleep_ms, printf, set_conditional, countdown };

struct Function {
  std::string name;
  CUmodule module = nullptr;
  std::vector<ParamLayout> params;
  std::size_t param_bytes = 0;  // end of the last parameter
  Builtin builtin = Builtin::none;
  std::array<int, CU_FUNC_ATTRIBUTE_MAX> settable{};  // values stored by cuFuncSetAttribute
};

struct Module {
  std::vector<CUfunction> functions;
  std::map<std::string, CUfunction, std::less<>> function_by_name;
  std::map<std::string, std::pair<CUdeviceptr, std::size_t>, std::less<>> globals;
};

struct Capture;  // graph.h

struct Stream {
  unsigned flags = 0;
  int priority = 0;
  // The capture this stream takes part in (capture.cpp), null when it is not capturing.
  std::shared_ptr<Capture> capture;
};

struct Event {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point when{};
  // Last recorded inside a capture: the driver refuses to query or wait on it from the host
  // (CUDA_ERROR_CAPTURED_EVENT), and a stream that waits on it while the capture is open joins
  // that capture.
  bool captured = false;
  std::weak_ptr<Capture> capture;
  CUgraphNode capture_node = nullptr;  // the node that record became in it, which a waiter follows
};

struct Context {
  CUcontext handle = nullptr;
  CUdevice device = 0;
  unsigned flags = 0;

  std::mutex mu;  // guards everything below
  bool destroyed = false;
  CUresult sticky = CUDA_SUCCESS;  // set by a (simulated) kernel fault
  std::map<CUdeviceptr, Region> regions;
  std::map<std::uintptr_t, std::size_t> host_registered;
  std::unordered_map<CUmodule, Module> modules;
  std::unordered_map<CUfunction, Function> functions;
  std::unordered_map<CUstream, Stream> streams;
  std::unordered_map<CUevent, Event> events;
  // Contexts whose memory this context's kernels may touch (cuCtxEnablePeerAccess; one-way).
  std::set<CUcontext> peers;
  // cuCtxGetLimit / cuCtxSetLimit, indexed by CUlimit.
  std::array<std::size_t, CU_LIMIT_MAX> limits = default_limits();
  // What fake_printf kernels printed since the last synchronization: the driver prints a
  // kernel's printf output to the process's stdout when the context synchronizes.
  std::string printf_pending;
};

// Writes the context's pending printf output to stdout, as the driver does at a synchronization.
void flush_printf(Context& ctx);

// A context looked up for the calling thread, locked, not destroyed and (unless asked
// otherwise) without a sticky error.
struct Locked {
  std::shared_ptr<Context> ctx;
  std::unique_lock<std::mutex> lock;
  Context* operator->() const { return ctx.get(); }
};

// NOT_INITIALIZED before cuInit, INVALID_CONTEXT without a (live) current context, the
// sticky error when check_sticky and the context has one; else locks it into `out`.
CUresult enter(Locked& out, bool check_sticky = true);

// A simulated kernel fault poisons every context of the process, as on a real GPU (measured
// on an H100 with driver 580: the other contexts fail with the same error, and no new
// context can be made). This is why vgpud runs each guest in a process of its own.
void poison_process(CUresult error);
CUresult process_poison();  // CUDA_SUCCESS until poison_process

// Registry of live contexts.
CUresult create_context(CUdevice dev, unsigned flags, CUcontext* out);
CUresult destroy_context(CUcontext handle);
std::shared_ptr<Context> find_context(CUcontext handle);
std::vector<std::shared_ptr<Context>> live_contexts();  // a snapshot of the registry
CUcontext& current_handle();  // the calling thread's current context (thread_local)

// Opaque handle values: unique for the process lifetime, never 0, 1 or 2.
std::uintptr_t next_handle();
template <class T>
T new_handle() {
  return reinterpret_cast<T>(next_handle());
}

// Device memory: budget per device plus process-wide counters for the state file.
void* device_alloc(std::size_t bytes);  // aligned, not zeroed; null on failure
void device_free(void* p);
bool reserve_device_memory(CUdevice dev, std::size_t bytes);
void release_device_memory(CUdevice dev, std::size_t bytes);
std::uint64_t device_used(CUdevice dev);
void count_allocation(std::size_t bytes);  // process-wide counters
void count_free(std::size_t bytes);
void count_link(int delta);  // live links (cuLinkCreate_v2 / cuLinkDestroy), for the state file
void count_graph(int delta);  // live graphs (those a capture records into too), for the state file
void count_graph_exec(int delta);  // live executable graphs, for the state file
void write_state_file();  // no-op without FAKE_CUDA_STATE_FILE

// Frees every resource of a context (caller holds ctx.mu). Updates counters.
void release_context_resources(Context& ctx);
// Frees a module's globals and forgets its functions (caller holds ctx.mu).
void release_module(Context& ctx, CUmodule mod);
// Frees a context's arrays, mipmapped arrays, texture and surface objects (arrays.cpp; caller
// holds ctx.mu).
void release_arrays(Context& ctx);

// ---- the process-wide region index (regions.cpp) ----
// Every device region of every live context, by base address, with the context that owns it.
// Unified addressing lets a copy name memory of any context, and a kernel memory of its peers,
// so the calling thread must find regions without taking the owning context's lock.
//
// Lock order: the index's mutex may be taken while holding a Context::mu, never the other way
// round; nothing else is acquired while holding it but graph.cpp's registry mutex, under which
// nothing at all is acquired (a captured copy records its node while its memory is held).

// Adds a region to ctx.regions and to the index (caller holds ctx.mu).
void add_region(Context& ctx, CUdeviceptr base, const Region& region);
// Removes a region from both and unmaps its memory (caller holds ctx.mu). Waits for copies and
// kernels of other contexts that are using it (they hold a RegionReader).
void drop_region(Context& ctx, CUdeviceptr base);

// A shared hold on the index: while it lives, no region is dropped, so memory found through it
// stays mapped. A call takes at most one, and holds it until it is done with the memory.
using RegionReader = std::shared_lock<std::shared_mutex>;
RegionReader read_regions();
// The context owning the region that holds [p, p+n) (n > 0), or null when no region does.
CUcontext region_owner(const RegionReader& held, CUdeviceptr p, std::size_t n);

// ---- peer access (peer.cpp) ----
bool can_access_peer(CUdevice dev, CUdevice peer_dev);  // the answer of cuDeviceCanAccessPeer
// Removes a destroyed context from every other context's peer set. Takes each Context::mu in
// turn, so the caller must hold none.
void forget_peer(CUcontext gone);

// Blocks of `block_size` threads with `smem` bytes of dynamic shared memory each that fit on one
// SM (the model of cuOccupancyMaxActiveBlocksPerMultiprocessor); 0 when one cannot run.
int blocks_per_sm(int block_size, std::size_t smem);

// The attributes of a cuLaunchKernelEx / cluster occupancy configuration that the fake models.
struct LaunchAttributes {
  bool cluster = false;  // CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION given
  unsigned cluster_dim[3] = {1, 1, 1};
  bool cooperative = false;
  int priority = 0;
  // PROGRAMMATIC_STREAM_SERIALIZATION: the fake runs kernels one after the other anyway; a
  // capture records the launch after the kernels before it through programmatic edges.
  bool programmatic = false;
};
// Reads config.attrs: CUDA_ERROR_INVALID_VALUE for a malformed list (attrs null with numAttrs
// > 0, a zero cluster dimension), CUDA_ERROR_NOT_SUPPORTED for an attribute the fake does not
// model (only IGNORE, COOPERATIVE, CLUSTER_DIMENSION, PRIORITY and
// PROGRAMMATIC_STREAM_SERIALIZATION are).
CUresult read_launch_attributes(const CUlaunchConfig& config, LaunchAttributes& out);
// The cluster dimensions a launch of f uses: the configuration's, else the function's required
// ones (cuFuncSetAttribute REQUIRED_CLUSTER_*), else none (false). A configuration that
// contradicts the required ones, or a cluster larger than the function may have (8 blocks; 16
// with NON_PORTABLE_CLUSTER_SIZE_ALLOWED), is CUDA_ERROR_INVALID_CLUSTER_SIZE.
CUresult launch_cluster(const Function& f, const LaunchAttributes& attrs, unsigned dims[3], bool* any);

// Stream handle check: NULL, CU_STREAM_LEGACY, CU_STREAM_PER_THREAD or a live stream of ctx.
bool stream_ok(const Context& ctx, CUstream s);

// The integer value of an enum argument that came through the C ABI, read without an
// enum-typed load (callers may pass values outside the enum, which UBSan would flag).
template <class E>
int raw_enum(const E* e) {
  static_assert(sizeof(E) == sizeof(int));
  int v;
  std::memcpy(&v, e, sizeof v);
  return v;
}

void verbose(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace vgpu::fake
