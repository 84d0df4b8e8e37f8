"""(e) torch.autograd.functional.jacobian / hessian of a 64->64 two-layer tanh network, (f) one
torch.autograd.grad of its sum, and (g) functional.jvp of it along a fixed v.

f(x) = tanh(W2 @ tanh(W1 @ x + b1) + b2), written as x @ W1.T so that it also accepts a batch of rows;
the Hessian is of the scalar sum(f(x)), since hessian needs a scalar function.
"""
import torch
from torch.autograd.functional import hessian, jacobian, jvp

from _timing import run


def cases():
    g = torch.Generator().manual_seed(0)
    n = 64
    w1 = torch.randn(n, n, generator=g) / n ** 0.5
    b1 = torch.randn(n, generator=g)
    w2 = torch.randn(n, n, generator=g) / n ** 0.5
    b2 = torch.randn(n, generator=g)
    x = torch.randn(n, generator=g)
    w1t, w2t = w1.t().contiguous(), w2.t().contiguous()

    def f(v):
        return torch.tanh(torch.tanh(v @ w1t + b1) @ w2t + b2)

    def g_sum(v):
        return f(v).sum()

    assert jacobian(f, x).shape == (n, n)
    assert torch.allclose(jacobian(f, x), jacobian(f, x, vectorize=True), atol=1e-6)
    assert hessian(g_sum, x).shape == (n, n)

    xg = x.clone().requires_grad_(True)

    def grad_of_sum():
        return torch.autograd.grad(f(xg).sum(), xg)[0]

    yield "grad_64", grad_of_sum
    yield "jacobian_64", lambda: jacobian(f, x)
    yield "jacobian_64_vectorize", lambda: jacobian(f, x, vectorize=True)
    yield "hessian_64", lambda: hessian(g_sum, x)
    yield "hessian_64_vectorize", lambda: hessian(g_sum, x, vectorize=True)
    v = torch.linspace(-1, 1, n)
    yield "jvp_64", lambda: jvp(f, x, v)


if __name__ == "__main__":
    run("autograd.functional", cases)
