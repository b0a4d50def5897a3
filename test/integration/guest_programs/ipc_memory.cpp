// Legacy IPC through the runtime shim (cudaIpc*) between two processes of one tenant: the program
// forks before any CUDA call (as NVIDIA's simpleIPC does, since a child must not use its
// parent's context) and parent and child share memory and an event both ways over pipes.
//
//   parent: allocates A (0x11), records an IPC event, sends both handles.
//   child:  a forged handle is refused; opens A twice (one address, two references) and the
//           event, waits on it, reads 0x11, writes 0x22 over A's first half with a kernel;
//           allocates B (0x33) and an event of its own and sends their handles.
//   parent: opens B and the event, waits on it, reads 0x33 and A's halves (0x22, 0x11), writes
//           0x44 into B by a copy, closes B, frees A; says so.
//   child:  reads 0x44 in B; A's handle no longer opens (its exporter freed it); closes A twice,
//           a third close is refused.
//
// "other-tenant SOCKET": the child speaks to another tenant's socket; both of the parent's
// handles are refused there (cudaErrorInvalidValue), which the child prints.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "test/integration/guest_programs/fake_module.h"
#include "test/integration/guest_programs/guest_check.h"

namespace {

void fill_stub() {}

constexpr size_t kWords = 4096;
constexpr size_t kBytes = kWords * sizeof(unsigned);

struct Handles {
  cudaIpcMemHandle_t memory;
  cudaIpcEventHandle_t event;
};

void send_all(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    EXPECT(w > 0);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void receive_all(int fd, void* data, size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = read(fd, p, n);
    EXPECT(r > 0);
    p += r;
    n -= static_cast<size_t>(r);
  }
}

void expect_words(const void* device, size_t first, size_t count, unsigned value) {
  std::vector<unsigned> host(count, 0);
  CHECK(cudaMemcpy(host.data(), static_cast<const unsigned*>(device) + first, count * sizeof(unsigned),
                   cudaMemcpyDeviceToHost));
  for (unsigned w : host) EXPECT(w == value);
}

void fill(void* buffer, unsigned value, size_t count) {
  unsigned long long n = count;
  void* args[] = {&buffer, &value, &n};
  CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(&fill_stub), dim3(4), dim3(256), args, 0, 0));
}

void* make_buffer(unsigned value, cudaEvent_t* event, Handles* handles) {
  void* buffer = nullptr;
  CHECK(cudaMalloc(&buffer, kBytes));
  fill(buffer, value, kWords);
  CHECK(cudaEventCreateWithFlags(event, cudaEventDisableTiming | cudaEventInterprocess));
  CHECK(cudaEventRecord(*event, 0));
  CHECK(cudaIpcGetMemHandle(&handles->memory, buffer));
  // The same allocation gives the same handle, from any address inside it.
  cudaIpcMemHandle_t again;
  CHECK(cudaIpcGetMemHandle(&again, static_cast<char*>(buffer) + 100));
  EXPECT(std::memcmp(&again, &handles->memory, sizeof again) == 0);
  CHECK(cudaIpcGetEventHandle(&handles->event, *event));
  return buffer;
}

int child(int from_parent, int to_parent) {
  Handles parent;
  receive_all(from_parent, &parent, sizeof parent);
  void* a = nullptr;
  // A handle made up (one bit of the token flipped) opens nothing.
  cudaIpcMemHandle_t forged = parent.memory;
  forged.reserved[12] ^= 1;
  EXPECT(cudaIpcOpenMemHandle(&a, forged, cudaIpcMemLazyEnablePeerAccess) == cudaErrorInvalidValue);
  EXPECT(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaIpcOpenMemHandle(&a, parent.memory, cudaIpcMemLazyEnablePeerAccess));
  void* a_again = nullptr;
  CHECK(cudaIpcOpenMemHandle(&a_again, parent.memory, cudaIpcMemLazyEnablePeerAccess));
  EXPECT(a_again == a);
  cudaEvent_t parent_event;
  CHECK(cudaIpcOpenEventHandle(&parent_event, parent.event));
  CHECK(cudaStreamWaitEvent(0, parent_event, 0));
  expect_words(a, 0, kWords, 0x11);
  cudaPointerAttributes attributes{};
  CHECK(cudaPointerGetAttributes(&attributes, static_cast<char*>(a) + 8));
  EXPECT(attributes.type == cudaMemoryTypeDevice);
  fill(a, 0x22, kWords / 2);
  CHECK(cudaDeviceSynchronize());

  cudaEvent_t own_event;
  Handles own;
  void* b = make_buffer(0x33, &own_event, &own);
  send_all(to_parent, &own, sizeof own);

  char done = 0;
  receive_all(from_parent, &done, 1);  // the parent wrote B and freed A
  expect_words(b, 0, kWords, 0x44);
  void* stale = nullptr;
  EXPECT(cudaIpcOpenMemHandle(&stale, parent.memory, cudaIpcMemLazyEnablePeerAccess) == cudaErrorInvalidValue);
  CHECK(cudaIpcCloseMemHandle(a));
  CHECK(cudaIpcCloseMemHandle(a));
  EXPECT(cudaIpcCloseMemHandle(a) == cudaErrorInvalidValue);
  EXPECT(cudaIpcCloseMemHandle(b) == cudaErrorInvalidValue);  // its own memory: never opened
  CHECK(cudaEventDestroy(parent_event));
  CHECK(cudaEventDestroy(own_event));
  CHECK(cudaFree(b));
  std::printf("child ok\n");
  return 0;
}

int other_tenant_child(int from_parent) {
  Handles parent;
  receive_all(from_parent, &parent, sizeof parent);
  void* a = nullptr;
  cudaEvent_t event;
  const cudaError_t memory = cudaIpcOpenMemHandle(&a, parent.memory, cudaIpcMemLazyEnablePeerAccess);
  const cudaError_t events = cudaIpcOpenEventHandle(&event, parent.event);
  std::printf("other tenant: memory %s, event %s\n", cudaGetErrorName(memory), cudaGetErrorName(events));
  return memory == cudaErrorInvalidValue && events == cudaErrorInvalidValue ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  void** image = guest_test::register_image("FAKECUBIN 1\nkernel fake_fill_u32 8,4,8\n");
  guest_test::register_kernel(image, reinterpret_cast<const void*>(&fill_stub), "fake_fill_u32");
  const bool other_tenant = argc > 2 && std::string(argv[1]) == "other-tenant";

  int down[2], up[2];
  EXPECT(pipe(down) == 0 && pipe(up) == 0);
  std::fflush(stdout);
  const pid_t pid = fork();  // before any CUDA call: each process has a channel of its own
  EXPECT(pid >= 0);
  if (pid == 0) {
    if (other_tenant) setenv("VGPU_SOCKET", argv[2], 1);
    const int rc = other_tenant ? other_tenant_child(down[0]) : child(down[0], up[1]);
    std::fflush(stdout);
    _exit(rc);
  }

  cudaEvent_t event;
  Handles handles;
  void* a = make_buffer(0x11, &event, &handles);
  send_all(down[1], &handles, sizeof handles);
  if (!other_tenant) {
    Handles from_child;
    receive_all(up[0], &from_child, sizeof from_child);
    void* b = nullptr;
    CHECK(cudaIpcOpenMemHandle(&b, from_child.memory, cudaIpcMemLazyEnablePeerAccess));
    cudaEvent_t child_event;
    CHECK(cudaIpcOpenEventHandle(&child_event, from_child.event));
    CHECK(cudaEventSynchronize(child_event));
    expect_words(b, 0, kWords, 0x33);
    expect_words(a, 0, kWords / 2, 0x22);
    expect_words(a, kWords / 2, kWords / 2, 0x11);
    std::vector<unsigned> words(kWords, 0x44);
    CHECK(cudaMemcpy(b, words.data(), kBytes, cudaMemcpyHostToDevice));
    CHECK(cudaIpcCloseMemHandle(b));
    CHECK(cudaEventDestroy(child_event));
    CHECK(cudaFree(a));
    const char done = 1;
    send_all(down[1], &done, 1);
  }
  int status = 0;
  EXPECT(waitpid(pid, &status, 0) == pid);
  EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(cudaEventDestroy(event));
  if (other_tenant) CHECK(cudaFree(a));
  std::printf("ipc_memory ok\n");
  return 0;
}
