// Virtual memory's shareable handles through vgpu's libcuda.so.1 between two processes of one
// tenant: the program forks before any CUDA call, and parent and child pass each other file
// descriptors from cuMemExportToShareableHandle over a UNIX socket (SCM_RIGHTS), as programs do
// with the driver's.
//
//   parent: allocation A (POSIX file descriptor handle type), mapped and set to 0x11, exported;
//           it imports its own descriptor too (the same memory under a second handle).
//   child:  descriptors that are no handle are refused; imports A (its properties are the
//           exporter's), maps it, reads 0x11, writes 0x22 over its first half with a kernel;
//           makes B (0x33), exports it.
//   parent: reads A's halves (0x22, 0x11), imports B, writes 0x44 into it, lets it go.
//   child:  reads 0x44 in B.
// Also: exporting an allocation made without the handle type is the driver's
// CUDA_ERROR_INVALID_VALUE, a fabric handle CUDA_ERROR_NOT_SUPPORTED; the device attribute reads 1.
//
// "other-tenant SOCKET": the child speaks to another tenant's socket; A's descriptor imports
// nothing there (CUDA_ERROR_INVALID_VALUE), which the child prints.
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "guest_check.h"

namespace {

const char kImage[] =
    "FAKECUBIN 1\n"
    "kernel fake_fill_u32 8,4,8\n";

size_t g_granularity = 0;

CUmemAllocationProp prop_for(bool shareable) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = 0;
  if (shareable) prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
  return prop;
}

void start() {
  CU_CHECK(cuInit(0));
  CUcontext ctx;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, 0));
  CU_CHECK(cuCtxSetCurrent(ctx));
  const CUmemAllocationProp prop = prop_for(true);
  CU_CHECK(cuMemGetAllocationGranularity(&g_granularity, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
}

// Reserves, maps and opens for reading and writing `handle`'s `size` bytes.
CUdeviceptr map(CUmemGenericAllocationHandle handle, size_t size) {
  CUdeviceptr at = 0;
  CU_CHECK(cuMemAddressReserve(&at, size, 0, 0, 0));
  CU_CHECK(cuMemMap(at, size, 0, handle, 0));
  CUmemAccessDesc access{};
  access.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  access.location.id = 0;
  access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  CU_CHECK(cuMemSetAccess(at, size, &access, 1));
  return at;
}

void unmap(CUdeviceptr at, size_t size) {
  CU_CHECK(cuMemUnmap(at, size));
  CU_CHECK(cuMemAddressFree(at, size));
}

void expect_words(CUdeviceptr p, size_t count, uint32_t value) {
  std::vector<uint32_t> w(count);
  CU_CHECK(cuMemcpyDtoH(w.data(), p, count * 4));
  for (uint32_t x : w) EXPECT(x == value);
}

void send_fd(int socket, int fd) {
  char byte = 'F';
  iovec io{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  EXPECT(sendmsg(socket, &m, 0) == 1);
}

int receive_fd(int socket) {
  char byte = 0;
  iovec io{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  EXPECT(recvmsg(socket, &m, 0) == 1 && byte == 'F');
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  EXPECT(c != nullptr && c->cmsg_type == SCM_RIGHTS);
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

void signal_peer(int socket) {
  const char byte = 'S';
  EXPECT(write(socket, &byte, 1) == 1);
}
void wait_peer(int socket) {
  char byte = 0;
  EXPECT(read(socket, &byte, 1) == 1 && byte == 'S');
}

void fill(CUdeviceptr p, uint32_t value, size_t count) {
  CUmodule module;
  CU_CHECK(cuModuleLoadData(&module, kImage));
  CUfunction kernel;
  CU_CHECK(cuModuleGetFunction(&kernel, module, "fake_fill_u32"));
  unsigned long long n = count;
  void* args[] = {&p, &value, &n};
  CU_CHECK(cuLaunchKernel(kernel, 4, 1, 1, 256, 1, 1, 0, nullptr, args, nullptr));
  CU_CHECK(cuCtxSynchronize());
  CU_CHECK(cuModuleUnload(module));
}

int child(int socket) {
  const int fd = receive_fd(socket);
  start();
  const size_t size = 2 * g_granularity;
  // Descriptors that are no shareable handle: a pipe, and a file without the token.
  CUmemGenericAllocationHandle h = 0;
  int p[2];
  EXPECT(pipe(p) == 0);
  EXPECT_RC(cuMemImportFromShareableHandle(&h, reinterpret_cast<void*>(static_cast<intptr_t>(p[0])),
                                           CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR),
            CUDA_ERROR_INVALID_VALUE);
  const int empty = memfd_create("not-a-handle", 0);
  EXPECT(empty >= 0 && ftruncate(empty, 64) == 0);
  EXPECT_RC(cuMemImportFromShareableHandle(&h, reinterpret_cast<void*>(static_cast<intptr_t>(empty)),
                                           CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR),
            CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuMemImportFromShareableHandle(&h, reinterpret_cast<void*>(static_cast<intptr_t>(fd)),
                                          CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
  close(fd);
  CUmemAllocationProp got{};
  CU_CHECK(cuMemGetAllocationPropertiesFromHandle(&got, h));
  // The driver reports no requested handle types for an imported allocation (seen on an H200).
  EXPECT(got.type == CU_MEM_ALLOCATION_TYPE_PINNED && got.location.id == 0 &&
         got.requestedHandleTypes == CU_MEM_HANDLE_TYPE_NONE);
  const CUdeviceptr a = map(h, size);
  CU_CHECK(cuMemRelease(h));  // the mapping holds it
  expect_words(a, size / 4, 0x11);
  fill(a, 0x22, size / 8);

  const CUmemAllocationProp prop = prop_for(true);
  CUmemGenericAllocationHandle b = 0;
  CU_CHECK(cuMemCreate(&b, g_granularity, &prop, 0));
  const CUdeviceptr b_at = map(b, g_granularity);
  CU_CHECK(cuMemsetD32(b_at, 0x33, g_granularity / 4));
  int b_fd = -1;
  CU_CHECK(cuMemExportToShareableHandle(&b_fd, b, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0));
  send_fd(socket, b_fd);
  close(b_fd);
  signal_peer(socket);
  wait_peer(socket);  // the parent wrote B
  expect_words(b_at, g_granularity / 4, 0x44);
  unmap(a, size);
  unmap(b_at, g_granularity);
  CU_CHECK(cuMemRelease(b));
  std::printf("child ok\n");
  return 0;
}

int other_tenant_child(int socket) {
  const int fd = receive_fd(socket);
  CU_CHECK(cuInit(0));
  CUcontext ctx;
  CU_CHECK(cuDevicePrimaryCtxRetain(&ctx, 0));
  CU_CHECK(cuCtxSetCurrent(ctx));
  CUmemGenericAllocationHandle h = 0;
  const CUresult r = cuMemImportFromShareableHandle(&h, reinterpret_cast<void*>(static_cast<intptr_t>(fd)),
                                                    CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR);
  const char* name = nullptr;
  cuGetErrorName(r, &name);
  std::printf("other tenant: import %s\n", name ? name : "?");
  signal_peer(socket);
  return r == CUDA_ERROR_INVALID_VALUE ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const bool other_tenant = argc > 2 && std::string(argv[1]) == "other-tenant";
  int sv[2];
  EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  std::fflush(stdout);
  const pid_t pid = fork();  // before any CUDA call: each process has a channel of its own
  EXPECT(pid >= 0);
  if (pid == 0) {
    close(sv[0]);
    if (other_tenant) setenv("VGPU_SOCKET", argv[2], 1);
    const int rc = other_tenant ? other_tenant_child(sv[1]) : child(sv[1]);
    std::fflush(stdout);
    _exit(rc);
  }
  close(sv[1]);
  start();
  int supported = 0;
  CU_CHECK(cuDeviceGetAttribute(&supported, CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED, 0));
  EXPECT(supported == 1);
  const size_t size = 2 * g_granularity;

  // Only an allocation made to be shared, and only as a file descriptor.
  const CUmemAllocationProp plain_prop = prop_for(false);
  CUmemGenericAllocationHandle plain = 0;
  CU_CHECK(cuMemCreate(&plain, g_granularity, &plain_prop, 0));
  int fd = -1;
  EXPECT_RC(cuMemExportToShareableHandle(&fd, plain, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0),
            CUDA_ERROR_INVALID_VALUE);
  CU_CHECK(cuMemRelease(plain));
  const CUmemAllocationProp prop = prop_for(true);
  CUmemGenericAllocationHandle a = 0;
  CU_CHECK(cuMemCreate(&a, size, &prop, 0));
  CUmemFabricHandle fabric{};
  EXPECT_RC(cuMemExportToShareableHandle(&fabric, a, CU_MEM_HANDLE_TYPE_FABRIC, 0), CUDA_ERROR_NOT_SUPPORTED);
  const CUdeviceptr a_at = map(a, size);
  CU_CHECK(cuMemsetD32(a_at, 0x11, size / 4));
  CU_CHECK(cuMemExportToShareableHandle(&fd, a, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0));
  EXPECT(fd >= 0);
  send_fd(sv[0], fd);

  // Its own descriptor imports too: the same memory under a second handle.
  CUmemGenericAllocationHandle again = 0;
  CU_CHECK(cuMemImportFromShareableHandle(&again, reinterpret_cast<void*>(static_cast<intptr_t>(fd)),
                                          CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
  EXPECT(again != a);
  const CUdeviceptr again_at = map(again, size);
  expect_words(again_at + size - 64, 16, 0x11);
  unmap(again_at, size);
  CU_CHECK(cuMemRelease(again));
  close(fd);

  if (!other_tenant) {
    const int b_fd = receive_fd(sv[0]);
    wait_peer(sv[0]);  // the child wrote A and made B
    expect_words(a_at, size / 8, 0x22);
    expect_words(a_at + size / 2, size / 8, 0x11);
    CUmemGenericAllocationHandle b = 0;
    CU_CHECK(cuMemImportFromShareableHandle(&b, reinterpret_cast<void*>(static_cast<intptr_t>(b_fd)),
                                            CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
    close(b_fd);
    const CUdeviceptr b_at = map(b, g_granularity);
    expect_words(b_at, g_granularity / 4, 0x33);
    CU_CHECK(cuMemsetD32(b_at, 0x44, g_granularity / 4));
    CU_CHECK(cuCtxSynchronize());
    unmap(b_at, g_granularity);
    CU_CHECK(cuMemRelease(b));
    signal_peer(sv[0]);
  } else {
    wait_peer(sv[0]);
  }
  int status = 0;
  EXPECT(waitpid(pid, &status, 0) == pid);
  EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unmap(a_at, size);
  CU_CHECK(cuMemRelease(a));
  CU_CHECK(cuDevicePrimaryCtxRelease(0));
  std::printf("ipc_shareable ok\n");
  return 0;
}
