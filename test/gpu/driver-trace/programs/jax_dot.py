# jax_dot.py: JAX on its CUDA backend: jnp.dot of integer-valued float32 matrices (exact at
# HIGHEST precision), waited for with block_until_ready. Prints only deterministic values.
import jax
import numpy as np
import jax.numpy as jnp

print("backend", jax.default_backend())
a = (jnp.arange(256 * 256, dtype=jnp.float32) % 7).reshape(256, 256)
b = (jnp.arange(256 * 256, dtype=jnp.float32) % 5).reshape(256, 256)
c = jnp.dot(a, b, precision=jax.lax.Precision.HIGHEST).block_until_ready()
h = np.asarray(c).astype(np.float64)
print("sum", int(h.sum()), "c00", int(h[0, 0]))
print("ok")
