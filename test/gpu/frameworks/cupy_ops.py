#!/usr/bin/env python3
# cupy_ops.py: CuPy: element-wise kernels, reductions, cuBLAS, cuFFT, a RawKernel and the memory
# pool.
import cupy as cp
import numpy as np

from results import Results

r = Results()
rs = cp.random.RandomState(seed=1)
r.fact("device_count", cp.cuda.runtime.getDeviceCount())
r.fact("capability", cp.cuda.Device(0).compute_capability)

x = rs.standard_normal(1 << 20, dtype=cp.float32)
y = rs.standard_normal(1 << 20, dtype=cp.float32)
r.array("elementwise", cp.asnumpy(cp.sin(x) * y + cp.exp(cp.minimum(x, 2))))
r.array("reductions", [float(x.sum()), float(cp.abs(x).max()), float(y.mean()), float(cp.dot(x, y))], rtol=1e-4)
r.array("argsort_head", cp.asnumpy(cp.argsort(x[:4096])[:32]).astype(np.float64), rtol=0, atol=0)

a = rs.standard_normal((512, 256), dtype=cp.float32)
b = rs.standard_normal((256, 384), dtype=cp.float32)
r.array("gemm_fp32", cp.asnumpy(a @ b), rtol=1e-4, atol=1e-3)
r.array("gemm_fp64", cp.asnumpy(a.astype(cp.float64) @ b.astype(cp.float64)), rtol=1e-10, atol=1e-9)
r.array("fft", cp.asnumpy(cp.abs(cp.fft.fft(x[:65536]))), rtol=1e-4, atol=1e-2)
r.array("rfft2", cp.asnumpy(cp.abs(cp.fft.rfft2(a))), rtol=1e-4, atol=1e-3)

square_add = cp.RawKernel(r'''
extern "C" __global__ void square_add(const float* x, const float* y, float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = x[i] * x[i] + y[i];
}''', "square_add")
out = cp.empty_like(x)
square_add(((x.size + 255) // 256,), (256,), (x, y, out, cp.int32(x.size)))
r.array("raw_kernel", cp.asnumpy(out))

ew = cp.ElementwiseKernel("float32 a, float32 b", "float32 c", "c = a > b ? a - b : b - a", "absdiff")
r.array("elementwise_kernel", cp.asnumpy(ew(x, y)))
red = cp.ReductionKernel("float32 v", "float32 norm", "v * v", "a + b", "norm = sqrt(a)", "0", "l2norm")
r.array("reduction_kernel", [float(red(x))], rtol=1e-4)

pool = cp.get_default_memory_pool()
blocks = [cp.zeros(1 << 22, dtype=cp.uint8) for _ in range(4)]
r.fact("pool_used_at_least", pool.used_bytes() >= 4 << 22)
del blocks
pool.free_all_blocks()
free, total = cp.cuda.runtime.memGetInfo()
r.fact("mem_info_sane", 0 < free <= total)

stream = cp.cuda.Stream(non_blocking=True)
with stream:
    z = cp.cumsum(x[:4096])
stream.synchronize()
r.array("stream_cumsum", cp.asnumpy(z), rtol=1e-4, atol=1e-3)
r.dump()
