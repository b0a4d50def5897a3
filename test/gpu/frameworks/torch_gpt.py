#!/usr/bin/env python3
# torch_gpt.py: a GPT-2-small-shaped model (12 layers, 768 wide, 12 heads) built from its
# configuration with seeded random weights, trained for some steps in bf16 autocast with AdamW
# on seeded random tokens. The loss curve must match native within bf16's tolerance.
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from results import Results

r = Results()
torch.manual_seed(0)
torch.backends.cuda.matmul.allow_tf32 = False
dev = torch.device("cuda")
config = GPT2Config(n_layer=12, n_embd=768, n_head=12, n_positions=1024, vocab_size=50257)
model = GPT2LMHeadModel(config).to(dev)
opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
gen = torch.Generator(device="cpu").manual_seed(1)
tokens = torch.randint(0, config.vocab_size, (8, 257), generator=gen).to(dev)
losses = []
for step in range(12):
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(tokens[:, :-1], labels=tokens[:, :-1])
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    losses.append(out.loss.item())
r.array("losses", losses, rtol=2e-2, atol=2e-2)
r.fact("loss_decreased", losses[-1] < losses[0])
r.dump()
