#!/usr/bin/env python3
# torch_ops.py: PyTorch's everyday CUDA work: tensor ops, matmul in fp32/bf16/fp16 (cuBLAS and
# cuBLASLt), convolution (cuDNN), autograd and an optimiser, memory queries and statistics,
# streams and events, and a CUDA graph captured and replayed.
import torch

from results import Results

r = Results()
torch.manual_seed(0)
torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False
dev = torch.device("cuda")

r.fact("cuda_available", torch.cuda.is_available())
r.fact("device_count", torch.cuda.device_count())
r.fact("capability", list(torch.cuda.get_device_capability(0)))
r.fact("name_has_h200", "H200" in torch.cuda.get_device_name(0))

# Element-wise and reductions.
x = torch.randn(1 << 20, device=dev)
y = torch.randn(1 << 20, device=dev)
r.array("elementwise", (torch.sin(x) * y + x.exp().clamp(max=10)).cpu())
r.array("reductions", torch.stack([x.sum(), x.abs().max(), y.mean(), (x * y).sum(), x.std()]).cpu(), rtol=1e-4)
r.array("cumsum", torch.cumsum(x[:4096], 0).cpu(), rtol=1e-4, atol=1e-4)
r.array("sort", torch.sort(x[:65536]).values.cpu())
r.array("topk", torch.topk(y, 16).values.cpu())

# Matmul in three precisions.
a = torch.randn(1024, 512, device=dev)
b = torch.randn(512, 768, device=dev)
r.array("matmul_fp32", (a @ b).cpu(), rtol=1e-4, atol=1e-3)
r.array("matmul_bf16", (a.bfloat16() @ b.bfloat16()).float().cpu(), rtol=2e-2, atol=0.25)
r.array("matmul_fp16", (a.half() @ b.half()).float().cpu(), rtol=2e-3, atol=0.05)
r.array("baddbmm", torch.baddbmm(torch.zeros(4, 64, 64, device=dev), a[:128, :128].reshape(4, 64, 64), b[:128, :128].reshape(4, 64, 64)).cpu(), rtol=1e-4, atol=1e-3)
r.array("linear_bias_fp16", torch.nn.functional.linear(a.half(), b.t().half(), torch.ones(768, device=dev, dtype=torch.half)).float().cpu(), rtol=2e-3, atol=0.05)

# Convolution through cuDNN, forward and backward.
conv = torch.nn.Conv2d(3, 16, 3, padding=1).to(dev)
img = torch.randn(8, 3, 32, 32, device=dev, requires_grad=True)
out = conv(img)
out.square().mean().backward()
r.array("conv_forward", out.detach().cpu(), rtol=1e-4, atol=1e-4)
r.array("conv_weight_grad", conv.weight.grad.cpu(), rtol=1e-3, atol=1e-5)
r.array("conv_input_grad", img.grad.cpu(), rtol=1e-3, atol=1e-6)
with torch.autocast("cuda", dtype=torch.bfloat16):
    r.array("conv_bf16", conv(img).float().detach().cpu(), rtol=2e-2, atol=2e-2)

# Autograd and an optimiser: a small network trained for a few steps.
net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.GELU(), torch.nn.LayerNorm(128), torch.nn.Linear(128, 10)).to(dev)
opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
data = torch.randn(256, 64, device=dev)
target = torch.randint(0, 10, (256,), device=dev)
losses = []
for _ in range(20):
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(net(data), target)
    loss.backward()
    opt.step()
    losses.append(loss.item())
r.array("train_losses", losses, rtol=1e-4, atol=1e-5)

# Memory: what the device reports, and the caching allocator's statistics.
free, total = torch.cuda.mem_get_info()
r.fact("mem_get_info_sane", 0 < free <= total)
torch.cuda.synchronize()
before = torch.cuda.memory_allocated()
block = torch.empty(64 << 20, dtype=torch.uint8, device=dev)
r.fact("memory_allocated_delta", torch.cuda.memory_allocated() - before)
del block
stats = torch.cuda.memory_stats()
r.fact("memory_stats_has_peak", stats["allocated_bytes.all.peak"] > 0)
torch.cuda.empty_cache()

# Streams and events: work on two streams joined by an event.
s1, s2 = torch.cuda.Stream(), torch.cuda.Stream()
start, done = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
start.record()
with torch.cuda.stream(s1):
    p = (a @ b).relu()
    e = torch.cuda.Event()
    e.record(s1)
with torch.cuda.stream(s2):
    s2.wait_event(e)
    q = p.sum(dim=0)
torch.cuda.current_stream().wait_stream(s2)
done.record()
done.synchronize()
r.fact("elapsed_positive", start.elapsed_time(done) > 0)
r.array("two_streams", q.cpu(), rtol=1e-4, atol=1e-2)

# A CUDA graph: captured once, replayed with new inputs.
static_in = torch.randn(512, 512, device=dev)
weight = torch.randn(512, 512, device=dev)
side = torch.cuda.Stream()
side.wait_stream(torch.cuda.current_stream())
with torch.cuda.stream(side):
    for _ in range(3):  # warm up on a side stream, as PyTorch asks
        static_out = (static_in @ weight).tanh()
torch.cuda.current_stream().wait_stream(side)
graph = torch.cuda.CUDAGraph()
with torch.cuda.graph(graph):
    static_out = (static_in @ weight).tanh()
replays = []
for i in range(5):
    static_in.copy_(torch.full((512, 512), 0.01 * i, device=dev) + static_in * 0.5)
    graph.replay()
    replays.append(static_out.sum().item())
r.array("graph_replays", replays, rtol=1e-3, atol=1e-2)

r.dump()
