#!/usr/bin/env python3
# numba_kernels.py: numba-cuda: a @cuda.jit kernel, device arrays, a shared-memory reduction
# and streams.
import numpy as np

# This machine's numba-cuda still names np.row_stack, which its numpy (2.4) has removed; the alias
# lets numba-cuda load at all, natively as through vgpu.
if not hasattr(np, "row_stack"):
    np.row_stack = np.vstack
from numba import cuda, float32  # noqa: E402

from results import Results

r = Results()
r.fact("detected", cuda.is_available())
r.fact("capability", list(cuda.get_current_device().compute_capability))


@cuda.jit
def axpy(a, x, y, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = a * x[i] + y[i]


@cuda.jit
def block_sums(x, out):
    buf = cuda.shared.array(256, dtype=float32)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    buf[t] = x[i] if i < x.size else 0.0
    cuda.syncthreads()
    s = 128
    while s > 0:
        if t < s:
            buf[t] += buf[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        out[cuda.blockIdx.x] = buf[0]


rng = np.random.default_rng(3)
x = rng.standard_normal(1 << 20).astype(np.float32)
y = rng.standard_normal(1 << 20).astype(np.float32)
dx, dy = cuda.to_device(x), cuda.to_device(y)
dout = cuda.device_array_like(dx)
axpy[(x.size + 255) // 256, 256](np.float32(2.5), dx, dy, dout)
r.array("axpy", dout.copy_to_host())

sums = cuda.device_array((x.size + 255) // 256, dtype=np.float32)
block_sums[sums.size, 256](dx, sums)
r.array("block_sums", sums.copy_to_host(), rtol=1e-4, atol=1e-4)

stream = cuda.stream()
hx = cuda.pinned_array(4096, dtype=np.float32)
hx[:] = x[:4096]
d = cuda.to_device(hx, stream=stream)
o = cuda.device_array(4096, dtype=np.float32, stream=stream)
axpy[16, 256, stream](np.float32(-1.0), d, d, o)
res = o.copy_to_host(stream=stream)
stream.synchronize()
r.array("stream_axpy", res)
free, total = cuda.current_context().get_memory_info()
r.fact("mem_info_sane", 0 < free <= total)
r.dump()
