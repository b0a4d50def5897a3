// A guest with several GPUs, against the fake driver: which host GPU each guest index is,
// kernels, symbols and streams on each device, peer access, copies between devices, and a
// device reset that leaves the other devices alone.
//
// Usage: multi_gpu EXPECTED_COUNT [no-peer | hold]
//   Prints "device <i> host <n> <name>" per device (n from the fake UUID's last byte), then
//   "multi_gpu ok". With no-peer, the host allows no peer access (FAKE_CUDA_PEER_ACCESS=0):
//   enabling it must fail, copies between devices must still work. With hold, it stops after
//   allocating on every device, prints "holding" and waits to be killed.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "test/integration/guest_programs/fake_module.h"
#include "test/integration/guest_programs/guest_check.h"

namespace {

void fill_stub() {}
void vector_add_stub() {}
char device_counter[8];

constexpr size_t kWords = 4096;
constexpr size_t kBytes = kWords * sizeof(unsigned);

void fill(void* buffer, unsigned value, cudaStream_t stream = 0) {
  unsigned long long n = kWords;
  void* args[] = {&buffer, &value, &n};
  CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(&fill_stub), dim3(4), dim3(256), args, 0, stream));
}

void expect_words(const void* device_buffer, unsigned value) {
  std::vector<unsigned> host(kWords, 0);
  CHECK(cudaMemcpy(host.data(), device_buffer, kBytes, cudaMemcpyDeviceToHost));
  for (unsigned w : host) EXPECT(w == value);
}

// Per device: a kernel on the legacy stream and on a stream of its own, and a __device__
// variable, each resolved on that device (a kernel of another device's context would be refused).
void* use_device(int device) {
  CHECK(cudaSetDevice(device));
  void* buffer = nullptr;
  CHECK(cudaMalloc(&buffer, kBytes));
  fill(buffer, 0x100u + device);
  expect_words(buffer, 0x100u + device);
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  fill(buffer, 0x200u + device, stream);
  CHECK(cudaStreamSynchronize(stream));
  CHECK(cudaStreamDestroy(stream));
  expect_words(buffer, 0x200u + device);
  const unsigned long long mark = 0xabc0u + device;
  CHECK(cudaMemcpyToSymbol(device_counter, &mark, sizeof mark));
  unsigned long long back = 0;
  CHECK(cudaMemcpyFromSymbol(&back, device_counter, sizeof back));
  EXPECT(back == mark);
  // Pointers know their device, whichever device is current when asked.
  void* symbol = nullptr;
  CHECK(cudaGetSymbolAddress(&symbol, device_counter));
  CHECK(cudaSetDevice(0));
  cudaPointerAttributes attributes{};
  CHECK(cudaPointerGetAttributes(&attributes, buffer));
  EXPECT(attributes.type == cudaMemoryTypeDevice && attributes.device == device);
  CHECK(cudaPointerGetAttributes(&attributes, symbol));
  EXPECT(attributes.type == cudaMemoryTypeDevice && attributes.device == device);
  CHECK(cudaSetDevice(device));
  return buffer;
}

void peer_access(int count, bool peer_allowed) {
  int can = -1;
  CHECK(cudaDeviceCanAccessPeer(&can, 0, 0));
  EXPECT(can == 0);  // a device is not its own peer
  EXPECT(cudaDeviceCanAccessPeer(&can, 0, count) == cudaErrorInvalidDevice);
  EXPECT(cudaGetLastError() == cudaErrorInvalidDevice);
  if (count < 2) return;
  CHECK(cudaDeviceCanAccessPeer(&can, 1, 0));
  EXPECT(can == (peer_allowed ? 1 : 0));

  CHECK(cudaSetDevice(1));
  EXPECT(cudaDeviceEnablePeerAccess(1, 0) == cudaErrorPeerAccessUnsupported);
  EXPECT(cudaDeviceDisablePeerAccess(1) == cudaErrorPeerAccessNotEnabled);
  cudaGetLastError();
  if (!peer_allowed) {
    EXPECT(cudaDeviceEnablePeerAccess(0, 0) == cudaErrorPeerAccessUnsupported);
    cudaGetLastError();
    return;
  }
  // Device 1 adds two vectors that live on device 0 into its own memory.
  const int n = 1024;
  std::vector<float> a(n), b(n), c(n, 0.0f);
  for (int i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = static_cast<float>(2 * i);
  }
  void *da, *db, *dc;
  CHECK(cudaSetDevice(0));
  CHECK(cudaMalloc(&da, n * sizeof(float)));
  CHECK(cudaMalloc(&db, n * sizeof(float)));
  CHECK(cudaMemcpy(da, a.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaSetDevice(1));
  CHECK(cudaMalloc(&dc, n * sizeof(float)));
  CHECK(cudaDeviceEnablePeerAccess(0, 0));
  EXPECT(cudaDeviceEnablePeerAccess(0, 0) == cudaErrorPeerAccessAlreadyEnabled);
  cudaGetLastError();
  int count_arg = n;
  void* args[] = {&da, &db, &dc, &count_arg};
  CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(&vector_add_stub), dim3(4), dim3(256), args, 0, 0));
  CHECK(cudaMemcpy(c.data(), dc, n * sizeof(float), cudaMemcpyDeviceToHost));
  for (int i = 0; i < n; ++i) EXPECT(c[i] == static_cast<float>(3 * i));
  CHECK(cudaDeviceDisablePeerAccess(0));
  EXPECT(cudaDeviceDisablePeerAccess(0) == cudaErrorPeerAccessNotEnabled);
  cudaGetLastError();
  CHECK(cudaFree(dc));
  CHECK(cudaSetDevice(0));
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
}

// Device 0's buffer to device 1's by every copy call that can name two devices.
void copies_between(void* on0, void* on1) {
  CHECK(cudaSetDevice(0));
  fill(on0, 0x11u);
  CHECK(cudaMemcpyPeer(on1, 1, on0, 0, kBytes));
  expect_words(on1, 0x11u);

  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  fill(on0, 0x22u, stream);
  CHECK(cudaMemcpyPeerAsync(on1, 1, on0, 0, kBytes, stream));
  CHECK(cudaStreamSynchronize(stream));
  expect_words(on1, 0x22u);

  fill(on0, 0x33u);
  CHECK(cudaMemcpy(on1, on0, kBytes, cudaMemcpyDefault));
  expect_words(on1, 0x33u);
  CHECK(cudaSetDevice(1));  // a kernel writes its own device's memory
  fill(on1, 0x44u);
  CHECK(cudaMemcpy(on0, on1, kBytes, cudaMemcpyDeviceToDevice));
  expect_words(on0, 0x44u);

  EXPECT(cudaMemcpyPeer(on1, 7, on0, 0, kBytes) == cudaErrorInvalidDevice);
  cudaGetLastError();
  CHECK(cudaStreamDestroy(stream));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const int expected = std::atoi(argv[1]);
  const bool peer_allowed = !(argc > 2 && std::strcmp(argv[2], "no-peer") == 0);
  const bool hold = argc > 2 && std::strcmp(argv[2], "hold") == 0;
  void** handle = guest_test::register_image(
      "FAKECUBIN 1\n"
      "kernel fake_fill_u32 8,4,8\n"
      "kernel fake_vector_add 8,8,8,4\n"
      "global device_counter 8\n");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&fill_stub), "fake_fill_u32");
  guest_test::register_kernel(handle, reinterpret_cast<const void*>(&vector_add_stub), "fake_vector_add");
  __cudaRegisterVar(handle, device_counter, const_cast<char*>("device_counter"), "device_counter", 0,
                    sizeof device_counter, 0, 0);

  int count = 0;
  CHECK(cudaGetDeviceCount(&count));
  EXPECT(count == expected);
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp prop{};
    CHECK(cudaGetDeviceProperties(&prop, d));
    std::printf("device %d host %d %s\n", d, static_cast<unsigned char>(prop.uuid.bytes[15]), prop.name);
  }
  EXPECT(cudaSetDevice(count) == cudaErrorInvalidDevice);
  cudaGetLastError();

  std::vector<void*> buffers;
  for (int d = 0; d < count; ++d) buffers.push_back(use_device(d));
  if (hold) {
    std::printf("holding\n");
    std::fflush(stdout);
    pause();
  }
  peer_access(count, peer_allowed);
  if (count >= 2) {
    copies_between(buffers[0], buffers[1]);

    // Resetting device 1 takes only device 1's memory and modules; device 0 keeps its own.
    CHECK(cudaSetDevice(0));
    fill(buffers[0], 0x55u);
    CHECK(cudaSetDevice(1));
    CHECK(cudaDeviceReset());
    CHECK(cudaSetDevice(0));
    expect_words(buffers[0], 0x55u);
    fill(buffers[0], 0x66u);  // device 0's kernel needs no reload
    expect_words(buffers[0], 0x66u);
    buffers[1] = use_device(1);  // device 1 loads its module again
  }
  for (int d = 0; d < count; ++d) {
    CHECK(cudaSetDevice(d));
    CHECK(cudaFree(buffers[d]));
  }
  std::printf("multi_gpu ok\n");
  return 0;
}
