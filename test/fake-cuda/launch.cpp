// fake-cuda (test double, never ships): cuLaunchKernel. Kernels cannot run on a CPU, so the
// launch validates its configuration and arguments like the driver would, logs them, and
// runs a built-in behaviour chosen by the kernel's name (see README.md). Also cuLaunchHostFunc,
// whose function runs at once on the calling thread, with no lock of the fake held.
#include "graph.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>

using namespace vgpu::fake;

namespace {

int launch_log_fd() {
  static const int fd = [] {
    const std::string& path = config().launch_log;
    if (path.empty()) return -1;
    int f = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (f < 0) verbose("cannot open launch log %s: %s", path.c_str(), std::strerror(errno));
    return f;
  }();
  return fd;
}

void log_launch(const Function& f, const unsigned grid[3], const unsigned block[3], unsigned smem,
                const std::vector<unsigned char>& args) {
  const int fd = launch_log_fd();
  if (fd < 0) return;
  std::string line = "launch " + f.name;
  char buf[160];
  std::snprintf(buf, sizeof buf, " grid=%u,%u,%u block=%u,%u,%u smem=%u params=", grid[0], grid[1], grid[2],
                block[0], block[1], block[2], smem);
  line += buf;
  static constexpr char kHex[] = "0123456789abcdef";
  for (const ParamLayout& p : f.params) {  // every parameter's bytes, in order, no padding
    for (std::size_t i = 0; i < p.size; ++i) {
      const unsigned char b = args[p.offset + i];
      line += kHex[b >> 4];
      line += kHex[b & 0xf];
    }
  }
  line += '\n';
  // One write per line on an O_APPEND descriptor: lines from several threads or processes
  // sharing the file do not interleave.
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t w = ::write(fd, data, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += w;
    left -= static_cast<std::size_t>(w);
  }
}

template <class T>
T arg_at(const std::vector<unsigned char>& args, const Function& f, std::size_t index) {
  T v;
  static_assert(std::is_trivially_copyable_v<T>);
  std::memcpy(&v, args.data() + f.params[index].offset, sizeof v);
  return v;
}

}  // namespace

// Collects the argument bytes into a buffer laid out as the parameter layout says.
CUresult vgpu::fake::gather_args(const Function& f, void** kernelParams, void** extra,
                                 std::vector<unsigned char>& args) {
  args.assign(f.param_bytes, 0);
  if (kernelParams != nullptr && extra != nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (kernelParams != nullptr) {
    for (std::size_t i = 0; i < f.params.size(); ++i) {
      if (kernelParams[i] == nullptr) return CUDA_ERROR_INVALID_VALUE;
      std::memcpy(args.data() + f.params[i].offset, kernelParams[i], f.params[i].size);
    }
    return CUDA_SUCCESS;
  }
  if (extra != nullptr) {
    const void* buffer = nullptr;
    const std::size_t* size = nullptr;
    for (std::size_t i = 0;; i += 2) {
      if (i >= 64) return CUDA_ERROR_INVALID_VALUE;  // no CU_LAUNCH_PARAM_END in sight
      if (extra[i] == CU_LAUNCH_PARAM_END) break;
      if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) {
        buffer = extra[i + 1];
      } else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE) {
        size = static_cast<const std::size_t*>(extra[i + 1]);
      } else {
        return CUDA_ERROR_INVALID_VALUE;
      }
    }
    if (f.param_bytes == 0) return CUDA_SUCCESS;
    if (buffer == nullptr || size == nullptr || *size < f.param_bytes) return CUDA_ERROR_INVALID_VALUE;
    std::memcpy(args.data(), buffer, f.param_bytes);
    return CUDA_SUCCESS;
  }
  return f.params.empty() ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

// The device's limits: every dimension > 0, a grid of at most 2^31-1 x 65535 x 65535 blocks, a
// block of at most 1024 x 1024 x 64 threads and 1024 in all, dynamic shared memory up to the
// function's MAX_DYNAMIC_SHARED_SIZE_BYTES.
CUresult vgpu::fake::launch_dims_check(const Function& f, const unsigned grid[3], const unsigned block[3],
                                       unsigned smem) {
  for (int i = 0; i < 3; ++i) {
    if (grid[i] == 0 || block[i] == 0) return CUDA_ERROR_INVALID_VALUE;
  }
  if (grid[0] > static_cast<unsigned>(INT_MAX) || grid[1] > 65535 || grid[2] > 65535) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (block[0] > 1024 || block[1] > 1024 || block[2] > 64 ||
      std::uint64_t{block[0]} * block[1] * block[2] > static_cast<std::uint64_t>(kMaxThreadsPerBlock)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (smem > static_cast<unsigned>(f.settable[CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES])) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

namespace {

// Host memory registered in the context: mapped, and under unified addressing its device
// address is its host address (cuMemHostGetDevicePointer_v2).
bool registered_host_range(const Context& ctx, CUdeviceptr p, std::size_t n) {
  auto next = ctx.host_registered.upper_bound(p);
  if (next == ctx.host_registered.begin()) return false;
  const auto [base, size] = *std::prev(next);
  return p - base < size && n <= size - (p - base);
}

// A kernel may touch memory of its own context and of the contexts it has enabled peer access
// to (the peer set holds only live contexts: destroy_context removes itself from every set),
// and host memory registered in its context.
bool kernel_range_ok(const Context& ctx, const RegionReader& held, CUdeviceptr p, std::size_t n) {
  const CUcontext owner = region_owner(held, p, n);
  if (owner == nullptr) return registered_host_range(ctx, p, n);
  return owner == ctx.handle || ctx.peers.count(owner) != 0;
}

void fault(Context& ctx, const Function& f, const char* why) {
  verbose("kernel %s: %s; the process's contexts are now broken (CUDA_ERROR_ILLEGAL_ADDRESS)",
          f.name.c_str(), why);
  ctx.sticky = CUDA_ERROR_ILLEGAL_ADDRESS;
  poison_process(CUDA_ERROR_ILLEGAL_ADDRESS);
}

}  // namespace

namespace {

// A launch: cuLaunchKernel's, or cuLaunchKernelEx's with its attributes (`ex`, read already).
CUresult launch(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes,
                CUstream hStream, void** kernelParams, void** extra, const LaunchAttributes* ex) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  Context& ctx = *l.ctx;
  auto fit = ctx.functions.find(f);
  if (fit == ctx.functions.end()) return CUDA_ERROR_INVALID_HANDLE;
  const Function& fn = fit->second;
  if (!stream_ok(ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;

  const unsigned grid[3] = {gridDimX, gridDimY, gridDimZ};
  const unsigned block[3] = {blockDimX, blockDimY, blockDimZ};
  if (CUresult r = launch_dims_check(fn, grid, block, sharedMemBytes); r != CUDA_SUCCESS) return r;
  if (ex != nullptr) {
    // A cluster must tile the grid; a cooperative grid must be resident all at once.
    unsigned dims[3];
    bool any = false;
    if (CUresult r = launch_cluster(fn, *ex, dims, &any); r != CUDA_SUCCESS) return r;
    for (int i = 0; any && i < 3; ++i) {
      if (grid[i] % dims[i] != 0) return CUDA_ERROR_INVALID_CLUSTER_SIZE;
    }
    if (ex->cooperative) {
      const int per_sm = blocks_per_sm(static_cast<int>(blockDimX * blockDimY * blockDimZ), sharedMemBytes);
      if (std::uint64_t{gridDimX} * gridDimY * gridDimZ > static_cast<std::uint64_t>(per_sm) * kSmCount)
        return CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE;
    }
  }
  std::vector<unsigned char> args;
  if (CUresult r = gather_args(fn, kernelParams, extra, args); r != CUDA_SUCCESS) return r;

  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(ctx, hStream, cap); r != CUDA_SUCCESS) return r;
  if (cap) {
    // Recorded, not launched (nor logged): the arguments are copied now, as the driver does.
    KernelNode node{fn, {gridDimX, gridDimY, gridDimZ}, {blockDimX, blockDimY, blockDimZ}, sharedMemBytes,
                    std::move(args)};
    node.func = f;
    capture_record(*cap, hStream, std::move(node), ex != nullptr && ex->programmatic);
    return CUDA_SUCCESS;
  }
  run_kernel(l, fn, grid, block, sharedMemBytes, args);
  return CUDA_SUCCESS;
}

}  // namespace

void vgpu::fake::run_kernel(Locked& l, const Function& fn, const unsigned grid[3], const unsigned block[3],
                            unsigned smem, const std::vector<unsigned char>& args) {
  Context& ctx = *l.ctx;
  log_launch(fn, grid, block, smem, args);

  switch (fn.builtin) {
    case Builtin::none:
      break;
    case Builtin::vector_add: {
      const auto a = arg_at<std::uint64_t>(args, fn, 0);
      const auto b = arg_at<std::uint64_t>(args, fn, 1);
      const auto c = arg_at<std::uint64_t>(args, fn, 2);
      const auto n = arg_at<std::int32_t>(args, fn, 3);
      if (n <= 0) break;
      const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(float);
      const RegionReader held = read_regions();  // peer memory stays mapped while the kernel runs
      if (!kernel_range_ok(ctx, held, a, bytes) || !kernel_range_ok(ctx, held, b, bytes) ||
          !kernel_range_ok(ctx, held, c, bytes)) {
        fault(ctx, fn, "pointer outside the memory of the context and its peers");
        break;
      }
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        float x, y;
        std::memcpy(&x, reinterpret_cast<const void*>(a + i * sizeof(float)), sizeof x);
        std::memcpy(&y, reinterpret_cast<const void*>(b + i * sizeof(float)), sizeof y);
        const float z = x + y;
        std::memcpy(reinterpret_cast<void*>(c + i * sizeof(float)), &z, sizeof z);
      }
      break;
    }
    case Builtin::fill_u32: {
      const auto p = arg_at<std::uint64_t>(args, fn, 0);
      const auto value = arg_at<std::uint32_t>(args, fn, 1);
      const auto n = arg_at<std::uint64_t>(args, fn, 2);
      if (n == 0) break;
      const RegionReader held = read_regions();
      if (n > SIZE_MAX / sizeof(std::uint32_t) || !kernel_range_ok(ctx, held, p, n * sizeof(std::uint32_t))) {
        fault(ctx, fn, "pointer outside the memory of the context and its peers");
        break;
      }
      for (std::uint64_t i = 0; i < n; ++i) {
        std::memcpy(reinterpret_cast<void*>(p + i * sizeof value), &value, sizeof value);
      }
      break;
    }
    case Builtin::fault:
      fault(ctx, fn, "fake_fault");
      break;
    case Builtin::printf: {
      // One line per block, as a kernel whose thread 0 printfs would print.
      const auto value = arg_at<std::uint32_t>(args, fn, 0);
      const std::uint64_t blocks = std::uint64_t{grid[0]} * grid[1] * grid[2];
      for (std::uint64_t b = 0; b < blocks && b < 1024; ++b) {
        char line[64];
        std::snprintf(line, sizeof line, "fake_printf block %llu value %u\n", static_cast<unsigned long long>(b), value);
        ctx.printf_pending += line;
      }
      break;
    }
    case Builtin::set_conditional:
      conditional_set(arg_at<std::uint64_t>(args, fn, 0), arg_at<std::uint32_t>(args, fn, 1));
      break;
    case Builtin::countdown: {
      const auto counter = arg_at<std::uint64_t>(args, fn, 0);
      const RegionReader held = read_regions();
      if (!kernel_range_ok(ctx, held, counter, sizeof(std::uint32_t))) {
        fault(ctx, fn, "pointer outside the memory of the context and its peers");
        break;
      }
      std::uint32_t left;
      std::memcpy(&left, reinterpret_cast<const void*>(counter), sizeof left);
      if (left > 0) --left;
      std::memcpy(reinterpret_cast<void*>(counter), &left, sizeof left);
      conditional_set(arg_at<std::uint64_t>(args, fn, 1), left > 0 ? 1u : 0u);
      break;
    }
    case Builtin::sleep_ms: {
      int ms = arg_at<std::int32_t>(args, fn, 0);
      if (ms > 600000) ms = 600000;
      l.lock.unlock();  // other threads may use this context meanwhile, as on a GPU
      if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      break;
    }
  }
}

FAKE_CUDA_API CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
                                              unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
                                              unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
                                              void** kernelParams, void** extra) {
  return launch(f, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes, hStream,
                kernelParams, extra, nullptr);
}

// As cuLaunchKernel, with the configuration's attributes: a cluster (which must tile the grid
// and fit the function), cooperative (the grid must fit on the device at once), a priority
// (accepted; work runs at once anyway).
FAKE_CUDA_API CUresult CUDAAPI cuLaunchKernelEx(const CUlaunchConfig* config, CUfunction f, void** kernelParams,
                                                void** extra) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (config == nullptr) return CUDA_ERROR_INVALID_VALUE;
  LaunchAttributes attrs;
  if (CUresult r = read_launch_attributes(*config, attrs); r != CUDA_SUCCESS) return r;
  return launch(f, config->gridDimX, config->gridDimY, config->gridDimZ, config->blockDimX, config->blockDimY,
                config->blockDimZ, config->sharedMemBytes, config->hStream, kernelParams, extra, &attrs);
}

void vgpu::fake::run_host_fn(Locked& l, const HostNode& h) {
  // The function may wait for long, on a thread that makes CUDA calls in this context meanwhile
  // (vgpud's waits for its guest): nothing of the fake stays locked while it runs.
  l.lock.unlock();
  h.fn(h.data);
}

// Work on the stream runs at once in the fake, so what comes before the function on it is done:
// the function is called now, on the calling thread, and has returned when this returns. Not
// called in a broken context (the sticky error is returned), as the driver skips host functions
// after an error in the context. On a capturing stream it is recorded as a host node instead,
// and called each time the graph runs. Unlike the driver, the fake does not refuse CUDA calls
// made from inside the function (the driver may answer them CUDA_ERROR_NOT_PERMITTED).
FAKE_CUDA_API CUresult CUDAAPI cuLaunchHostFunc(CUstream hStream, CUhostFn fn, void* userData) {
  Locked l;
  if (CUresult r = enter(l); r != CUDA_SUCCESS) return r;
  if (fn == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (!stream_ok(*l.ctx, hStream)) return CUDA_ERROR_INVALID_HANDLE;
  std::shared_ptr<Capture> cap;
  if (CUresult r = capture_gate(*l.ctx, hStream, cap); r != CUDA_SUCCESS) return r;
  if (cap) {
    capture_record(*cap, hStream, HostNode{fn, userData});
    return CUDA_SUCCESS;
  }
  run_host_fn(l, HostNode{fn, userData});
  return CUDA_SUCCESS;
}
