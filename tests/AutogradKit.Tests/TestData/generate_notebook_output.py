#!/usr/bin/python3
# Generates notebook-output.txt: `/usr/bin/python3 generate_notebook_output.py > notebook-output.txt`.
# Runs the cells of the autograd tutorial notebook (autograd-tutorial-notebook.txt, beside this file) in real
# PyTorch with torch.manual_seed(0) and prints what each cell shows; object addresses are masked.
import re, torch
torch.manual_seed(0)

def show(s):
    print(re.sub(r" object at 0x[0-9a-f]+", " object", str(s)))

x = torch.ones(5)
y = torch.zeros(3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)

show(f"Gradient function for z = {z.grad_fn}")
show(f"Gradient function for loss = {loss.grad_fn}")
loss.backward()
show(w.grad)
show(b.grad)
try:
    loss.backward()
except RuntimeError as e:
    show(f"RuntimeError: {str(e).splitlines()[0]}")

z1 = torch.matmul(x, w) + b
show(z1.requires_grad)
with torch.no_grad():
    z2 = torch.matmul(x, w) + b
    show(z2.requires_grad)
z3 = torch.matmul(x, w) + b
z_det = z3.detach()
show(z_det.requires_grad)

inp = torch.eye(5, requires_grad=True)
out = (inp + 1).pow(2)
out.backward(torch.ones_like(inp), retain_graph=True)
show(f"First call\n{inp.grad}")
out.backward(torch.ones_like(inp), retain_graph=True)
show(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(inp), retain_graph=True)
show(f"\nCall after zeroing gradients\n{inp.grad}")
