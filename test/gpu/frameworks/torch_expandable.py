#!/usr/bin/env python3
# torch_expandable.py: PyTorch's expandable-segments allocator, which grows one segment with the
# driver's virtual memory calls (cuMemAddressReserve, cuMemCreate, cuMemMap, cuMemSetAccess) and
# gives memory back with cuMemUnmap/cuMemRelease.
import os

os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"
import torch  # noqa: E402

from results import Results  # noqa: E402

r = Results()
torch.manual_seed(0)
dev = torch.device("cuda")
blocks = []
sums = []
for i in range(12):  # growing allocations: the segment grows by mapping more memory
    t = torch.full(((i + 1) << 20,), float(i), device=dev)
    blocks.append(t)
    sums.append(float(t.sum().item()))
r.array("growing_sums", sums, rtol=1e-6)
reserved_grown = torch.cuda.memory_reserved()
del blocks[::2]
torch.cuda.empty_cache()  # unmaps what it can
r.fact("reserved_shrank", torch.cuda.memory_reserved() < reserved_grown)
r.array("survivors", [float(t[-1].item()) for t in blocks])
a = torch.randn(2048, 2048, device=dev)
r.array("matmul_after_remap", (a @ a).sum(dim=0).cpu(), rtol=1e-3, atol=1e-2)
r.fact("segments_expandable", any(s.get("is_expandable", False) for s in torch.cuda.memory_snapshot()))
r.dump()
