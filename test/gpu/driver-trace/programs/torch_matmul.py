# torch_matmul.py: PyTorch on CUDA: a float32 matmul of integer-valued matrices (exact) and the
# result brought back with .cpu(). Prints only deterministic values.
import torch

print("cuda_available", torch.cuda.is_available())
a = (torch.arange(256 * 256, dtype=torch.float32) % 7).reshape(256, 256).cuda()
b = (torch.arange(256 * 256, dtype=torch.float32) % 5).reshape(256, 256).cuda()
c = (a @ b).cpu()
print("sum", int(c.double().sum().item()), "c00", int(c[0, 0].item()))
print("ok")
