#!/usr/bin/env python3
# torch_multi_gpu.py: tensors on two GPUs of one tenant: copies between them (peer access where
# the GPUs have it), work on each, a model split across both, trained with autograd. On a
# machine or tenant with one GPU it says so and checks nothing more.
import torch

from results import Results

r = Results()
count = torch.cuda.device_count()
r.fact("two_gpus", count >= 2)
if count >= 2:
    torch.manual_seed(0)
    d0, d1 = torch.device("cuda:0"), torch.device("cuda:1")
    r.fact("peer_access", torch.cuda.can_device_access_peer(0, 1))
    x = torch.randn(4096, 1024, device=d0)
    y = x.to(d1)  # a copy between the GPUs
    r.array("copied", (y * 2).sum(dim=0).cpu(), rtol=1e-5, atol=1e-4)
    w0 = torch.randn(1024, 1024, device=d0)
    w1 = w0.to(d1)
    r.array("same_matmul_both", ((x @ w0).cpu() - (y @ w1).cpu()).abs().max().reshape(1), rtol=0, atol=1e-3)
    with torch.cuda.device(1):
        s = torch.cuda.Stream()
        with torch.cuda.stream(s):
            z = (y @ w1).relu().sum()
        s.synchronize()
    r.array("stream_on_gpu1", [z.item()], rtol=1e-4)

    first = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU()).to(d0)
    second = torch.nn.Linear(512, 10).to(d1)
    opt = torch.optim.SGD(list(first.parameters()) + list(second.parameters()), lr=0.05)
    data = torch.randn(128, 256, device=d0)
    target = torch.randint(0, 10, (128,), device=d1)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(second(first(data).to(d1)), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    r.array("split_model_losses", losses, rtol=1e-4, atol=1e-5)
r.dump()
