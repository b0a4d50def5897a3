// fake-cuda (test double, never ships): self-check of IPC between processes (ipc.cpp) and of
// virtual memory's shareable handles (vmm.cpp): a forked child, with a context of its own, opens
// the parent's allocation, event and file descriptor, and both see the same bytes.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "selftest.h"

namespace vgpu::fake::selftest {

namespace {

struct IpcApi {
  CUresult (*cuIpcGetMemHandle)(CUipcMemHandle*, CUdeviceptr);
  CUresult (*cuIpcOpenMemHandle_v2)(CUdeviceptr*, CUipcMemHandle, unsigned);
  CUresult (*cuIpcCloseMemHandle)(CUdeviceptr);
  CUresult (*cuIpcGetEventHandle)(CUipcEventHandle*, CUevent);
  CUresult (*cuIpcOpenEventHandle)(CUevent*, CUipcEventHandle);
  CUresult (*cuMemExportToShareableHandle)(void*, CUmemGenericAllocationHandle, CUmemAllocationHandleType,
                                           unsigned long long);
  CUresult (*cuMemImportFromShareableHandle)(CUmemGenericAllocationHandle*, void*, CUmemAllocationHandleType);
  CUresult (*cuMemCreate)(CUmemGenericAllocationHandle*, size_t, const CUmemAllocationProp*, unsigned long long);
  CUresult (*cuMemRelease)(CUmemGenericAllocationHandle);
  CUresult (*cuMemAddressReserve)(CUdeviceptr*, size_t, size_t, CUdeviceptr, unsigned long long);
  CUresult (*cuMemAddressFree)(CUdeviceptr, size_t);
  CUresult (*cuMemMap)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long);
  CUresult (*cuMemUnmap)(CUdeviceptr, size_t);
};

bool resolve(const char* lib_path, IpcApi& a) {
  void* lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return false;
  bool ok = true;
#define VGPU_IPC_API(name) ok = (*reinterpret_cast<void**>(&a.name) = dlsym(lib, #name)) != nullptr && ok;
  VGPU_IPC_API(cuIpcGetMemHandle)
  VGPU_IPC_API(cuIpcOpenMemHandle_v2)
  VGPU_IPC_API(cuIpcCloseMemHandle)
  VGPU_IPC_API(cuIpcGetEventHandle)
  VGPU_IPC_API(cuIpcOpenEventHandle)
  VGPU_IPC_API(cuMemExportToShareableHandle)
  VGPU_IPC_API(cuMemImportFromShareableHandle)
  VGPU_IPC_API(cuMemCreate)
  VGPU_IPC_API(cuMemRelease)
  VGPU_IPC_API(cuMemAddressReserve)
  VGPU_IPC_API(cuMemAddressFree)
  VGPU_IPC_API(cuMemMap)
  VGPU_IPC_API(cuMemUnmap)
#undef VGPU_IPC_API
  return ok;  // the handle stays open: the self-check loaded the library already
}

constexpr size_t kBytes = 10000;       // not a whole page: the export maps whole pages
constexpr size_t kChunk = 2u << 20;    // the fake's granularity

CUmemAllocationProp device_prop(bool shareable) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = 0;
  if (shareable) prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
  return prop;
}

CUdeviceptr map(const IpcApi& a, CUmemGenericAllocationHandle h) {
  CUdeviceptr at = 0;
  if (a.cuMemAddressReserve(&at, kChunk, 0, 0, 0) != CUDA_SUCCESS || a.cuMemMap(at, kChunk, 0, h, 0) != CUDA_SUCCESS)
    return 0;
  return at;
}

// The child: what it can do with the parent's handles. 0 when all went well, else the number of
// the first step that did not.
int child(const IpcApi& a, const CUipcMemHandle& mem, const CUipcEventHandle& ev, int fd,
          const std::vector<unsigned char>& pattern) {
  CUcontext ctx = nullptr;
  if (api.cuCtxCreate_v2(&ctx, 0, 0) != CUDA_SUCCESS) return 1;
  CUdeviceptr p = 0, again = 0;
  if (a.cuIpcOpenMemHandle_v2(&p, mem, CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS) != CUDA_SUCCESS) return 2;
  if (a.cuIpcOpenMemHandle_v2(&again, mem, 0) != CUDA_SUCCESS || again != p) return 3;
  std::vector<unsigned char> seen(kBytes);
  if (api.cuMemcpyDtoHAsync_v2(seen.data(), p, kBytes, nullptr) != CUDA_SUCCESS || seen != pattern) return 4;
  if (api.cuMemsetD8Async(p, 0x5a, 100, nullptr) != CUDA_SUCCESS) return 5;
  if (api.cuMemFree_v2(p) != CUDA_ERROR_INVALID_VALUE) return 6;  // not the child's allocation
  if (a.cuIpcCloseMemHandle(p) != CUDA_SUCCESS || a.cuIpcCloseMemHandle(p) != CUDA_SUCCESS ||
      a.cuIpcCloseMemHandle(p) != CUDA_ERROR_INVALID_VALUE)
    return 7;
  CUevent e = nullptr;
  if (a.cuIpcOpenEventHandle(&e, ev) != CUDA_SUCCESS || api.cuEventRecord(e, nullptr) != CUDA_SUCCESS ||
      api.cuEventSynchronize(e) != CUDA_SUCCESS)
    return 8;
  CUmemGenericAllocationHandle h = 0;
  if (a.cuMemImportFromShareableHandle(&h, reinterpret_cast<void*>(static_cast<intptr_t>(fd)),
                                       CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) != CUDA_SUCCESS)
    return 9;
  const CUdeviceptr at = map(a, h);
  if (at == 0 || api.cuMemsetD8Async(at + 4096, 0x6b, 64, nullptr) != CUDA_SUCCESS) return 10;
  return 0;
}

}  // namespace

void ipc_checks(const char* lib_path) {
  IpcApi a{};
  CHECK(resolve(lib_path, a));
  if (a.cuIpcGetMemHandle == nullptr) return;
  CUcontext before = nullptr;
  OK(api.cuCtxGetCurrent(&before));
  CUcontext ctx = nullptr;
  OK(api.cuCtxCreate_v2(&ctx, 0, 0));

  // An allocation, exported: its bytes stay; an address inside it gives the same handle.
  std::vector<unsigned char> pattern(kBytes);
  for (size_t i = 0; i < kBytes; ++i) pattern[i] = static_cast<unsigned char>(i * 13 + 7);
  CUdeviceptr p = 0;
  OK(api.cuMemAlloc_v2(&p, kBytes));
  OK(api.cuMemcpyHtoDAsync_v2(p, pattern.data(), kBytes, nullptr));
  CUipcMemHandle mem{}, inside{};
  OK(a.cuIpcGetMemHandle(&mem, p));
  OK(a.cuIpcGetMemHandle(&inside, p + 5000));
  CHECK(std::memcmp(&mem, &inside, sizeof mem) == 0);
  std::vector<unsigned char> seen(kBytes);
  OK(api.cuMemcpyDtoHAsync_v2(seen.data(), p, kBytes, nullptr));
  CHECK(seen == pattern);
  EXPECT_RC(a.cuIpcGetMemHandle(&inside, p + kBytes + (64u << 20)), CUDA_ERROR_INVALID_VALUE);
  // This process's own handle, a handle made up, a flag that does not exist.
  CUdeviceptr opened = 0;
  EXPECT_RC(a.cuIpcOpenMemHandle_v2(&opened, mem, 0), CUDA_ERROR_INVALID_CONTEXT);
  CUipcMemHandle forged = mem;
  forged.reserved[0] ^= 1;
  EXPECT_RC(a.cuIpcOpenMemHandle_v2(&opened, forged, 0), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(a.cuIpcOpenMemHandle_v2(&opened, mem, 2), CUDA_ERROR_INVALID_VALUE);
  EXPECT_RC(a.cuIpcCloseMemHandle(p), CUDA_ERROR_INVALID_VALUE);

  // Events: only an interprocess one.
  CUevent plain = nullptr, shared = nullptr;
  OK(api.cuEventCreate(&plain, CU_EVENT_DISABLE_TIMING));
  OK(api.cuEventCreate(&shared, CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS));
  CUipcEventHandle ev{};
  EXPECT_RC(a.cuIpcGetEventHandle(&ev, plain), CUDA_ERROR_INVALID_VALUE);
  OK(a.cuIpcGetEventHandle(&ev, shared));
  CUevent self = nullptr;
  EXPECT_RC(a.cuIpcOpenEventHandle(&self, ev), CUDA_ERROR_INVALID_CONTEXT);

  // Shareable handles: only of an allocation made for it, only as a file descriptor.
  const CUmemAllocationProp shareable = device_prop(true), not_shareable = device_prop(false);
  CUmemGenericAllocationHandle h = 0, no = 0;
  OK(a.cuMemCreate(&h, kChunk, &shareable, 0));
  OK(a.cuMemCreate(&no, kChunk, &not_shareable, 0));
  int fd = -1;
  EXPECT_RC(a.cuMemExportToShareableHandle(&fd, no, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0), CUDA_ERROR_INVALID_VALUE);
  CUmemFabricHandle fabric{};
  EXPECT_RC(a.cuMemExportToShareableHandle(&fabric, h, CU_MEM_HANDLE_TYPE_FABRIC, 0), CUDA_ERROR_NOT_SUPPORTED);
  OK(a.cuMemExportToShareableHandle(&fd, h, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0));
  CHECK(fd >= 0);
  int pipe_fds[2];
  CHECK(pipe(pipe_fds) == 0);
  CUmemGenericAllocationHandle bad = 0;
  EXPECT_RC(a.cuMemImportFromShareableHandle(&bad, reinterpret_cast<void*>(static_cast<intptr_t>(pipe_fds[0])),
                                             CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR),
            CUDA_ERROR_INVALID_VALUE);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  const CUdeviceptr at = map(a, h);
  CHECK(at != 0);
  OK(api.cuMemsetD8Async(at, 0, kChunk, nullptr));

  // A child with a context of its own opens all three, and writes into two.
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) _exit(child(a, mem, ev, fd, pattern));
  int status = -1;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // else the child's first failed step
  unsigned char head[100], vmm[64];
  OK(api.cuMemcpyDtoHAsync_v2(head, p, sizeof head, nullptr));
  CHECK(head[0] == 0x5a && head[99] == 0x5a);
  OK(api.cuMemcpyDtoHAsync_v2(vmm, at + 4096, sizeof vmm, nullptr));
  CHECK(vmm[0] == 0x6b && vmm[63] == 0x6b);
  OK(api.cuMemcpyDtoHAsync_v2(head, p + 100, sizeof head, nullptr));
  CHECK(std::memcmp(head, pattern.data() + 100, sizeof head) == 0);

  close(fd);
  OK(a.cuMemUnmap(at, kChunk));
  OK(a.cuMemAddressFree(at, kChunk));
  OK(a.cuMemRelease(h));
  OK(a.cuMemRelease(no));
  OK(api.cuEventDestroy_v2(plain));
  OK(api.cuEventDestroy_v2(shared));
  OK(api.cuMemFree_v2(p));
  OK(api.cuCtxDestroy_v2(ctx));
  OK(api.cuCtxSetCurrent(before));
}

}  // namespace vgpu::fake::selftest
