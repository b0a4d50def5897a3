#!/usr/bin/env python3
# jax_mlp.py: JAX on its CUDA backend (falling back to the CPU is a failure): jit of a small
# MLP's training step, run for some steps.
import jax
import jax.numpy as jnp
import numpy as np

from results import Results

r = Results()
r.fact("backend", jax.default_backend())
r.fact("devices", [d.platform for d in jax.devices()])


def init(key, sizes):
    params = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        key, k = jax.random.split(key)
        params.append((jax.random.normal(k, (m, n)) / np.sqrt(m), jnp.zeros(n)))
    return params


def forward(params, x):
    for w, b in params[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def loss(params, x, y):
    return jnp.mean((forward(params, x) - y) ** 2)


@jax.jit
def step(params, x, y):
    value, grads = jax.value_and_grad(loss)(params, x, y)
    return [(w - 0.05 * gw, b - 0.05 * gb) for (w, b), (gw, gb) in zip(params, grads)], value


key = jax.random.PRNGKey(0)
params = init(key, [32, 64, 64, 1])
x = jax.random.normal(jax.random.PRNGKey(1), (512, 32))
y = jnp.sin(x.sum(axis=1, keepdims=True))
losses = []
for _ in range(30):
    params, value = step(params, x, y)
    losses.append(float(value))
r.array("losses", losses, rtol=1e-3, atol=1e-5)
r.array("dot_highest", np.asarray(jnp.dot(x, x.T, precision=jax.lax.Precision.HIGHEST)), rtol=1e-4, atol=1e-3)
r.dump()
