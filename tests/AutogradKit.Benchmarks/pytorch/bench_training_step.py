"""(a) The autograd tutorial's training step: forward, BCE-with-logits loss, backward, no-grad SGD, zero grads."""
import torch
import torch.nn.functional as F

from _timing import run, setup_torch


def cases():
    setup_torch()
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    lr = 1e-3

    def step():
        nonlocal w, b
        z = torch.matmul(x, w) + b
        loss = F.binary_cross_entropy_with_logits(z, y)
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()

    step()  # creates .grad once, as the .NET warm-up does
    yield "training_step", step


if __name__ == "__main__":
    run("training step", cases)
