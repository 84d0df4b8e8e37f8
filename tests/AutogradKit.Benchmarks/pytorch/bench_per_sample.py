"""(g) PyTorch 1.13 + functorch: per-sample gradients of a 32->64->10 tanh MLP with cross-entropy, batch 64
(PerSampleGradientBenchmarks.cs), the loss written over the parameters as make_functional does: vmap(grad(loss))
over the batch, a loop of 64 grad calls, stacked, and vmap(grad) of the same loss written as -log_softmax(z)[y]."""
import torch
import torch.nn.functional as F
from functorch import grad, vmap

from _timing import run


def cases():
    w1, b1 = torch.randn(64, 32) * 0.1, torch.zeros(64)
    w2, b2 = torch.randn(10, 64) * 0.1, torch.zeros(10)
    x, y = torch.randn(64, 32), torch.randint(0, 10, (64,))

    def loss(w1, b1, w2, b2, x, y):
        logits = w2 @ torch.tanh(w1 @ x + b1) + b2
        return F.cross_entropy(logits.unsqueeze(0), y.unsqueeze(0))

    def loss_by_gather(w1, b1, w2, b2, x, y):
        logits = w2 @ torch.tanh(w1 @ x + b1) + b2
        return -F.log_softmax(logits, 0).gather(0, y.unsqueeze(0)).squeeze(0)

    per_sample = vmap(grad(loss), in_dims=(None, None, None, None, 0, 0))
    per_sample_gather = vmap(grad(loss_by_gather), in_dims=(None, None, None, None, 0, 0))
    g = grad(loss)

    def loop():
        return torch.stack([g(w1, b1, w2, b2, x[i], y[i]) for i in range(64)])

    assert torch.allclose(per_sample(w1, b1, w2, b2, x, y), loop(), rtol=1e-4, atol=1e-6)
    yield "per_sample_vmap_grad", lambda: per_sample(w1, b1, w2, b2, x, y)
    yield "per_sample_loop_of_grad", loop
    yield "per_sample_vmap_grad_gather", lambda: per_sample_gather(w1, b1, w2, b2, x, y)


if __name__ == "__main__":
    run("functorch per-sample gradients", cases)
