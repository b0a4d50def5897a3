// fake-cuda (test double, never ships): self-check. dlopens the built libcuda.so.1 the way
// vgpud does and exercises it: init, devices, contexts, alloc/copy, modules, launches
// (fake_vector_add, fill, sleep, fault), streams/events, the state file, the launch log,
// (selftest_peer.cpp) peer access and unified addressing, (selftest_graph.cpp) stream capture
// and graphs, (selftest_graph_build.cpp, selftest_graph_memcpy.cpp, selftest_graph_event.cpp)
// graphs built node by node, (selftest_host_func.cpp) host functions and host nodes, and
// (selftest_graph_clone.cpp) graphs cloned and node parameters read back, and
// (selftest_arrays.cpp) arrays, texture and surface objects. Exits non-zero on any mismatch.
//
//   fake_cuda_selftest [path/to/libcuda.so.1 [no-peer-access | peer-fault | host-func-fault]]
//
// A simulated fault poisons the whole process, so the checks that end in one run in a process
// of their own, chosen by the second argument (ctest runs each).
#include "selftest.h"

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_module.h"

namespace vgpu::fake::selftest {

Api api;

namespace {
std::atomic<int> g_checks{0};  // the tenant thread checks too
std::atomic<int> g_failures{0};

const char* err_name(CUresult r) {
  const char* s = nullptr;
  if (api.cuGetErrorName && api.cuGetErrorName(r, &s) == CUDA_SUCCESS && s) return s;
  return "?";
}
}  // namespace

void check(bool ok, const char* what, int line) {
  ++g_checks;
  if (!ok) {
    ++g_failures;
    std::fprintf(stderr, "FAIL (line %d): %s\n", line, what);
  }
}

void check_rc(CUresult got, CUresult want, const char* what, int line) {
  ++g_checks;
  if (got != want) {
    ++g_failures;
    std::fprintf(stderr, "FAIL (line %d): %s returned %s (%d), expected %s (%d)\n", line, what, err_name(got),
                 static_cast<int>(got), err_name(want), static_cast<int>(want));
  }
}

bool load(const char* path) {
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    std::fprintf(stderr, "dlopen(%s): %s\n", path, dlerror());
    return false;
  }
  bool ok = true;
  auto sym = [&](auto& fn, const char* name) {
    void* p = dlsym(lib, name);
    if (p == nullptr) {
      std::fprintf(stderr, "missing symbol %s\n", name);
      ok = false;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
#define SYM(name) sym(api.name, #name)
  SYM(cuInit); SYM(cuDriverGetVersion); SYM(cuDeviceGetCount); SYM(cuDeviceGet); SYM(cuDeviceGetName);
  SYM(cuDeviceGetUuid_v2); SYM(cuDeviceTotalMem_v2); SYM(cuDeviceGetAttribute); SYM(cuCtxCreate_v2);
  SYM(cuCtxDestroy_v2); SYM(cuCtxSetCurrent); SYM(cuCtxGetCurrent); SYM(cuCtxSynchronize); SYM(cuMemAlloc_v2);
  SYM(cuMemFree_v2); SYM(cuMemGetInfo_v2); SYM(cuMemHostRegister_v2); SYM(cuMemHostUnregister);
  SYM(cuMemcpyHtoDAsync_v2); SYM(cuMemcpyDtoHAsync_v2); SYM(cuMemcpyDtoDAsync_v2); SYM(cuMemsetD8Async);
  SYM(cuModuleLoadData); SYM(cuModuleUnload); SYM(cuModuleGetFunction); SYM(cuModuleGetGlobal_v2);
  SYM(cuFuncGetParamInfo); SYM(cuFuncGetAttribute); SYM(cuFuncSetAttribute); SYM(cuLaunchKernel);
  SYM(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags); SYM(cuStreamCreateWithPriority);
  SYM(cuStreamDestroy_v2); SYM(cuStreamSynchronize); SYM(cuStreamQuery); SYM(cuStreamWaitEvent);
  SYM(cuEventCreate); SYM(cuEventDestroy_v2); SYM(cuEventRecord); SYM(cuEventSynchronize); SYM(cuEventQuery);
  SYM(cuEventElapsedTime); SYM(cuEventElapsedTime_v2); SYM(cuGetErrorName); SYM(cuGetErrorString);
  SYM(cuDeviceCanAccessPeer); SYM(cuCtxEnablePeerAccess); SYM(cuCtxDisablePeerAccess); SYM(cuMemcpyPeer);
  SYM(cuMemcpyPeerAsync); SYM(cuCtxGetLimit); SYM(cuCtxSetLimit); SYM(cuMemsetD2D8Async); SYM(cuMemsetD2D16Async);
  SYM(cuMemsetD2D32Async); SYM(cuOccupancyAvailableDynamicSMemPerBlock); SYM(cuOccupancyMaxActiveClusters);
  SYM(cuOccupancyMaxPotentialClusterSize); SYM(cuModuleGetFunctionCount); SYM(cuModuleEnumerateFunctions);
  SYM(cuFuncGetName); SYM(cuLaunchKernelEx); SYM(cuStreamWaitValue32_v2); SYM(cuStreamWaitValue64_v2);
  SYM(cuStreamWriteValue32_v2); SYM(cuStreamWriteValue64_v2); SYM(cuLinkCreate_v2); SYM(cuLinkAddData_v2);
  SYM(cuLinkComplete); SYM(cuLinkDestroy); SYM(cuStreamBeginCapture_v2); SYM(cuStreamEndCapture);
  SYM(cuStreamIsCapturing); SYM(cuStreamGetCaptureInfo_v2); SYM(cuStreamGetCaptureInfo_v3);
  SYM(cuThreadExchangeStreamCaptureMode); SYM(cuGraphCreate); SYM(cuGraphDestroy); SYM(cuGraphGetNodes); SYM(cuGraphGetEdges_v2);
  SYM(cuGraphInstantiateWithFlags); SYM(cuGraphLaunch); SYM(cuGraphUpload); SYM(cuGraphExecDestroy);
  SYM(cuGraphAddKernelNode_v2); SYM(cuGraphAddKernelNode); SYM(cuGraphAddMemsetNode); SYM(cuGraphAddEmptyNode);
  SYM(cuGraphAddDependencies); SYM(cuGraphAddDependencies_v2); SYM(cuGraphNodeGetType); SYM(cuGraphAddMemcpyNode);
  SYM(cuGraphAddEventRecordNode); SYM(cuGraphAddEventWaitNode); SYM(cuLaunchHostFunc); SYM(cuGraphAddHostNode);
  SYM(cuGraphClone); SYM(cuGraphHostNodeGetParams); SYM(cuGraphMemcpyNodeGetParams);
#undef SYM
  return ok;  // the library stays loaded for the life of the process
}

int summary() {
  if (g_failures != 0) {
    std::fprintf(stderr, "fake_cuda_selftest: %d of %d checks FAILED\n", g_failures.load(), g_checks.load());
    return 1;
  }
  std::printf("fake_cuda_selftest: all %d checks passed\n", g_checks.load());
  return 0;
}

}  // namespace vgpu::fake::selftest

namespace {

using namespace vgpu::fake::selftest;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string state(unsigned long long contexts, unsigned long long allocations, unsigned long long bytes) {
  return "contexts=" + std::to_string(contexts) + "\nallocations=" + std::to_string(allocations) +
         "\nallocated_bytes=" + std::to_string(bytes) + "\nlinks=0\ngraphs=0\ngraph_execs=0\n";
}

template <class T>
std::string hex_of(const T& v) {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof v);
  std::string s;
  for (unsigned char b : bytes) {
    s += kHex[b >> 4];
    s += kHex[b & 0xf];
  }
  return s;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The checks that end in a simulated fault, in a process of their own. "no-peer-access" also
// runs the peer checks under FAKE_CUDA_PEER_ACCESS=0.
int fault_process(const char* lib_path, bool peer_access) {
  setenv("FAKE_CUDA_DEVICE_COUNT", "2", 1);
  setenv("FAKE_CUDA_PEER_ACCESS", peer_access ? "1" : "0", 1);
  unsetenv("FAKE_CUDA_STATE_FILE");
  unsetenv("FAKE_CUDA_LAUNCH_LOG");
  if (!load(lib_path)) return 2;
  OK(api.cuInit(0));
  if (!peer_access) peer_checks(false);
  peer_fault_checks(peer_access);
  return summary();
}

// Host functions after a fault, in a process of their own.
int host_func_fault_process(const char* lib_path) {
  unsetenv("FAKE_CUDA_STATE_FILE");
  unsetenv("FAKE_CUDA_LAUNCH_LOG");
  if (!load(lib_path)) return 2;
  OK(api.cuInit(0));
  host_func_fault_checks();
  return summary();
}

}  // namespace

int main(int argc, char** argv) {
  const char* lib_path = argc > 1 ? argv[1] : "libcuda.so.1";
  const std::string mode = argc > 2 ? argv[2] : "";
  if (mode == "no-peer-access" || mode == "peer-fault") return fault_process(lib_path, mode == "peer-fault");
  if (mode == "host-func-fault") return host_func_fault_process(lib_path);
  if (!mode.empty()) {
    std::fprintf(stderr, "fake_cuda_selftest: unknown mode %s\n", mode.c_str());
    return 2;
  }

  char dir_template[] = "/tmp/fake-cuda-selftest.XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) {
    std::perror("mkdtemp");
    return 2;
  }
  const std::string state_file = std::string(dir) + "/state";
  const std::string launch_log = std::string(dir) + "/launches";
  constexpr unsigned long long kTotal = 1ull << 30;
  setenv("FAKE_CUDA_DEVICE_COUNT", "2", 1);
  setenv("FAKE_CUDA_TOTAL_MEMORY", std::to_string(kTotal).c_str(), 1);
  setenv("FAKE_CUDA_STATE_FILE", state_file.c_str(), 1);
  setenv("FAKE_CUDA_LAUNCH_LOG", launch_log.c_str(), 1);
  setenv("FAKE_CUDA_PEER_ACCESS", "1", 1);

  if (!load(lib_path)) return 2;

  // ---- before cuInit ----
  int count = -1, version = 0;
  EXPECT_RC(api.cuDeviceGetCount(&count), CUDA_ERROR_NOT_INITIALIZED);
  CUdeviceptr dp = 0;
  EXPECT_RC(api.cuMemAlloc_v2(&dp, 16), CUDA_ERROR_NOT_INITIALIZED);
  CUcontext ctx = nullptr;
  EXPECT_RC(api.cuCtxCreate_v2(&ctx, 0, 0), CUDA_ERROR_NOT_INITIALIZED);
  int can = -1;
  EXPECT_RC(api.cuDeviceCanAccessPeer(&can, 0, 1), CUDA_ERROR_NOT_INITIALIZED);
  EXPECT_RC(api.cuCtxEnablePeerAccess(nullptr, 0), CUDA_ERROR_NOT_INITIALIZED);
  EXPECT_RC(api.cuCtxDisablePeerAccess(nullptr), CUDA_ERROR_NOT_INITIALIZED);
  EXPECT_RC(api.cuMemcpyPeer(0, nullptr, 0, nullptr, 0), CUDA_ERROR_NOT_INITIALIZED);
  EXPECT_RC(api.cuMemcpyPeerAsync(0, nullptr, 0, nullptr, 0, nullptr), CUDA_ERROR_NOT_INITIALIZED);
  CUgraph no_graph = nullptr;
  EXPECT_RC(api.cuGraphClone(&no_graph, nullptr), CUDA_ERROR_NOT_INITIALIZED);
  CUDA_HOST_NODE_PARAMS no_host{};
  EXPECT_RC(api.cuGraphHostNodeGetParams(nullptr, &no_host), CUDA_ERROR_NOT_INITIALIZED);
  CUDA_MEMCPY3D no_copy{};
  EXPECT_RC(api.cuGraphMemcpyNodeGetParams(nullptr, &no_copy), CUDA_ERROR_NOT_INITIALIZED);
  OK(api.cuDriverGetVersion(&version));
  CHECK(version == 13000);
  EXPECT_RC(api.cuInit(1), CUDA_ERROR_INVALID_VALUE);

  // ---- init, devices ----
  OK(api.cuInit(0));
  OK(api.cuInit(0));
  CHECK(read_file(state_file) == state(0, 0, 0));
  OK(api.cuDeviceGetCount(&count));
  CHECK(count == 2);
  CUdevice dev = -1;
  OK(api.cuDeviceGet(&dev, 1));
  CHECK(dev == 1);
  EXPECT_RC(api.cuDeviceGet(&dev, 2), CUDA_ERROR_INVALID_DEVICE);
  char name[64];
  OK(api.cuDeviceGetName(name, sizeof name, 1));
  CHECK(std::string(name) == "vgpu fake device 1");
  OK(api.cuDeviceGetName(name, 5, 0));
  CHECK(std::string(name) == "vgpu");
  CUuuid u0, u1, u0b;
  OK(api.cuDeviceGetUuid_v2(&u0, 0));
  OK(api.cuDeviceGetUuid_v2(&u1, 1));
  OK(api.cuDeviceGetUuid_v2(&u0b, 0));
  CHECK(std::memcmp(&u0, &u1, sizeof u0) != 0 && std::memcmp(&u0, &u0b, sizeof u0) == 0);
  size_t total_mem = 0;
  OK(api.cuDeviceTotalMem_v2(&total_mem, 0));
  CHECK(total_mem == kTotal);
  int v = -1;
  OK(api.cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 0));
  CHECK(v == 9);
  OK(api.cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 0));
  CHECK(v == 0);
  OK(api.cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 0));
  CHECK(v == 132);
  OK(api.cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, 0));
  CHECK(v == 64);
  OK(api.cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, 0));
  CHECK(v == 232448);
  OK(api.cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 1));
  CHECK(v == 0x11);
  // Every attribute below MAX answers; MAX and beyond are invalid.
  for (int a = 1; a < static_cast<int>(CU_DEVICE_ATTRIBUTE_MAX); ++a) {
    CUdevice_attribute attr;
    std::memcpy(&attr, &a, sizeof a);
    if (api.cuDeviceGetAttribute(&v, attr, 0) != CUDA_SUCCESS) CHECK(!"attribute query failed");
  }
  EXPECT_RC(api.cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX, 0), CUDA_ERROR_INVALID_VALUE);

  // ---- no current context ----
  EXPECT_RC(api.cuMemAlloc_v2(&dp, 16), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuCtxSynchronize(), CUDA_ERROR_INVALID_CONTEXT);

  // ---- context, memory ----
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));
  CUcontext cur = nullptr;
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx && ctx != nullptr);
  constexpr int n = 1000;
  constexpr size_t bytes = n * sizeof(float);
  CUdeviceptr a = 0, b = 0, c = 0;
  OK(api.cuMemAlloc_v2(&a, bytes));
  OK(api.cuMemAlloc_v2(&b, bytes));
  OK(api.cuMemAlloc_v2(&c, bytes));
  CHECK(a % 256 == 0 && b % 256 == 0 && c % 256 == 0);
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));
  size_t free_mem = 0;
  OK(api.cuMemGetInfo_v2(&free_mem, &total_mem));
  CHECK(total_mem == kTotal && free_mem == kTotal - 3 * bytes);
  EXPECT_RC(api.cuMemAlloc_v2(&dp, kTotal), CUDA_ERROR_OUT_OF_MEMORY);
  EXPECT_RC(api.cuMemAlloc_v2(&dp, 0), CUDA_ERROR_INVALID_VALUE);

  std::vector<float> ha(n), hb(n), hc(n, -1.0f);
  for (int i = 0; i < n; ++i) {
    ha[i] = static_cast<float>(i);
    hb[i] = static_cast<float>(2 * i) + 0.5f;
  }
  OK(api.cuMemcpyHtoDAsync_v2(a, ha.data(), bytes, nullptr));
  OK(api.cuMemcpyHtoDAsync_v2(b, hb.data(), bytes, CU_STREAM_LEGACY));
  EXPECT_RC(api.cuMemcpyHtoDAsync_v2(a + 4, ha.data(), bytes, nullptr), CUDA_ERROR_INVALID_VALUE);  // past end
  EXPECT_RC(api.cuMemcpyDtoHAsync_v2(hc.data(), reinterpret_cast<CUdeviceptr>(ha.data()), 4, nullptr),
            CUDA_ERROR_INVALID_VALUE);  // host pointer is not device memory
  EXPECT_RC(api.cuMemcpyDtoDAsync_v2(c, a, bytes + 1, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuMemcpyHtoDAsync_v2(a, ha.data(), 4, reinterpret_cast<CUstream>(0x1234)),
            CUDA_ERROR_INVALID_HANDLE);
  EXPECT_RC(api.cuMemFree_v2(a + 8), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuMemFree_v2(0xdead0000), CUDA_ERROR_INVALID_VALUE);

  // memset + DtoD
  CUdeviceptr scratch = 0;
  OK(api.cuMemAlloc_v2(&scratch, 64));
  OK(api.cuMemsetD8Async(scratch, 0xab, 64, nullptr));
  OK(api.cuMemcpyDtoDAsync_v2(scratch, a + 4, 8, nullptr));
  unsigned char sbuf[64];
  OK(api.cuMemcpyDtoHAsync_v2(sbuf, scratch, 64, nullptr));
  float f1 = 0, f2 = 0;
  std::memcpy(&f1, sbuf, 4);
  std::memcpy(&f2, sbuf + 4, 4);
  CHECK(f1 == 1.0f && f2 == 2.0f && sbuf[8] == 0xab && sbuf[63] == 0xab);
  EXPECT_RC(api.cuMemsetD8Async(scratch, 0, 65, nullptr), CUDA_ERROR_INVALID_VALUE);
  OK(api.cuMemFree_v2(scratch));
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));

  // ---- modules ----
  const std::string image = vgpu::fake::module_image({
      "kernel fake_vector_add 8,8,8,4",
      "kernel fake_fill_u32 8,4,8",
      "kernel fake_fault",
      "kernel fake_sleep_ms 4",
      "kernel other 1,8,4,2,12,16:16",
      "global counter 64",
  });
  CUmodule mod = nullptr;
  OK(api.cuModuleLoadData(&mod, image.c_str()));
  const unsigned char fatbin[] = {0x50, 0xED, 0x55, 0xBA, 0x01, 0x00, 0x10, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
  CUmodule bad = nullptr;
  EXPECT_RC(api.cuModuleLoadData(&bad, fatbin), CUDA_ERROR_INVALID_IMAGE);
  EXPECT_RC(api.cuModuleLoadData(&bad, ""), CUDA_ERROR_INVALID_IMAGE);
  EXPECT_RC(api.cuModuleLoadData(&bad, "FAKECUBIN 2\n"), CUDA_ERROR_INVALID_IMAGE);
  EXPECT_RC(api.cuModuleLoadData(&bad, vgpu::fake::module_image({"kernel k 8", "bogus"}).c_str()),
            CUDA_ERROR_INVALID_IMAGE);
  EXPECT_RC(api.cuModuleLoadData(&bad, vgpu::fake::module_image({"kernel k 8,x"}).c_str()), CUDA_ERROR_INVALID_IMAGE);
  EXPECT_RC(api.cuModuleLoadData(&bad, vgpu::fake::module_image({"kernel fake_vector_add 8,8,8"}).c_str()),
            CUDA_ERROR_INVALID_IMAGE);
  EXPECT_RC(api.cuModuleLoadData(&bad, vgpu::fake::module_image({"kernel k", "kernel k"}).c_str()),
            CUDA_ERROR_INVALID_IMAGE);

  CUfunction vadd = nullptr, fill = nullptr, fault = nullptr, sleep_fn = nullptr, other = nullptr, again = nullptr;
  OK(api.cuModuleGetFunction(&vadd, mod, "fake_vector_add"));
  OK(api.cuModuleGetFunction(&fill, mod, "fake_fill_u32"));
  OK(api.cuModuleGetFunction(&fault, mod, "fake_fault"));
  OK(api.cuModuleGetFunction(&sleep_fn, mod, "fake_sleep_ms"));
  OK(api.cuModuleGetFunction(&other, mod, "other"));
  OK(api.cuModuleGetFunction(&again, mod, "other"));
  CHECK(other == again);
  EXPECT_RC(api.cuModuleGetFunction(&again, mod, "nope"), CUDA_ERROR_NOT_FOUND);

  // Natural alignment min(size, 8), or the explicit one: 1@0, 8@8, 4@16, 2@20, 12@24 (align 8), 16@48 (align 16)
  const size_t want_off[] = {0, 8, 16, 20, 24, 48};
  const size_t want_size[] = {1, 8, 4, 2, 12, 16};
  for (size_t i = 0; i < 6; ++i) {
    size_t off = 99, size = 99;
    OK(api.cuFuncGetParamInfo(other, i, &off, &size));
    CHECK(off == want_off[i] && size == want_size[i]);
  }
  size_t off = 0, psize = 0;
  EXPECT_RC(api.cuFuncGetParamInfo(other, 6, &off, &psize), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuFuncGetParamInfo(fault, 0, &off, &psize), CUDA_ERROR_INVALID_VALUE);

  CUdeviceptr counter = 0;
  size_t counter_size = 0;
  OK(api.cuModuleGetGlobal_v2(&counter, &counter_size, mod, "counter"));
  CHECK(counter != 0 && counter_size == 64);
  EXPECT_RC(api.cuModuleGetGlobal_v2(&counter, &counter_size, mod, "nope"), CUDA_ERROR_NOT_FOUND);
  unsigned char gbuf[64];
  std::memset(gbuf, 0xff, sizeof gbuf);
  OK(api.cuMemcpyDtoHAsync_v2(gbuf, counter, 64, nullptr));
  CHECK(gbuf[0] == 0 && gbuf[63] == 0);  // globals start zeroed
  EXPECT_RC(api.cuMemFree_v2(counter), CUDA_ERROR_INVALID_VALUE);  // owned by the module

  // ---- func attributes, occupancy ----
  OK(api.cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, vadd));
  CHECK(v == 1024);
  OK(api.cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_NUM_REGS, vadd));
  CHECK(v == 32);
  OK(api.cuFuncSetAttribute(vadd, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 100000));
  OK(api.cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, vadd));
  CHECK(v == 100000);
  OK(api.cuFuncSetAttribute(vadd, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 50));
  OK(api.cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, vadd));
  CHECK(v == 50);
  EXPECT_RC(api.cuFuncSetAttribute(vadd, CU_FUNC_ATTRIBUTE_NUM_REGS, 8), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuFuncSetAttribute(vadd, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 300000),
            CUDA_ERROR_INVALID_VALUE);
  int blocks = 0;
  OK(api.cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&blocks, vadd, 256, 0, 0));
  CHECK(blocks == 8);
  OK(api.cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&blocks, vadd, 32, 0, 0));
  CHECK(blocks == 32);
  OK(api.cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&blocks, vadd, 1024, 0, 0));
  CHECK(blocks == 2);

  // ---- launches ----
  int nn = n;
  void* vadd_params[] = {&a, &b, &c, &nn};
  OK(api.cuLaunchKernel(vadd, 4, 1, 1, 256, 1, 1, 0, nullptr, vadd_params, nullptr));
  OK(api.cuCtxSynchronize());
  OK(api.cuMemcpyDtoHAsync_v2(hc.data(), c, bytes, nullptr));
  bool sums_ok = true;
  for (int i = 0; i < n; ++i) sums_ok = sums_ok && hc[i] == ha[i] + hb[i];
  CHECK(sums_ok);
  EXPECT_RC(api.cuLaunchKernel(vadd, 0, 1, 1, 256, 1, 1, 0, nullptr, vadd_params, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuLaunchKernel(vadd, 1, 1, 1, 1024, 2, 1, 0, nullptr, vadd_params, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuLaunchKernel(vadd, 1, 1, 1, 1, 1, 0, 0, nullptr, vadd_params, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuLaunchKernel(vadd, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(api.cuLaunchKernel(vadd, 1, 1, 1, 32, 1, 1, 200000, nullptr, vadd_params, nullptr),
            CUDA_ERROR_INVALID_VALUE);
  OK(api.cuLaunchKernel(vadd, 1, 1, 1, 32, 1, 1, 100000, nullptr, vadd_params, nullptr));  // opted in above
  EXPECT_RC(api.cuLaunchKernel(reinterpret_cast<CUfunction>(0x5678), 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr),
            CUDA_ERROR_INVALID_HANDLE);

  // fill the module global through kernelParams, then through the `extra` buffer
  unsigned value = 0xC0FFEEu;
  unsigned long long count16 = 16;
  void* fill_params[] = {&counter, &value, &count16};
  OK(api.cuLaunchKernel(fill, 1, 1, 1, 16, 1, 1, 0, nullptr, fill_params, nullptr));
  OK(api.cuMemcpyDtoHAsync_v2(gbuf, counter, 64, nullptr));
  unsigned first = 0, last = 0;
  std::memcpy(&first, gbuf, 4);
  std::memcpy(&last, gbuf + 60, 4);
  CHECK(first == 0xC0FFEEu && last == 0xC0FFEEu);
  unsigned char argbuf[24] = {};
  unsigned value2 = 7;
  unsigned long long count2 = 2;
  std::memcpy(argbuf + 0, &counter, 8);
  std::memcpy(argbuf + 8, &value2, 4);
  std::memcpy(argbuf + 16, &count2, 8);
  size_t argbuf_size = sizeof argbuf;
  void* extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, argbuf, CU_LAUNCH_PARAM_BUFFER_SIZE, &argbuf_size,
                   CU_LAUNCH_PARAM_END};
  OK(api.cuLaunchKernel(fill, 1, 1, 1, 2, 1, 1, 0, nullptr, nullptr, extra));
  OK(api.cuMemcpyDtoHAsync_v2(gbuf, counter, 64, nullptr));
  std::memcpy(&first, gbuf, 4);
  std::memcpy(&last, gbuf + 8, 4);
  CHECK(first == 7 && last == 0xC0FFEEu);

  // the launch log holds the vector_add launch with its parameter bytes
  const std::string want_line = "launch fake_vector_add grid=4,1,1 block=256,1,1 smem=0 params=" + hex_of(a) +
                                hex_of(b) + hex_of(c) + hex_of(nn) + "\n";
  const std::string log = read_file(launch_log);
  CHECK(log.rfind(want_line, 0) == 0);
  CHECK(log.find("launch fake_fill_u32 grid=1,1,1 block=2,1,1 smem=0 params=") != std::string::npos);

  // ---- host registration ----
  std::vector<unsigned char> host(8192);
  OK(api.cuMemHostRegister_v2(host.data(), 4096, 0));
  EXPECT_RC(api.cuMemHostRegister_v2(host.data() + 100, 16, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
  OK(api.cuMemHostRegister_v2(host.data() + 4096, 4096, 0));
  EXPECT_RC(api.cuMemHostUnregister(host.data() + 1), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
  OK(api.cuMemHostUnregister(host.data()));
  OK(api.cuMemHostUnregister(host.data() + 4096));
  EXPECT_RC(api.cuMemHostUnregister(host.data()), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);

  // ---- streams and events ----
  CUstream stream = nullptr;
  OK(api.cuStreamCreateWithPriority(&stream, CU_STREAM_NON_BLOCKING, -1));
  CUevent e1 = nullptr, e2 = nullptr, e_nt = nullptr, e_never = nullptr;
  OK(api.cuEventCreate(&e1, 0));
  OK(api.cuEventCreate(&e2, 0));
  OK(api.cuEventCreate(&e_nt, CU_EVENT_DISABLE_TIMING));
  OK(api.cuEventCreate(&e_never, 0));
  OK(api.cuEventRecord(e1, stream));
  int sleep_ms = 20;
  void* sleep_params[] = {&sleep_ms};
  OK(api.cuLaunchKernel(sleep_fn, 1, 1, 1, 1, 1, 1, 0, stream, sleep_params, nullptr));
  OK(api.cuEventRecord(e2, stream));
  OK(api.cuEventRecord(e_nt, stream));
  OK(api.cuStreamWaitEvent(nullptr, e2, 0));
  OK(api.cuEventSynchronize(e2));
  OK(api.cuEventQuery(e2));
  OK(api.cuStreamQuery(stream));
  OK(api.cuStreamSynchronize(stream));
  float elapsed = 0;
  OK(api.cuEventElapsedTime_v2(&elapsed, e1, e2));
  CHECK(elapsed >= 15.0f && elapsed < 5000.0f);
  OK(api.cuEventElapsedTime(&elapsed, e1, e2));
  CHECK(elapsed >= 15.0f);
  EXPECT_RC(api.cuEventElapsedTime_v2(&elapsed, e1, e_nt), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_RC(api.cuEventElapsedTime_v2(&elapsed, e1, e_never), CUDA_ERROR_INVALID_HANDLE);
  OK(api.cuEventDestroy_v2(e_never));
  EXPECT_RC(api.cuEventQuery(e_never), CUDA_ERROR_INVALID_HANDLE);
  OK(api.cuStreamDestroy_v2(stream));
  EXPECT_RC(api.cuStreamSynchronize(stream), CUDA_ERROR_INVALID_HANDLE);
  EXPECT_RC(api.cuStreamDestroy_v2(stream), CUDA_ERROR_INVALID_HANDLE);

  // ---- error strings ----
  const char* s = nullptr;
  OK(api.cuGetErrorName(CUDA_ERROR_ILLEGAL_ADDRESS, &s));
  CHECK(s && std::string(s) == "CUDA_ERROR_ILLEGAL_ADDRESS");
  OK(api.cuGetErrorString(CUDA_ERROR_INVALID_VALUE, &s));
  CHECK(s && std::string(s) == "invalid argument");
  // An unknown code, passed as a plain int (a CUresult outside the enum would be UB here).
  auto get_name_int = reinterpret_cast<CUresult (*)(int, const char**)>(api.cuGetErrorName);
  EXPECT_RC(get_name_int(12345, &s), CUDA_ERROR_INVALID_VALUE);

  // ---- a second tenant on another thread: isolated, and its blocking call stalls no one ----
  std::thread tenant([&] {
    CUcontext tctx = nullptr;
    OK(api.cuCtxCreate_v2(&tctx, 0, 1));
    // Unified addressing: the other context's memory can be copied from here (the main thread
    // leaves `a` alone meanwhile), but host memory is no device memory, and its module's
    // handles are not valid here.
    float x = 0;
    OK(api.cuMemcpyDtoHAsync_v2(&x, a + 4, 4, nullptr));
    CHECK(x == 1.0f);
    EXPECT_RC(api.cuMemcpyDtoHAsync_v2(&x, reinterpret_cast<CUdeviceptr>(&x), 4, nullptr), CUDA_ERROR_INVALID_VALUE);
    CUfunction f = nullptr;
    EXPECT_RC(api.cuModuleGetFunction(&f, mod, "fake_sleep_ms"), CUDA_ERROR_INVALID_HANDLE);
    CUmodule tmod = nullptr;
    OK(api.cuModuleLoadData(&tmod, vgpu::fake::module_image({"kernel fake_sleep_ms 4"}).c_str()));
    OK(api.cuModuleGetFunction(&f, tmod, "fake_sleep_ms"));
    int ms = 600;
    void* params[] = {&ms};
    const auto t0 = std::chrono::steady_clock::now();
    OK(api.cuLaunchKernel(f, 1, 1, 1, 1, 1, 1, 0, nullptr, params, nullptr));
    CHECK(ms_since(t0) >= 590.0);
    OK(api.cuCtxDestroy_v2(tctx));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the tenant start sleeping
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    CUdeviceptr tmp = 0;
    OK(api.cuMemAlloc_v2(&tmp, 1 << 20));
    OK(api.cuMemcpyHtoDAsync_v2(tmp, host.data(), host.size(), nullptr));
    OK(api.cuMemFree_v2(tmp));
  }
  CHECK(ms_since(t0) < 300.0);  // did not wait for the other tenant's 600 ms kernel
  tenant.join();
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));

  // ---- peer access, peer copies, unified addressing (selftest_peer.cpp) ----
  peer_checks(true);
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // it cleaned up after itself
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- limits, 2D memsets, enumeration, clusters, launch-ex, memory ops (selftest_ex.cpp) ----
  extended_checks();
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- the JIT linker (selftest_link.cpp) ----
  link_checks(state_file.c_str());
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no link left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- stream capture and graphs (selftest_graph.cpp) ----
  graph_checks(state_file.c_str(), launch_log.c_str());
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no graph left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- graphs built node by node (selftest_graph_build.cpp) ----
  graph_build_checks();
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no graph left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- memcpy nodes added by hand (selftest_graph_memcpy.cpp) ----
  graph_memcpy_checks();
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no graph, no allocation left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- event record and wait nodes added by hand (selftest_graph_event.cpp) ----
  graph_event_checks();
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no graph, no context left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- host functions and host nodes (selftest_host_func.cpp) ----
  host_func_checks();
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no graph, no context left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- graphs cloned, host and memcpy node parameters read back (selftest_graph_clone.cpp) ----
  graph_clone_checks(state_file.c_str());
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no graph, no context left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- arrays, mipmapped arrays, texture and surface objects (selftest_arrays.cpp) ----
  array_checks(lib_path);
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no allocation, no context left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- graph structure, captures naming their graph, graph memory, conditional nodes, user
  // objects (selftest_graph_structure.cpp) ----
  graph_structure_checks(lib_path);
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no graph, allocation or context left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- edge data: programmatic edges built and captured (selftest_graph_edges.cpp) ----
  graph_edge_checks(lib_path);
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no graph, allocation or context left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- IPC with a forked child: memory, events, shareable handles (selftest_ipc.cpp) ----
  ipc_checks(lib_path);
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no allocation or context left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- graph node parameters, executable graphs set and updated (selftest_graph_update.cpp) ----
  graph_update_checks(lib_path);
  CHECK(read_file(state_file) == state(1, 3, 3 * bytes));  // no graph, allocation or context left
  OK(api.cuCtxGetCurrent(&cur));
  CHECK(cur == ctx);

  // ---- a fault is sticky and, as on a real GPU, poisons every context of the process ----
  CUcontext ctx2 = nullptr;
  OK(api.cuCtxCreate_v2(&ctx2, 0, 0));  // now current
  CUdeviceptr other_alloc = 0;
  OK(api.cuMemAlloc_v2(&other_alloc, 128));
  CHECK(read_file(state_file) == state(2, 4, 3 * bytes + 128));
  OK(api.cuCtxSetCurrent(ctx));
  OK(api.cuLaunchKernel(fault, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr));  // "runs" fine
  EXPECT_RC(api.cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuMemAlloc_v2(&dp, 16), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuMemcpyHtoDAsync_v2(a, ha.data(), 4, nullptr), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuMemcpyDtoHAsync_v2(hc.data(), a, 4, nullptr), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuLaunchKernel(vadd, 4, 1, 1, 256, 1, 1, 0, nullptr, vadd_params, nullptr), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuStreamSynchronize(nullptr), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuEventSynchronize(e1), CUDA_ERROR_ILLEGAL_ADDRESS);
  // the other context fails too, and no new context can be made
  OK(api.cuCtxSetCurrent(ctx2));
  EXPECT_RC(api.cuCtxSynchronize(), CUDA_ERROR_ILLEGAL_ADDRESS);
  EXPECT_RC(api.cuMemAlloc_v2(&dp, 16), CUDA_ERROR_ILLEGAL_ADDRESS);
  CUcontext ctx3 = nullptr;
  EXPECT_RC(api.cuCtxCreate_v2(&ctx3, 0, 0), CUDA_ERROR_ILLEGAL_ADDRESS);
  OK(api.cuCtxSetCurrent(ctx2));

  // destroy works on broken contexts and releases everything
  OK(api.cuCtxDestroy_v2(ctx));
  CHECK(read_file(state_file) == state(1, 1, 128));
  OK(api.cuCtxDestroy_v2(ctx2));
  CHECK(read_file(state_file) == state(0, 0, 0));
  EXPECT_RC(api.cuCtxDestroy_v2(ctx), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuCtxSetCurrent(ctx), CUDA_ERROR_INVALID_CONTEXT);
  EXPECT_RC(api.cuMemAlloc_v2(&dp, 16), CUDA_ERROR_INVALID_CONTEXT);  // ctx2 was current: gone

  std::remove(state_file.c_str());
  std::remove(launch_log.c_str());
  rmdir(dir);
  return summary();
}
