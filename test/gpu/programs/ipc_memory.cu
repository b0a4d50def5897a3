// ipc_memory: two processes share device memory and an event through CUDA IPC
// (cudaIpcGetMemHandle/OpenMemHandle/CloseMemHandle, cudaIpcGetEventHandle/OpenEventHandle).
// The program forks before any CUDA call (a child must not use its parent's context, as
// simpleIPC's note says) and the two talk over pipes:
//   1. the parent allocates A and an interprocess event, and sends both handles;
//   2. the child opens them, fills A with a kernel on a stream of its own, records the event
//      there and says so; the parent waits for the event (cudaEventSynchronize) and reads A;
//   3. the parent adds one to A with a kernel, records the event and says so; the child makes its
//      stream wait for the event (cudaStreamWaitEvent), reads A and prints what it saw.
// What opening a handle in the process that made it gives is printed (the driver refuses it).
// Each process prints only at points the pipes order, so the output is the same in every run.
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "common.h"

constexpr int N = 1 << 20;
constexpr int BLOCK = 256;
constexpr int GRID = 256;

__global__ void fill(int* p, int n, int base) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) p[i] = base + i;
}

__global__ void add_one(int* p, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) p[i] += 1;
}

struct Handles {
  cudaIpcMemHandle_t memory;
  cudaIpcEventHandle_t event;
};

static void put(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    EXPECT(w > 0);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

static void get(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = read(fd, p, n);
    EXPECT(r > 0);
    p += r;
    n -= static_cast<size_t>(r);
  }
}

static void say(int fd) {
  std::fflush(stdout);  // what this process printed comes before what the other prints next
  const char c = 1;
  put(fd, &c, 1);
}

static void hear(int fd) {
  char c = 0;
  get(fd, &c, 1);
}

// Checks A against base + i and prints its checksum.
static void check(const char* who, const std::vector<int>& host, int base) {
  for (int i = 0; i < N; ++i) EXPECT(host[i] == base + i);
  std::printf("%s: A[0]=%d A[%d]=%d fnv=0x%016llx\n", who, host[0], N - 1, host[N - 1],
              static_cast<unsigned long long>(fnv1a(host.data(), host.size() * sizeof(int))));
}

static int child(int in, int out) {
  Handles h;
  get(in, &h, sizeof h);
  CK(cudaSetDevice(0));
  int* a = nullptr;
  CK(cudaIpcOpenMemHandle(reinterpret_cast<void**>(&a), h.memory, cudaIpcMemLazyEnablePeerAccess));
  cudaEvent_t event;
  CK(cudaIpcOpenEventHandle(&event, h.event));
  cudaStream_t stream;
  CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  fill<<<GRID, BLOCK, 0, stream>>>(a, N, 1000);
  CK_LAUNCH();
  CK(cudaEventRecord(event, stream));
  std::printf("child: filled A, recorded the event\n");
  say(out);

  hear(in);  // the parent added one and recorded the event
  CK(cudaStreamWaitEvent(stream, event, 0));
  std::vector<int> host(N, 0);
  CK(cudaMemcpyAsync(host.data(), a, N * sizeof(int), cudaMemcpyDeviceToHost, stream));
  CK(cudaStreamSynchronize(stream));
  check("child", host, 1001);
  CK(cudaIpcCloseMemHandle(a));
  CK(cudaEventDestroy(event));
  CK(cudaStreamDestroy(stream));
  std::printf("child: closed\n");
  say(out);
  return 0;
}

int main() {
  int down[2], up[2];
  EXPECT(pipe(down) == 0 && pipe(up) == 0);
  std::fflush(stdout);
  const pid_t pid = fork();  // before any CUDA call
  EXPECT(pid >= 0);
  if (pid == 0) {
    const int rc = child(down[0], up[1]);
    std::fflush(stdout);
    _exit(rc);
  }

  CK(cudaSetDevice(0));
  int supported = 0;
  CK(cudaDeviceGetAttribute(&supported, cudaDevAttrIpcEventSupport, 0));
  std::printf("ipc_event_support=%d\n", supported);
  int* a = nullptr;
  CK(cudaMalloc(&a, N * sizeof(int)));
  CK(cudaMemset(a, 0, N * sizeof(int)));
  cudaEvent_t event;
  CK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming | cudaEventInterprocess));
  Handles h;
  CK(cudaIpcGetMemHandle(&h.memory, a));
  CK(cudaIpcGetEventHandle(&h.event, event));
  cudaPointerAttributes attributes{};
  CK(cudaPointerGetAttributes(&attributes, a));
  std::printf("parent: A is %s memory\n", attributes.type == cudaMemoryTypeDevice ? "device" : "other");
  // The process that exported a handle cannot open it.
  void* own = nullptr;
  const cudaError_t own_open = cudaIpcOpenMemHandle(&own, h.memory, cudaIpcMemLazyEnablePeerAccess);
  std::printf("parent: opening its own handle: %s\n", cudaGetErrorName(own_open));
  if (own_open == cudaSuccess) CK(cudaIpcCloseMemHandle(own));
  (void)cudaGetLastError();
  put(down[1], &h, sizeof h);

  hear(up[0]);  // the child filled A and recorded the event
  CK(cudaEventSynchronize(event));
  std::vector<int> host(N, 0);
  CK(cudaMemcpy(host.data(), a, N * sizeof(int), cudaMemcpyDeviceToHost));
  check("parent", host, 1000);

  add_one<<<GRID, BLOCK>>>(a, N);
  CK_LAUNCH();
  CK(cudaEventRecord(event, 0));
  std::printf("parent: added one, recorded the event\n");
  say(down[1]);

  hear(up[0]);  // the child read A and closed it
  int status = 0;
  EXPECT(waitpid(pid, &status, 0) == pid);
  std::printf("child exit=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CK(cudaEventDestroy(event));
  CK(cudaFree(a));
  std::printf("ipc_memory PASS\n");
  return 0;
}
