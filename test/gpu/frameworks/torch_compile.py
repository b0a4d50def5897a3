#!/usr/bin/env python3
# torch_compile.py: torch.compile, whose inductor backend writes Triton kernels, compiles them
# to cubins and loads them through the driver API (cuModuleLoadData, cuLaunchKernel).
import os
import tempfile

# A cache of its own, so that both runs compile (a warm cache would skip the loads).
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="inductor-"))
os.environ.setdefault("TRITON_CACHE_DIR", tempfile.mkdtemp(prefix="triton-"))
import torch  # noqa: E402

from results import Results  # noqa: E402

r = Results()
torch.manual_seed(0)
dev = torch.device("cuda")


def fused(x, y):
    return torch.nn.functional.gelu(x * y + x.sin()).sum(dim=-1)


compiled = torch.compile(fused)
x = torch.randn(1024, 512, device=dev)
y = torch.randn(1024, 512, device=dev)
r.array("compiled_pointwise_reduce", compiled(x, y).cpu(), rtol=1e-4, atol=1e-4)
r.array("eager_pointwise_reduce", fused(x, y).cpu(), rtol=1e-4, atol=1e-4)

net = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256)).to(dev)
cnet = torch.compile(net)
inp = torch.randn(64, 256, device=dev)
r.array("compiled_mlp", cnet(inp).detach().cpu(), rtol=1e-3, atol=1e-4)
r.dump()
