// shareable_memory: virtual memory shared with another process as a POSIX file descriptor
// (cuMemExportToShareableHandle, cuMemImportFromShareableHandle), as PyTorch's expandable
// segments and NVIDIA's memMapIPCDrv share it. The program forks before cuInit (a child must not
// use its parent's context) and the two pass the descriptor over a UNIX socket (SCM_RIGHTS):
//   1. the parent makes an allocation of four granules with the POSIX file descriptor handle
//      type, maps it, zeroes it and exports it;
//   2. the child imports it, maps it, stamps it with a kernel and says so;
//   3. the parent reads every word back, and imports its own descriptor too (a second handle,
//      mapped elsewhere, shows the same bytes).
// Also: exporting an allocation made without the handle type fails (the error's name is
// printed); the device attribute and the imported allocation's properties are printed.
// blobs: cubin
#if defined(__CUDACC__)
extern "C" __global__ void stamp(unsigned* p, unsigned long long n, unsigned salt) {
  for (unsigned long long i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    p[i] = static_cast<unsigned>(i) * 2654435761u + salt;
}
#else
#include <sys/socket.h>
#include <sys/wait.h>

#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static CUmemAllocationProp prop_on(CUdevice dev, bool shareable) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = dev;
  if (shareable) prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
  return prop;
}

// Reserves `size` bytes, maps `h` there and opens it for reading and writing on `dev`.
static CUdeviceptr map(CUmemGenericAllocationHandle h, size_t size, CUdevice dev) {
  CUdeviceptr at = 0;
  CHECK(cuMemAddressReserve(&at, size, 0, 0, 0));
  CHECK(cuMemMap(at, size, 0, h, 0));
  CUmemAccessDesc d{};
  d.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  d.location.id = dev;
  d.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  CHECK(cuMemSetAccess(at, size, &d, 1));
  return at;
}

static void unmap(CUdeviceptr at, size_t size) {
  CHECK(cuMemUnmap(at, size));
  CHECK(cuMemAddressFree(at, size));
}

static void send_fd(int sock, int fd) {
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
  EXPECT(sendmsg(sock, &m, 0) == 1);
}

static int receive_fd(int sock) {
  char byte = 0;
  iovec io{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  EXPECT(recvmsg(sock, &m, 0) == 1 && byte == 'F');
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  EXPECT(c != nullptr && c->cmsg_type == SCM_RIGHTS);
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

// One byte each way orders the two processes' output.
static void say(int sock) {
  std::fflush(stdout);
  const char byte = 'S';
  EXPECT(write(sock, &byte, 1) == 1);
}
static void hear(int sock) {
  char byte = 0;
  EXPECT(read(sock, &byte, 1) == 1 && byte == 'S');
}

static int child(int sock) {
  const int fd = receive_fd(sock);
  CUdevice dev = 0;
  init_primary(&dev);
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));
  CUfunction kernel;
  CHECK(cuModuleGetFunction(&kernel, mod, "stamp"));
  CUmemGenericAllocationHandle h = 0;
  CHECK(cuMemImportFromShareableHandle(&h, reinterpret_cast<void*>(static_cast<intptr_t>(fd)),
                                       CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
  close(fd);
  CUmemAllocationProp got{};
  CHECK(cuMemGetAllocationPropertiesFromHandle(&got, h));
  std::printf("child: imported, type %d, location %d:%d, handle types %d\n", static_cast<int>(got.type),
              static_cast<int>(got.location.type), got.location.id, static_cast<int>(got.requestedHandleTypes));
  const CUmemAllocationProp prop = prop_on(dev, true);
  size_t g = 0;
  CHECK(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
  const size_t size = 4 * g;
  const CUdeviceptr at = map(h, size, dev);
  CHECK(cuMemRelease(h));  // the mapping holds it
  CUdeviceptr p = at;
  unsigned long long n = size / 4;
  unsigned salt = 7;
  void* params[] = {&p, &n, &salt};
  CHECK(cuLaunchKernel(kernel, 128, 1, 1, 256, 1, 1, 0, nullptr, params, nullptr));
  CHECK(cuCtxSynchronize());
  std::printf("child: stamped %llu words\n", n);
  say(sock);
  hear(sock);  // the parent read them
  unmap(at, size);
  CHECK(cuModuleUnload(mod));
  std::printf("child: done\n");
  say(sock);
  return 0;
}

int main() {
  int sv[2];
  EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  std::fflush(stdout);
  const pid_t pid = fork();  // before cuInit
  EXPECT(pid >= 0);
  if (pid == 0) {
    close(sv[0]);
    const int rc = child(sv[1]);
    std::fflush(stdout);
    _exit(rc);
  }
  close(sv[1]);
  CUdevice dev = 0;
  init_primary(&dev);
  int supported = 0;
  CHECK(cuDeviceGetAttribute(&supported, CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED, dev));
  std::printf("posix_fd_supported=%d\n", supported);
  const CUmemAllocationProp prop = prop_on(dev, true), plain_prop = prop_on(dev, false);
  size_t g = 0;
  CHECK(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
  const size_t size = 4 * g;

  CUmemGenericAllocationHandle plain = 0;
  CHECK(cuMemCreate(&plain, g, &plain_prop, 0));
  int no_fd = -1;
  EXPECT_FAIL("export without the handle type",
              cuMemExportToShareableHandle(&no_fd, plain, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0));
  CHECK(cuMemRelease(plain));

  CUmemGenericAllocationHandle h = 0;
  CHECK(cuMemCreate(&h, size, &prop, 0));
  const CUdeviceptr at = map(h, size, dev);
  CHECK(cuMemsetD32(at, 0, size / 4));
  int fd = -1;
  CHECK(cuMemExportToShareableHandle(&fd, h, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0));
  EXPECT(fd >= 0);
  std::printf("parent: exported %zu granules\n", size / g);
  send_fd(sv[0], fd);

  hear(sv[0]);  // the child stamped the allocation
  std::vector<unsigned> words(size / 4);
  CHECK(cuMemcpyDtoH(words.data(), at, size));
  for (size_t i = 0; i < words.size(); ++i) EXPECT(words[i] == static_cast<unsigned>(i) * 2654435761u + 7);
  print_hex("parent: sees the child's stamp, fnv", fnv1a(words.data(), size));
  // Its own descriptor imports too: a second handle to the same memory.
  CUmemGenericAllocationHandle again = 0;
  CHECK(cuMemImportFromShareableHandle(&again, reinterpret_cast<void*>(static_cast<intptr_t>(fd)),
                                       CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
  const CUdeviceptr second = map(again, size, dev);
  std::vector<unsigned> through_second(size / 4);
  CHECK(cuMemcpyDtoH(through_second.data(), second, size));
  std::printf("parent: its own import sees the same bytes: %s\n", through_second == words ? "yes" : "no");
  unmap(second, size);
  CHECK(cuMemRelease(again));
  close(fd);
  say(sv[0]);

  hear(sv[0]);  // the child let go
  int status = 0;
  EXPECT(waitpid(pid, &status, 0) == pid);
  std::printf("child exit=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unmap(at, size);
  CHECK(cuMemRelease(h));
  std::printf("shareable_memory done\n");
  return 0;
}
#endif
