# cupy_dot.py: CuPy: an elementwise kernel (compiled at run time through NVRTC) and a dot
# product (cuBLAS), brought back with asnumpy. Prints only deterministic values.
import cupy as cp

a = (cp.arange(256 * 256, dtype=cp.float32) % 7).reshape(256, 256)
b = (cp.arange(256 * 256, dtype=cp.float32) % 5).reshape(256, 256)
c = cp.dot(a * 2 + 1, b)
h = cp.asnumpy(c)
print("sum", int(h.astype("float64").sum()), "c00", int(h[0, 0]))
print("ok")
