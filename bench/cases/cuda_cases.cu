// cuda_cases: the benchmark "case child" for CUDA runtime workloads.
//
// A plain CUDA runtime program (runtime API only, no driver API or libraries), built twice
// (bench/CMakeLists.txt). The -cudart shared build runs against the real libcudart (native) and
// with LD_LIBRARY_PATH pointing at vgpu's libcudart.so.13 (runtime shim); the static-runtime
// build, as nvcc builds programs by default, runs NVIDIA's runtime over vgpu's libcuda.so.1
// (driver shim). The harness compares the numbers each side reports.
//
// It speaks the harness's line protocol through bench::serve_cases (bench/cases/case_server.h,
// described in bench/README.md); stdout carries only protocol lines, diagnostics go to stderr.
// If the device cannot be set up it prints `error <what>: <message>` instead of `ready` and
// exits 1; at end of input it frees everything and exits 0.
//
// Cases (one value per sample):
//   launch_cpu                    us        mean host time of one null <<<1,1>>> launch over a
//                                           batch of 100 (the sync after the batch is untimed)
//   launch_rate                   launch/s  200000 null launches + cudaStreamSynchronize(0)
//   launch_sync                   us        one null launch + cudaStreamSynchronize(0)
//   copy_{h2d,d2h}_{8B,4KB}_{pageable,pinned}          us    one cudaMemcpy
//   bulk_{h2d,d2h}_{1MB,16MB,256MB}_{pageable,pinned}  GB/s  one cudaMemcpy (1 GB = 1e9 bytes)
//   malloc_{256B,1MB,64MB,1GB}    us        one cudaMalloc (the cudaFree after it is untimed)
//   free_{256B,1MB,64MB,1GB}      us        one cudaFree (the cudaMalloc before it is untimed)
//   get_last_error, get_device,   us        mean of 1000 calls of cudaGetLastError,
//   get_device_properties,                  cudaGetDevice, cudaGetDeviceProperties,
//   device_get_attribute                    cudaDeviceGetAttribute(MultiProcessorCount)
//   app_small_kernels             steps/s   100 steps of 16 dependent small kernels + sync,
//                                           verified against the CPU afterwards
//   graph_launch                  graphs/s  100 launches of a graph of 100 null kernels captured
//                                           once from a stream, then a synchronize
//   managed_roundtrip             GB/s      64 MB of cudaMallocManaged memory: the CPU writes it
//                                           all, a kernel adds 1 to every word, the CPU reads it
//                                           all (2 x 64 MB moved per round), verified
//   app_matmul                    GFLOP/s   end to end: copy A, B in, 8 x (C = A.B, n = 2048,
//                                           32x32 shared-memory tiles), copy C out; verified
//
// Sizes: KB = 2^10, MB = 2^20, GB (allocation sizes) = 2^30 bytes.

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench/cases/case_server.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kKiB = size_t{1} << 10;
constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kGiB = size_t{1} << 30;

// The shared buffers serve every copy case; 256 MiB is the largest bulk copy.
constexpr size_t kSharedBufferBytes = 256 * kMiB;

constexpr int kLaunchCpuBatch = 100;
constexpr int kLaunchRateCount = 200000;
constexpr int kApiCallsPerSample = 1000;

constexpr int kSmallElements = 1 << 16;
constexpr int kSmallKernelsPerStep = 16;
constexpr int kSmallSteps = 100;
constexpr int kSmallThreadsPerBlock = 256;

constexpr int kMatmulN = 2048;
constexpr int kMatmulTile = 32;
constexpr int kMatmulRepeats = 8;
constexpr int kMatmulChecks = 64;
static_assert(kMatmulN % kMatmulTile == 0, "the tiled kernel assumes whole tiles");

// Results of the API-call cases land here so the compiler cannot drop the calls.
volatile long long g_sink = 0;

// Thrown by every failed check; the request loop turns it into an `error` line.
class BenchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void Check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw BenchError(std::string(what) + ": " + cudaGetErrorString(status));
  }
}

// Kernel launches report configuration and launch failures only through the runtime's
// last-error slot, which keeps the first failure until read; one read after a timed region
// therefore catches a failure of any launch inside it without adding calls to what is timed.
void CheckLaunches(const char* what) { Check(cudaGetLastError(), what); }

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double MicrosSince(Clock::time_point start) { return SecondsSince(start) * 1e6; }

void Emit(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// SplitMix64: a tiny fixed-seed generator whose sequence is the same under every standard
// library, so every side computes on identical inputs.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [-1, 1].
  float NextSigned() {
    return static_cast<float>(static_cast<double>(Next() >> 11) * 0x1p-52 - 1.0);
  }
  int NextBelow(int bound) { return static_cast<int>(Next() % static_cast<uint64_t>(bound)); }

 private:
  uint64_t state_;
};

// Relative tolerance with a floor of 1 on the scale: values near zero would otherwise fail on
// float rounding noise alone.
bool Close(double got, double want) {
  return std::fabs(got - want) <= 1e-3 * std::max(1.0, std::fabs(want));
}

// ---- kernels ------------------------------------------------------------------------------

__global__ void NullKernel() {}

__global__ void IncrementKernel(unsigned* p, size_t n) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += size_t{gridDim.x} * blockDim.x) p[i] += 1;
}

__global__ void AffineKernel(float* x, int n, float a, float b) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] = a * x[i] + b;
}

// C = A.B for row-major n x n matrices, n a multiple of kMatmulTile; one thread per element of
// C, blocks of kMatmulTile x kMatmulTile. The classic shared-memory tiling: a typical
// hand-written kernel, not a tuned GEMM, since the point is end-to-end cost under remoting.
__global__ void MatmulTiledKernel(const float* a, const float* b, float* c, int n) {
  __shared__ float a_tile[kMatmulTile][kMatmulTile];
  __shared__ float b_tile[kMatmulTile][kMatmulTile];
  const int tx = threadIdx.x;
  const int ty = threadIdx.y;
  const int row = blockIdx.y * kMatmulTile + ty;
  const int col = blockIdx.x * kMatmulTile + tx;
  float acc = 0.0f;
  for (int t = 0; t < n; t += kMatmulTile) {
    a_tile[ty][tx] = a[static_cast<size_t>(row) * n + t + tx];
    b_tile[ty][tx] = b[static_cast<size_t>(t + ty) * n + col];
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kMatmulTile; ++k) acc += a_tile[ty][k] * b_tile[k][tx];
    __syncthreads();
  }
  c[static_cast<size_t>(row) * n + col] = acc;
}

// Coefficients of kernel k within a step: a < 1 makes every step a contraction, so the values
// stay bounded (and positive, away from zero) over all 1600 applications.
float SmallA(int k) { return 0.5f + 0.03f * static_cast<float>(k); }
float SmallB(int k) { return 0.1f + 0.02f * static_cast<float>(k); }

// ---- the benchmark ------------------------------------------------------------------------

class Bench {
 public:
  using Sample = std::function<double()>;

  Bench() { RegisterCases(); }
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  // Creates the context and every buffer; returns the device name. Throws BenchError.
  std::string Init();
  // Frees what Init allocated; throws BenchError on the first failure.
  void Shutdown();
  // Every case, for bench::serve_cases: a warm-up, then `samples` timed samples.
  std::vector<bench::Case> Cases() const;

 private:
  enum class Dir { kH2D, kD2H };

  void RegisterCases();
  void Add(std::string name, Sample sample) {
    cases_.emplace_back(std::move(name), std::move(sample));
  }
  static bench::CaseResult RunCase(const Sample& sample, int samples);

  void* HostBuffer(bool pinned) const { return pinned ? pinned_ : pageable_; }
  double TimeCopyMicros(Dir dir, size_t bytes, bool pinned);

  double LaunchCpu();
  double LaunchRate();
  double LaunchSync();
  double MallocMicros(size_t bytes);
  double FreeMicros(size_t bytes);
  double SmallKernels();
  double GraphLaunch();
  double ManagedRoundTrip();
  double Matmul();

  std::vector<std::pair<std::string, Sample>> cases_;

  void* device_ = nullptr;
  void* pinned_ = nullptr;
  void* pageable_ = nullptr;

  // app_small_kernels: the initial values, and the expected result computed once on the CPU.
  float* small_device_ = nullptr;
  std::vector<float> small_initial_;
  std::vector<float> small_expected_;
  std::vector<float> small_result_;

  // graph_launch: captured on first use, so that a side without graphs fails that case only.
  cudaStream_t graph_stream_ = nullptr;
  cudaGraphExec_t graph_exec_ = nullptr;

  // managed_roundtrip: allocated on first use, so that a side without managed memory fails that
  // case only.
  unsigned* managed_ = nullptr;
  unsigned managed_round_ = 0;

  // app_matmul: pageable host matrices, as a typical application would have them.
  float* mat_a_ = nullptr;
  float* mat_b_ = nullptr;
  float* mat_c_ = nullptr;
  std::vector<float> host_a_;
  std::vector<float> host_b_;
  std::vector<float> host_c_;
  Rng check_rng_{0x5eed0002};  // picks the checked entries; advances so samples check new ones
};

std::string Bench::Init() {
  Check(cudaSetDevice(0), "cudaSetDevice");
  Check(cudaFree(0), "cudaFree(0) (context creation)");
  cudaDeviceProp prop;
  Check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");

  Check(cudaMalloc(&device_, kSharedBufferBytes), "cudaMalloc device buffer");
  Check(cudaMallocHost(&pinned_, kSharedBufferBytes), "cudaMallocHost pinned buffer");
  pageable_ = std::malloc(kSharedBufferBytes);
  if (pageable_ == nullptr) throw BenchError("malloc pageable buffer: out of memory");
  // Fault every page in now so no case pays for first touch, on the host or the device.
  std::memset(pageable_, 1, kSharedBufferBytes);
  std::memset(pinned_, 2, kSharedBufferBytes);
  Check(cudaMemset(device_, 0, kSharedBufferBytes), "cudaMemset device buffer");

  const size_t small_bytes = kSmallElements * sizeof(float);
  Check(cudaMalloc(&small_device_, small_bytes), "cudaMalloc small-kernel array");
  small_initial_.resize(kSmallElements);
  for (int i = 0; i < kSmallElements; ++i) {
    small_initial_[i] = 1.0f + static_cast<float>(i % 1000) / 1000.0f;
  }
  small_expected_ = small_initial_;
  for (int step = 0; step < kSmallSteps; ++step) {
    for (int k = 0; k < kSmallKernelsPerStep; ++k) {
      const float a = SmallA(k);
      const float b = SmallB(k);
      for (float& v : small_expected_) v = a * v + b;
    }
  }
  small_result_.resize(kSmallElements);

  const size_t mat_elements = static_cast<size_t>(kMatmulN) * kMatmulN;
  const size_t mat_bytes = mat_elements * sizeof(float);
  Check(cudaMalloc(&mat_a_, mat_bytes), "cudaMalloc matrix A");
  Check(cudaMalloc(&mat_b_, mat_bytes), "cudaMalloc matrix B");
  Check(cudaMalloc(&mat_c_, mat_bytes), "cudaMalloc matrix C");
  Rng init_rng(0x5eed0001);
  host_a_.resize(mat_elements);
  host_b_.resize(mat_elements);
  host_c_.resize(mat_elements);
  for (float& v : host_a_) v = init_rng.NextSigned();
  for (float& v : host_b_) v = init_rng.NextSigned();

  Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize after setup");
  return prop.name;
}

void Bench::Shutdown() {
  // Attempt every free, report the first failure.
  std::string failure;
  auto release = [&failure](cudaError_t status, const char* what) {
    if (status != cudaSuccess && failure.empty()) {
      failure = std::string(what) + ": " + cudaGetErrorString(status);
    }
  };
  if (graph_exec_ != nullptr) release(cudaGraphExecDestroy(graph_exec_), "cudaGraphExecDestroy");
  if (graph_stream_ != nullptr) release(cudaStreamDestroy(graph_stream_), "cudaStreamDestroy graph stream");
  graph_exec_ = nullptr;
  graph_stream_ = nullptr;
  if (managed_ != nullptr) release(cudaFree(managed_), "cudaFree managed array");
  managed_ = nullptr;
  release(cudaFree(mat_c_), "cudaFree matrix C");
  release(cudaFree(mat_b_), "cudaFree matrix B");
  release(cudaFree(mat_a_), "cudaFree matrix A");
  release(cudaFree(small_device_), "cudaFree small-kernel array");
  release(cudaFreeHost(pinned_), "cudaFreeHost pinned buffer");
  release(cudaFree(device_), "cudaFree device buffer");
  std::free(pageable_);
  mat_a_ = mat_b_ = mat_c_ = small_device_ = nullptr;
  device_ = pinned_ = pageable_ = nullptr;
  if (!failure.empty()) throw BenchError(failure);
}

void Bench::RegisterCases() {
  Add("launch_cpu", [this] { return LaunchCpu(); });
  Add("launch_rate", [this] { return LaunchRate(); });
  Add("launch_sync", [this] { return LaunchSync(); });

  const std::pair<const char*, Dir> dirs[] = {{"h2d", Dir::kH2D}, {"d2h", Dir::kD2H}};
  const std::pair<const char*, bool> memories[] = {{"pageable", false}, {"pinned", true}};
  const std::pair<const char*, size_t> small_sizes[] = {{"8B", 8}, {"4KB", 4 * kKiB}};
  const std::pair<const char*, size_t> bulk_sizes[] = {
      {"1MB", kMiB}, {"16MB", 16 * kMiB}, {"256MB", 256 * kMiB}};
  for (const auto& [dir_name, dir] : dirs) {
    for (const auto& [size_name, bytes] : small_sizes) {
      for (const auto& [mem_name, pinned] : memories) {
        Add(std::string("copy_") + dir_name + "_" + size_name + "_" + mem_name,
            [this, dir = dir, bytes = bytes, pinned = pinned] {
              return TimeCopyMicros(dir, bytes, pinned);
            });
      }
    }
  }
  for (const auto& [dir_name, dir] : dirs) {
    for (const auto& [size_name, bytes] : bulk_sizes) {
      for (const auto& [mem_name, pinned] : memories) {
        Add(std::string("bulk_") + dir_name + "_" + size_name + "_" + mem_name,
            [this, dir = dir, bytes = bytes, pinned = pinned] {
              return static_cast<double>(bytes) / (TimeCopyMicros(dir, bytes, pinned) * 1e3);
            });
      }
    }
  }

  const std::pair<const char*, size_t> alloc_sizes[] = {
      {"256B", 256}, {"1MB", kMiB}, {"64MB", 64 * kMiB}, {"1GB", kGiB}};
  for (const auto& [size_name, bytes] : alloc_sizes) {
    Add(std::string("malloc_") + size_name, [this, bytes = bytes] { return MallocMicros(bytes); });
  }
  for (const auto& [size_name, bytes] : alloc_sizes) {
    Add(std::string("free_") + size_name, [this, bytes = bytes] { return FreeMicros(bytes); });
  }

  // The API-call cases: mean cost of one call over kApiCallsPerSample calls. A generic lambda
  // rather than std::function, so the call is inlined into the timed loop: some of these cost
  // only nanoseconds natively and an indirect call per iteration would show in the mean.
  auto add_api_case = [this](const char* name, auto call) {
    Add(name, [call] {
      long long sum = 0;
      const Clock::time_point start = Clock::now();
      for (int i = 0; i < kApiCallsPerSample; ++i) sum += call();
      const double micros = MicrosSince(start);
      g_sink = g_sink + sum;
      return micros / kApiCallsPerSample;
    });
  };
  add_api_case("get_last_error", [] {
    // Any error here is one left over from an earlier call: the case cleared the slot first.
    const cudaError_t status = cudaGetLastError();
    Check(status, "cudaGetLastError");
    return static_cast<long long>(status);
  });
  add_api_case("get_device", [] {
    int device = -1;
    Check(cudaGetDevice(&device), "cudaGetDevice");
    return static_cast<long long>(device);
  });
  add_api_case("get_device_properties", [] {
    cudaDeviceProp prop;
    Check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    return static_cast<long long>(prop.multiProcessorCount);
  });
  add_api_case("device_get_attribute", [] {
    int value = 0;
    Check(cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, 0),
          "cudaDeviceGetAttribute");
    return static_cast<long long>(value);
  });

  Add("app_small_kernels", [this] { return SmallKernels(); });
  Add("graph_launch", [this] { return GraphLaunch(); });
  Add("managed_roundtrip", [this] { return ManagedRoundTrip(); });
  Add("app_matmul", [this] { return Matmul(); });
}

double Bench::TimeCopyMicros(Dir dir, size_t bytes, bool pinned) {
  void* host = HostBuffer(pinned);
  const Clock::time_point start = Clock::now();
  const cudaError_t status = dir == Dir::kH2D
                                 ? cudaMemcpy(device_, host, bytes, cudaMemcpyHostToDevice)
                                 : cudaMemcpy(host, device_, bytes, cudaMemcpyDeviceToHost);
  const double micros = MicrosSince(start);
  Check(status, "cudaMemcpy");
  return micros;
}

double Bench::LaunchCpu() {
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < kLaunchCpuBatch; ++i) NullKernel<<<1, 1>>>();
  const double micros = MicrosSince(start);
  // Drain the queue outside the timed region so batches do not pile up behind each other.
  Check(cudaStreamSynchronize(0), "cudaStreamSynchronize");
  CheckLaunches("null kernel launch");
  return micros / kLaunchCpuBatch;
}

double Bench::LaunchRate() {
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < kLaunchRateCount; ++i) NullKernel<<<1, 1>>>();
  const cudaError_t status = cudaStreamSynchronize(0);
  const double seconds = SecondsSince(start);
  Check(status, "cudaStreamSynchronize");
  CheckLaunches("null kernel launch");
  return kLaunchRateCount / seconds;
}

double Bench::LaunchSync() {
  const Clock::time_point start = Clock::now();
  NullKernel<<<1, 1>>>();
  const cudaError_t status = cudaStreamSynchronize(0);
  const double micros = MicrosSince(start);
  Check(status, "cudaStreamSynchronize");
  CheckLaunches("null kernel launch");
  return micros;
}

double Bench::MallocMicros(size_t bytes) {
  void* ptr = nullptr;
  const Clock::time_point start = Clock::now();
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  const double micros = MicrosSince(start);
  Check(status, "cudaMalloc");
  Check(cudaFree(ptr), "cudaFree");
  return micros;
}

double Bench::FreeMicros(size_t bytes) {
  void* ptr = nullptr;
  Check(cudaMalloc(&ptr, bytes), "cudaMalloc");
  const Clock::time_point start = Clock::now();
  const cudaError_t status = cudaFree(ptr);
  const double micros = MicrosSince(start);
  Check(status, "cudaFree");
  return micros;
}

double Bench::SmallKernels() {
  Check(cudaMemcpy(small_device_, small_initial_.data(), kSmallElements * sizeof(float),
                   cudaMemcpyHostToDevice),
        "cudaMemcpy reset x");
  constexpr int kBlocks = (kSmallElements + kSmallThreadsPerBlock - 1) / kSmallThreadsPerBlock;
  const Clock::time_point start = Clock::now();
  for (int step = 0; step < kSmallSteps; ++step) {
    for (int k = 0; k < kSmallKernelsPerStep; ++k) {
      AffineKernel<<<kBlocks, kSmallThreadsPerBlock>>>(small_device_, kSmallElements, SmallA(k),
                                                       SmallB(k));
    }
    Check(cudaStreamSynchronize(0), "cudaStreamSynchronize");
  }
  const double seconds = SecondsSince(start);
  CheckLaunches("small kernel launch");

  Check(cudaMemcpy(small_result_.data(), small_device_, kSmallElements * sizeof(float),
                   cudaMemcpyDeviceToHost),
        "cudaMemcpy x back");
  for (int i = 0; i < kSmallElements; ++i) {
    if (!Close(small_result_[i], small_expected_[i])) {
      char message[128];
      std::snprintf(message, sizeof message, "verification failed: x[%d] = %.9g, expected %.9g", i,
                    small_result_[i], small_expected_[i]);
      throw BenchError(message);
    }
  }
  return kSmallSteps / seconds;
}

double Bench::GraphLaunch() {
  constexpr int kNodes = 100;
  constexpr int kLaunches = 100;
  if (graph_exec_ == nullptr) {
    Check(cudaStreamCreateWithFlags(&graph_stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    Check(cudaStreamBeginCapture(graph_stream_, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
    for (int i = 0; i < kNodes; ++i) NullKernel<<<1, 1, 0, graph_stream_>>>();
    cudaGraph_t graph = nullptr;
    Check(cudaStreamEndCapture(graph_stream_, &graph), "cudaStreamEndCapture");
    Check(cudaGraphInstantiate(&graph_exec_, graph, 0), "cudaGraphInstantiate");
    Check(cudaGraphDestroy(graph), "cudaGraphDestroy");
    Check(cudaGraphUpload(graph_exec_, graph_stream_), "cudaGraphUpload");
    Check(cudaStreamSynchronize(graph_stream_), "cudaStreamSynchronize");
  }
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < kLaunches; ++i) Check(cudaGraphLaunch(graph_exec_, graph_stream_), "cudaGraphLaunch");
  Check(cudaStreamSynchronize(graph_stream_), "cudaStreamSynchronize");
  return kLaunches / SecondsSince(start);
}

double Bench::ManagedRoundTrip() {
  constexpr size_t kBytes = 64 * kMiB;
  constexpr size_t kWords = kBytes / sizeof(unsigned);
  if (managed_ == nullptr) Check(cudaMallocManaged(&managed_, kBytes), "cudaMallocManaged");
  const unsigned base = ++managed_round_ * 7919u;
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < kWords; ++i) managed_[i] = base + static_cast<unsigned>(i);
  IncrementKernel<<<1024, 256>>>(managed_, kWords);
  Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  size_t wrong = 0;
  for (size_t i = 0; i < kWords; ++i) wrong += managed_[i] != base + static_cast<unsigned>(i) + 1u;
  const double seconds = SecondsSince(start);
  CheckLaunches("managed increment launch");
  if (wrong != 0) throw BenchError("verification failed: managed memory lost the GPU's or the CPU's writes");
  return 2.0 * static_cast<double>(kBytes) / seconds / 1e9;
}

double Bench::Matmul() {
  const size_t bytes = host_a_.size() * sizeof(float);
  const dim3 block(kMatmulTile, kMatmulTile);
  const dim3 grid(kMatmulN / kMatmulTile, kMatmulN / kMatmulTile);
  const Clock::time_point start = Clock::now();
  Check(cudaMemcpy(mat_a_, host_a_.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy A");
  Check(cudaMemcpy(mat_b_, host_b_.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy B");
  for (int r = 0; r < kMatmulRepeats; ++r) {
    MatmulTiledKernel<<<grid, block>>>(mat_a_, mat_b_, mat_c_, kMatmulN);
  }
  // The copy back waits for the kernels (legacy default stream), so it ends the timed region.
  Check(cudaMemcpy(host_c_.data(), mat_c_, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy C");
  const double seconds = SecondsSince(start);
  CheckLaunches("matmul kernel launch");

  for (int check = 0; check < kMatmulChecks; ++check) {
    const int row = check_rng_.NextBelow(kMatmulN);
    const int col = check_rng_.NextBelow(kMatmulN);
    double want = 0.0;
    for (int k = 0; k < kMatmulN; ++k) {
      want += static_cast<double>(host_a_[static_cast<size_t>(row) * kMatmulN + k]) *
              static_cast<double>(host_b_[static_cast<size_t>(k) * kMatmulN + col]);
    }
    const double got = host_c_[static_cast<size_t>(row) * kMatmulN + col];
    if (!Close(got, want)) {
      char message[128];
      std::snprintf(message, sizeof message, "verification failed: C[%d][%d] = %.9g, expected %.9g",
                    row, col, got, want);
      throw BenchError(message);
    }
  }
  const double flops = static_cast<double>(kMatmulRepeats) * 2.0 * kMatmulN *
                       static_cast<double>(kMatmulN) * kMatmulN;
  return flops / seconds / 1e9;
}

bench::CaseResult Bench::RunCase(const Sample& sample, int samples) {
  // Start from a clean last-error slot so a failure left by an earlier case is not blamed on
  // this one; the value itself is of no interest.
  (void)cudaGetLastError();
  std::vector<double> values;
  try {
    sample();  // warm-up, untimed
    for (int i = 0; i < samples; ++i) values.push_back(sample());
  } catch (const BenchError& e) {
    // Clear a non-sticky error so the next case starts clean (sticky ones keep failing).
    (void)cudaGetLastError();
    return bench::CaseResult::failure(e.what());
  }
  return bench::CaseResult::success(std::move(values));
}

std::vector<bench::Case> Bench::Cases() const {
  std::vector<bench::Case> out;
  for (const auto& [name, sample] : cases_) {
    const Sample* s = &sample;  // cases_ outlives the serving loop
    out.push_back({name, [s](int samples) { return RunCase(*s, samples); }});
  }
  return out;
}

}  // namespace

int main() {
  Bench bench;
  std::string device;
  try {
    device = bench.Init();
  } catch (const BenchError& e) {
    Emit(std::string("error ") + e.what());
    return 1;
  }
  bench::serve_cases(device, bench.Cases());
  try {
    bench.Shutdown();
  } catch (const BenchError& e) {
    std::fprintf(stderr, "cuda_cases: cleanup failed: %s\n", e.what());
    return 1;
  }
  return 0;
}
