// stream_memops: ordering two streams through a flag in device memory with the stream memory
// operations. Proves cuStreamWaitValue32 (GEQ, EQ, AND) and cuStreamWriteValue32,
// cuStreamWaitValue64 and cuStreamWriteValue64: a stream waits on a flag before its kernel is
// even enqueued on the other stream, that stream's kernel then writes data and the flag, and the
// waiting stream's kernel must see the data; cuStreamBatchMemOp with a write 32, a write 64, a
// wait 32 and a memory barrier; and the values the writes leave, read back on the host. The
// capability attributes of the device are printed first.
// blobs: cubin
#if defined(__CUDACC__)
__device__ __forceinline__ unsigned long long gtime() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// Spins NS nanoseconds (so the waiting stream is really waiting), then data[i] = v + i.
extern "C" __global__ void produce(int* data, int v, int n, unsigned long long ns) {
  if (threadIdx.x == 0) {
    unsigned long long t0 = gtime();
    while (gtime() - t0 < ns) {
    }
  }
  __syncthreads();
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) data[i] = v + i;
}

// out[i] = data[i] * 2.
extern "C" __global__ void consume(int* out, const int* data, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = data[i] * 2;
}
#else
#include <vector>

#include "driver_common.h"
#include "drv_blobs.h"

static CUfunction g_produce, g_consume;
static const int kN = 2048;

static void produce(CUstream s, CUdeviceptr data, int v) {
  int n = kN;
  unsigned long long ns = 10ull * 1000 * 1000;
  void* params[] = {&data, &v, &n, &ns};
  CHECK(cuLaunchKernel(g_produce, kN / 256, 1, 1, 256, 1, 1, 0, s, params, nullptr));
}

static void consume(CUstream s, CUdeviceptr out, CUdeviceptr data) {
  int n = kN;
  void* params[] = {&out, &data, &n};
  CHECK(cuLaunchKernel(g_consume, kN / 256, 1, 1, 256, 1, 1, 0, s, params, nullptr));
}

static void expect_out(const char* label, CUdeviceptr out, int v) {
  std::vector<int> h(kN);
  CHECK(cuMemcpyDtoH(h.data(), out, kN * sizeof(int)));
  for (int i = 0; i < kN; ++i) EXPECT(h[i] == 2 * (v + i));
  std::printf("%s: consumer saw the producer's data (out[0]=%d out[%d]=%d)\n", label, h[0], kN - 1,
              h[kN - 1]);
}

int main() {
  CUdevice dev;
  init_primary(&dev);
  CUmodule mod;
  CHECK(cuModuleLoadData(&mod, drv_cubin));
  CHECK(cuModuleGetFunction(&g_produce, mod, "produce"));
  CHECK(cuModuleGetFunction(&g_consume, mod, "consume"));
  int can64 = 0, nor = 0;
  CHECK(cuDeviceGetAttribute(&can64, CU_DEVICE_ATTRIBUTE_CAN_USE_64_BIT_STREAM_MEM_OPS, dev));
  CHECK(cuDeviceGetAttribute(&nor, CU_DEVICE_ATTRIBUTE_CAN_USE_STREAM_WAIT_VALUE_NOR, dev));
  std::printf("can_use_64_bit_stream_mem_ops=%d can_use_wait_value_nor=%d\n", can64, nor);

  CUstream a, b;
  CHECK(cuStreamCreate(&a, CU_STREAM_NON_BLOCKING));
  CHECK(cuStreamCreate(&b, CU_STREAM_NON_BLOCKING));
  CUdeviceptr flag32, flag64, data, out;
  CHECK(cuMemAlloc(&flag32, 64));
  CHECK(cuMemAlloc(&flag64, 64));
  CHECK(cuMemAlloc(&data, kN * sizeof(int)));
  CHECK(cuMemAlloc(&out, kN * sizeof(int)));
  CHECK(cuMemsetD8(flag32, 0, 64));
  CHECK(cuMemsetD8(flag64, 0, 64));
  CHECK(cuCtxSynchronize());

  // Round 1, 32-bit GEQ: b waits for flag >= 1 before a's producer is even enqueued.
  CHECK(cuStreamWaitValue32(b, flag32, 1, CU_STREAM_WAIT_VALUE_GEQ));
  consume(b, out, data);
  produce(a, data, 100);
  CHECK(cuStreamWriteValue32(a, flag32, 1, CU_STREAM_WRITE_VALUE_DEFAULT));
  CHECK(cuStreamSynchronize(b));
  CHECK(cuStreamSynchronize(a));
  expect_out("wait32_geq", out, 100);

  // Round 2, 32-bit EQ then AND on the same flag.
  CHECK(cuStreamWaitValue32(b, flag32, 2, CU_STREAM_WAIT_VALUE_EQ));
  CHECK(cuStreamWaitValue32(b, flag32, 0x2, CU_STREAM_WAIT_VALUE_AND));
  consume(b, out, data);
  produce(a, data, 200);
  CHECK(cuStreamWriteValue32(a, flag32, 2, CU_STREAM_WRITE_VALUE_DEFAULT));
  CHECK(cuCtxSynchronize());
  expect_out("wait32_eq_and", out, 200);

  // Round 3, 64-bit: a value above 2^32.
  const cuuint64_t big = 0x100000005ull;
  CHECK(cuStreamWaitValue64(b, flag64, big, CU_STREAM_WAIT_VALUE_EQ));
  consume(b, out, data);
  produce(a, data, 300);
  CHECK(cuStreamWriteValue64(a, flag64, big, CU_STREAM_WRITE_VALUE_DEFAULT));
  CHECK(cuCtxSynchronize());
  expect_out("wait64_eq", out, 300);

  // Round 4, a batch on a: write 32 at flag32+8, write 64 at flag64+8, then a wait 32 on the
  // flag that b writes after its producer, and a barrier; then a's consumer.
  CUstreamBatchMemOpParams ops[4];
  std::memset(ops, 0, sizeof ops);
  ops[0].writeValue.operation = CU_STREAM_MEM_OP_WRITE_VALUE_32;
  ops[0].writeValue.address = flag32 + 8;
  ops[0].writeValue.value = 0xABCD1234u;
  ops[0].writeValue.flags = CU_STREAM_WRITE_VALUE_DEFAULT;
  ops[1].writeValue.operation = CU_STREAM_MEM_OP_WRITE_VALUE_64;
  ops[1].writeValue.address = flag64 + 8;
  ops[1].writeValue.value64 = 0x0123456789ABCDEFull;
  ops[1].writeValue.flags = CU_STREAM_WRITE_VALUE_DEFAULT;
  ops[2].waitValue.operation = CU_STREAM_MEM_OP_WAIT_VALUE_32;
  ops[2].waitValue.address = flag32 + 16;
  ops[2].waitValue.value = 4;
  ops[2].waitValue.flags = CU_STREAM_WAIT_VALUE_GEQ;
  ops[3].memoryBarrier.operation = CU_STREAM_MEM_OP_BARRIER;
  ops[3].memoryBarrier.flags = CU_STREAM_MEMORY_BARRIER_TYPE_GPU;
  CHECK(cuStreamBatchMemOp(a, 4, ops, 0));
  consume(a, out, data);
  produce(b, data, 400);
  CHECK(cuStreamWriteValue32(b, flag32 + 16, 4, CU_STREAM_WRITE_VALUE_DEFAULT));
  CHECK(cuCtxSynchronize());
  expect_out("batch_wait32", out, 400);

  uint32_t f32[16];
  uint64_t f64[8];
  CHECK(cuMemcpyDtoH(f32, flag32, sizeof f32));
  CHECK(cuMemcpyDtoH(f64, flag64, sizeof f64));
  std::printf("flag32[0]=%u flag32[2]=0x%08x flag32[4]=%u flag64[0]=0x%llx flag64[1]=0x%016llx\n",
              f32[0], f32[2], f32[4], static_cast<unsigned long long>(f64[0]),
              static_cast<unsigned long long>(f64[1]));
  EXPECT(f32[0] == 2 && f32[2] == 0xABCD1234u && f32[4] == 4 && f64[0] == big &&
         f64[1] == 0x0123456789ABCDEFull);

  for (CUdeviceptr p : {flag32, flag64, data, out}) CHECK(cuMemFree(p));
  CHECK(cuStreamDestroy(a));
  CHECK(cuStreamDestroy(b));
  CHECK(cuModuleUnload(mod));
  CHECK(cuDevicePrimaryCtxRelease(dev));
  std::printf("stream_memops PASS\n");
  return 0;
}
#endif
