// Kernels through the shim's registration and launch paths, against the fake driver's
// built-in kernels. Also device globals, the dynamic shared memory limit and a fault.
#include <cstddef>
#include <cstring>
#include <vector>

#include "test/integration/guest_programs/fake_module.h"
#include "test/integration/guest_programs/guest_check.h"

namespace {

// Host-side stand-ins for kernels: only their addresses matter, as with nvcc's stubs.
void vector_add_stub() {}
void record_stub() {}
void fault_stub() {}
void smem_stub() {}
char device_counter[8];

constexpr size_t kDefaultSharedLimit = 48 * 1024;  // the fake driver's, as an H100's
constexpr size_t kOptIn = 100 * 1024;

cudaError_t launch_with_shared(size_t bytes) {
  int unused = 0;
  void* args[] = {&unused};
  return cudaLaunchKernel(reinterpret_cast<const void*>(&smem_stub), dim3(1), dim3(32), args, bytes, 0);
}

int max_dynamic_shared() {
  cudaFuncAttributes fa{};
  CHECK(cudaFuncGetAttributes(&fa, reinterpret_cast<const void*>(&smem_stub)));
  return fa.maxDynamicSharedSizeBytes;
}

// More dynamic shared memory than the kernel's limit is refused at the launch call, as CUDA
// does, and never reaches the driver; cudaFuncSetAttribute raises the limit.
void dynamic_shared_memory() {
  const void* smem = reinterpret_cast<const void*>(&smem_stub);
  EXPECT(launch_with_shared(kOptIn) == cudaErrorInvalidValue);
  EXPECT(cudaGetLastError() == cudaErrorInvalidValue);
  EXPECT(cudaGetLastError() == cudaSuccess);
  EXPECT(launch_with_shared(size_t{1} << 20) == cudaErrorInvalidValue);
  EXPECT(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(launch_with_shared(kDefaultSharedLimit));
  EXPECT(max_dynamic_shared() == static_cast<int>(kDefaultSharedLimit));

  // The refused launches left no late error behind for the opt-in to report.
  CHECK(cudaFuncSetAttribute(smem, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kOptIn)));
  EXPECT(max_dynamic_shared() == static_cast<int>(kOptIn));
  CHECK(launch_with_shared(kOptIn));
  EXPECT(launch_with_shared(kOptIn + 1) == cudaErrorInvalidValue);
  cudaGetLastError();

  // Beyond the device's opt-in maximum the driver says no, and the limit stays as it was.
  EXPECT(cudaFuncSetAttribute(smem, cudaFuncAttributeMaxDynamicSharedMemorySize, 300000) == cudaErrorInvalidValue);
  cudaGetLastError();
  CHECK(launch_with_shared(kOptIn));
  CHECK(cudaDeviceSynchronize());
}

// A kernel captured on a stream through the runtime, replayed twice: dc = da + db each time;
// then the same graph built node by node.
void captured_graph(float* da, float* db, float* dc, int n) {
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CHECK(cudaMemsetAsync(dc, 0, n * sizeof(float), s));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  unsigned long long id = 0;
  CHECK(cudaStreamGetCaptureInfo(s, &st, &id));
  EXPECT(st == cudaStreamCaptureStatusActive && id != 0);
  void* args[] = {&da, &db, &dc, &n};
  CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(&vector_add_stub), dim3(4), dim3(256), args, 0, s));
  cudaGraph_t graph;
  CHECK(cudaStreamEndCapture(s, &graph));
  std::vector<float> c(n);
  CHECK(cudaMemcpy(c.data(), dc, n * sizeof(float), cudaMemcpyDeviceToHost));
  EXPECT(c[n - 1] == 0.0f);  // captured, not run
  cudaGraphExec_t exec;
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaMemcpy(c.data(), dc, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) EXPECT(c[i] == 1.5f * static_cast<float>(i));
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));

  // The same built by hand, behind a memset of dc that must run first.
  CHECK(cudaGraphCreate(&graph, 0));
  cudaKernelNodeParams k{};
  k.func = reinterpret_cast<void*>(&vector_add_stub);
  k.gridDim = dim3(4);
  k.blockDim = dim3(256);
  k.kernelParams = args;
  cudaGraphNode_t kernel, memset;
  CHECK(cudaGraphAddKernelNode(&kernel, graph, nullptr, 0, &k));
  cudaMemsetParams m{};
  m.dst = dc;
  m.elementSize = 1;
  m.width = n * sizeof(float);
  m.height = 1;
  CHECK(cudaGraphAddMemsetNode(&memset, graph, nullptr, 0, &m));
  CHECK(cudaGraphAddDependencies(graph, &memset, &kernel, nullptr, 1));
  float* copy = nullptr;
  CHECK(cudaMallocHost(reinterpret_cast<void**>(&copy), n * sizeof(float)));
  cudaGraphNode_t download;
  CHECK(cudaGraphAddMemcpyNode1D(&download, graph, &kernel, 1, copy, dc, n * sizeof(float), cudaMemcpyDeviceToHost));
  size_t count = 0;
  CHECK(cudaGraphGetNodes(graph, nullptr, &count));
  EXPECT(count == 3);
  cudaGraphNodeType type;
  CHECK(cudaGraphNodeGetType(kernel, &type));
  EXPECT(type == cudaGraphNodeTypeKernel);
  CHECK(cudaMemset(dc, 0x7f, n * sizeof(float)));
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaMemcpy(c.data(), dc, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) EXPECT(c[i] == 1.5f * static_cast<float>(i) && copy[i] == c[i]);
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(graph));
  CHECK(cudaFreeHost(copy));
  CHECK(cudaStreamDestroy(s));
}

struct Mixed {
  char tag;
  double value;
  int index;
};

}  // namespace

int main(int argc, char** argv) {
  const bool fault = argc > 1 && std::strcmp(argv[1], "fault") == 0;
  void** handle = guest_test::register_image(
      "FAKECUBIN 1\n"
      "kernel fake_vector_add 8,8,8,4\n"
      "kernel record_args 8,24,4\n"
      "kernel fake_fault\n"
      "kernel smem_user 4\n"
      "global counter 8\n");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&vector_add_stub), "fake_vector_add");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&record_stub), "record_args");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&fault_stub), "fake_fault");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&smem_stub), "smem_user");
  __cudaRegisterVar(handle, device_counter, const_cast<char*>("counter"), "counter", 0, 8, 0, 0);
  __cudaRegisterFatBinaryEnd(handle);

  if (fault) {
    void* args[1] = {nullptr};
    CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(&fault_stub), dim3(1), dim3(1), args, 0, 0));
    const cudaError_t e = cudaDeviceSynchronize();
    std::printf("fault -> %s\n", cudaGetErrorName(e));
    return e == cudaErrorIllegalAddress ? 0 : 1;
  }

  const int n = 1000;
  std::vector<float> a(n), b(n), c(n);
  for (int i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = 0.5f * static_cast<float>(i);
  }
  float *da, *db, *dc;
  CHECK(cudaMalloc(reinterpret_cast<void**>(&da), n * sizeof(float)));
  CHECK(cudaMalloc(reinterpret_cast<void**>(&db), n * sizeof(float)));
  CHECK(cudaMalloc(reinterpret_cast<void**>(&dc), n * sizeof(float)));
  CHECK(cudaMemcpy(da, a.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  int count = n;
  void* args[] = {&da, &db, &dc, &count};
  CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(&vector_add_stub), dim3(4), dim3(256), args, 0, 0));
  CHECK(cudaMemcpy(c.data(), dc, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) EXPECT(c[i] == 1.5f * static_cast<float>(i));

  // The same launch through cudaLaunchKernelExC, in clusters of two blocks, into a cleared C.
  CHECK(cudaMemset(dc, 0, n * sizeof(float)));
  cudaLaunchAttribute cluster{};
  cluster.id = cudaLaunchAttributeClusterDimension;
  cluster.val.clusterDim.x = 2;
  cluster.val.clusterDim.y = 1;
  cluster.val.clusterDim.z = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(4);
  config.blockDim = dim3(256);
  config.attrs = &cluster;
  config.numAttrs = 1;
  CHECK(cudaLaunchKernelExC(&config, reinterpret_cast<const void*>(&vector_add_stub), args));
  CHECK(cudaMemcpy(c.data(), dc, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) EXPECT(c[i] == 1.5f * static_cast<float>(i));
  cluster.val.clusterDim.x = 3;  // does not tile a grid of 4
  EXPECT(cudaLaunchKernelExC(&config, reinterpret_cast<const void*>(&vector_add_stub), args) ==
         cudaErrorInvalidClusterSize);
  cudaGetLastError();
  cluster.val.clusterDim.x = 2;
  int clusters = 0, cluster_size = 0;
  CHECK(cudaOccupancyMaxActiveClusters(&clusters, reinterpret_cast<const void*>(&vector_add_stub), &config));
  config.numAttrs = 0;
  CHECK(cudaOccupancyMaxPotentialClusterSize(&cluster_size, reinterpret_cast<const void*>(&vector_add_stub),
                                             &config));
  EXPECT(clusters > 0 && cluster_size == 8);  // the fake's portable maximum
  size_t smem_left = 0;
  CHECK(cudaOccupancyAvailableDynamicSMemPerBlock(&smem_left, reinterpret_cast<const void*>(&vector_add_stub), 1,
                                                  256));
  EXPECT(smem_left > 0);
  // Cooperative: the same result; a grid larger than the GPU holds at once refused at the call.
  CHECK(cudaMemset(dc, 0, n * sizeof(float)));
  CHECK(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(&vector_add_stub), dim3(4), dim3(256), args, 0, 0));
  CHECK(cudaMemcpy(c.data(), dc, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) EXPECT(c[i] == 1.5f * static_cast<float>(i));
  EXPECT(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(&vector_add_stub), dim3(1u << 20), dim3(256), args,
                                     0, 0) == cudaErrorCooperativeLaunchTooLarge);
  EXPECT(cudaGetLastError() == cudaErrorCooperativeLaunchTooLarge);
  CHECK(cudaDeviceSynchronize());
  // The parameter layout the fake image declares: 8, 8, 8, 4.
  size_t offset = 0, size = 0;
  CHECK(cudaFuncGetParamInfo(reinterpret_cast<const void*>(&vector_add_stub), 3, &offset, &size));
  EXPECT(offset == 24 && size == 4);
  EXPECT(cudaFuncGetParamInfo(reinterpret_cast<const void*>(&vector_add_stub), 4, &offset, &size) ==
         cudaErrorInvalidValue);
  cudaGetLastError();

  // The kernel's driver handles: one CUkernel for the process, a CUfunction in this context.
  cudaKernel_t k1 = nullptr, k2 = nullptr;
  CHECK(cudaGetKernel(&k1, reinterpret_cast<const void*>(&vector_add_stub)));
  CHECK(cudaGetKernel(&k2, reinterpret_cast<const void*>(&vector_add_stub)));
  EXPECT(k1 != nullptr && k1 == k2);
  cudaFunction_t fn = nullptr;
  CHECK(cudaGetFuncBySymbol(&fn, reinterpret_cast<const void*>(&vector_add_stub)));
  EXPECT(fn != nullptr);
  EXPECT(cudaGetKernel(&k1, reinterpret_cast<const void*>(&main)) == cudaErrorInvalidDeviceFunction);
  cudaGetLastError();

  // A struct argument between two scalars: the launch log shows the exact bytes.
  unsigned long long first = 0x1122334455667788ull;
  Mixed m;
  std::memset(&m, 0, sizeof m);
  m.tag = 'Z';
  m.value = 2.0;
  m.index = 7;
  int last = 0x0a0b0c0d;
  void* rec_args[] = {&first, &m, &last};
  CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(&record_stub), dim3(2, 3, 1), dim3(32, 1, 1),
                         rec_args, 128, 0));

  // An invalid configuration is refused synchronously; CUDA 13 says cudaErrorInvalidValue.
  EXPECT(cudaLaunchKernel(reinterpret_cast<const void*>(&record_stub), dim3(1), dim3(2048), rec_args,
                          0, 0) == cudaErrorInvalidValue);
  EXPECT(cudaGetLastError() == cudaErrorInvalidValue);
  EXPECT(cudaGetLastError() == cudaSuccess);

  // Device globals.
  unsigned long long value = 0xfeedull;
  CHECK(cudaMemcpyToSymbol(device_counter, &value, sizeof value));
  unsigned long long back = 0;
  CHECK(cudaMemcpyFromSymbol(&back, device_counter, sizeof back));
  EXPECT(back == value);
  void* addr = nullptr;
  CHECK(cudaGetSymbolAddress(&addr, device_counter));
  EXPECT(addr != nullptr);
  EXPECT(cudaMemcpyToSymbol(device_counter, &value, sizeof value, 4) == cudaErrorInvalidValue);
  cudaGetLastError();

  dynamic_shared_memory();
  captured_graph(da, db, dc, n);

  CHECK(cudaDeviceSynchronize());
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
  CHECK(cudaFree(dc));

  // A reset gives the kernel a fresh function in a fresh context: the opt-in is gone.
  CHECK(cudaDeviceReset());
  EXPECT(launch_with_shared(kOptIn) == cudaErrorInvalidValue);
  cudaGetLastError();
  EXPECT(max_dynamic_shared() == static_cast<int>(kDefaultSharedLimit));
  std::printf("fake_kernels ok\n");
  return 0;
}
