#!/usr/bin/env python3
# cases.py CASE (or BENCH_CASE=CASE cases.py): one framework benchmark case, run once; prints one JSON line
# {"case": ..., "value": ..., "unit": ..., "higher_is_better": ...}. run-frameworks-bench.sh runs
# each case natively and through vgpu, alternately, and summarize.py compares them.
#
#   gemm         a large bf16 GEMM (8192^3), TFLOP/s
#   gpt_train    a GPT-2-small-shaped training step (batch 8 x 256 tokens, bf16 autocast, AdamW), steps/s
#   decode_eager token-by-token decoding of the same shape at batch 1 with a static KV cache, tokens/s
#   decode_graph the same decoding step captured once in a CUDA graph and replayed, tokens/s
#   first_call   seconds from a process's first CUDA call to a finished cuBLAS GEMM and cuDNN
#                convolution (context creation and the libraries' module loads)
import json
import math
import sys
import time

import torch

N_LAYER, N_EMBD, N_HEAD, VOCAB, MAX_LEN = 12, 768, 12, 50257, 1024


def emit(case, value, unit, higher_is_better=True):
    print(json.dumps({"case": case, "value": value, "unit": unit, "higher_is_better": higher_is_better}), flush=True)


def timed(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t0


def gemm():
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    # 30 products (40 ms) after 5 were too few: whichever side ran second in a round was 2-4 %
    # faster, the GPU's clocks still rising. 300 after 100 take about half a second.
    seconds = timed(lambda: a @ b, iters=300, warmup=100)
    emit("gemm", 2 * 8192**3 * 300 / seconds / 1e12, "TFLOP/s")


def gpt_train():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=N_LAYER, n_embd=N_EMBD, n_head=N_HEAD, vocab_size=VOCAB)).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    tokens = torch.randint(0, VOCAB, (8, 256), device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(tokens, labels=tokens).loss
        loss.backward()
        opt.step()

    # Warmed up long enough that the GPU's clocks and the allocator have settled: with 3 warm-up
    # steps, whichever side ran first in a round was up to 40% slower.
    seconds = timed(step, iters=30, warmup=10)
    emit("gpt_train", 30 / seconds, "steps/s")


class Decoder(torch.nn.Module):
    """GPT-2's decoding step for one token at batch 1, over a static KV cache: the position is a
    device tensor, so that the same step can be captured in a CUDA graph and replayed."""

    def __init__(self):
        super().__init__()
        self.wte = torch.nn.Embedding(VOCAB, N_EMBD)
        self.wpe = torch.nn.Embedding(MAX_LEN, N_EMBD)
        self.ln1 = torch.nn.ModuleList(torch.nn.LayerNorm(N_EMBD) for _ in range(N_LAYER))
        self.qkv = torch.nn.ModuleList(torch.nn.Linear(N_EMBD, 3 * N_EMBD) for _ in range(N_LAYER))
        self.proj = torch.nn.ModuleList(torch.nn.Linear(N_EMBD, N_EMBD) for _ in range(N_LAYER))
        self.ln2 = torch.nn.ModuleList(torch.nn.LayerNorm(N_EMBD) for _ in range(N_LAYER))
        self.fc = torch.nn.ModuleList(torch.nn.Linear(N_EMBD, 4 * N_EMBD) for _ in range(N_LAYER))
        self.out = torch.nn.ModuleList(torch.nn.Linear(4 * N_EMBD, N_EMBD) for _ in range(N_LAYER))
        self.lnf = torch.nn.LayerNorm(N_EMBD)
        hd = N_EMBD // N_HEAD
        self.register_buffer("k", torch.zeros(N_LAYER, N_HEAD, MAX_LEN, hd))
        self.register_buffer("v", torch.zeros(N_LAYER, N_HEAD, MAX_LEN, hd))
        self.register_buffer("positions", torch.arange(MAX_LEN))

    def forward(self, token, pos):  # token: [1] int64, pos: [1] int64, both on the GPU
        hd = N_EMBD // N_HEAD
        x = self.wte(token) + self.wpe(pos)  # [1, E]
        mask = (self.positions <= pos).view(1, 1, MAX_LEN)
        for i in range(N_LAYER):
            q, k, v = self.qkv[i](self.ln1[i](x)).split(N_EMBD, dim=-1)
            self.k[i].index_copy_(1, pos, k.view(N_HEAD, 1, hd))
            self.v[i].index_copy_(1, pos, v.view(N_HEAD, 1, hd))
            att = (q.view(N_HEAD, 1, hd) @ self.k[i].transpose(1, 2)) / math.sqrt(hd)
            att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            x = x + self.proj[i]((att @ self.v[i]).view(1, N_EMBD))
            x = x + self.out[i](torch.nn.functional.gelu(self.fc[i](self.ln2[i](x))))
        logits = self.lnf(x) @ self.wte.weight.t()
        return logits.argmax(dim=-1)


def decode(use_graph):
    torch.manual_seed(0)
    model = Decoder().cuda().eval()
    token = torch.zeros(1, dtype=torch.long, device="cuda")
    pos = torch.zeros(1, dtype=torch.long, device="cuda")
    steps = 200
    with torch.no_grad():
        if not use_graph:
            def run():
                for p in range(steps):
                    pos.fill_(p)
                    token.copy_(model(token, pos))
        else:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    model(token, pos)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                nxt = model(token, pos)

            def run():
                for p in range(steps):
                    pos.fill_(p)
                    graph.replay()
                    token.copy_(nxt)
        seconds = timed(run, iters=3, warmup=2)
    emit("decode_graph" if use_graph else "decode_eager", 3 * steps / seconds, "tokens/s")


def first_call():
    t0 = time.perf_counter()
    a = torch.randn(256, 256, device="cuda")
    (a @ a).sum().item()  # cuBLAS
    conv = torch.nn.Conv2d(3, 8, 3).cuda()
    conv(torch.randn(1, 3, 32, 32, device="cuda")).sum().item()  # cuDNN
    torch.cuda.synchronize()
    emit("first_call", time.perf_counter() - t0, "s", higher_is_better=False)


CASES = {"gemm": gemm, "gpt_train": gpt_train, "decode_eager": lambda: decode(False),
         "decode_graph": lambda: decode(True), "first_call": first_call}

if __name__ == "__main__":
    # The case comes as an argument or, from run-frameworks-bench.sh (whose runner passes
    # environment only), as BENCH_CASE.
    import os

    case = sys.argv[1] if len(sys.argv) == 2 else os.environ.get("BENCH_CASE", "")
    if case not in CASES:
        print(f"usage: cases.py {{{','.join(CASES)}}}", file=sys.stderr)
        sys.exit(2)
    CASES[case]()
