"""PyTorch 1.13 + functorch: per-sample gradients of a 32→64→10 tanh MLP, batch 64 (PerSampleGradientBenchmarks.cs).

Run: /usr/bin/python3 bench_per_sample.py   (one thread; median of timeit repeats, microseconds).
"""
import timeit
import torch
import torch.nn.functional as F
from functorch import vmap, grad

torch.set_num_threads(1)
torch.manual_seed(0)
w1, b1 = torch.randn(64, 32) * 0.1, torch.zeros(64)
w2, b2 = torch.randn(10, 64) * 0.1, torch.zeros(10)
x, y = torch.randn(64, 32), torch.randint(0, 10, (64,))


def loss(w1, b1, w2, b2, x, y):
    logits = w2 @ torch.tanh(w1 @ x + b1) + b2
    return F.cross_entropy(logits.unsqueeze(0), y.unsqueeze(0))


per_sample = vmap(grad(loss), in_dims=(None, None, None, None, 0, 0))
g = grad(loss)


def loop():
    return torch.stack([g(w1, b1, w2, b2, x[i], y[i]) for i in range(64)])


for name, fn in [("vmap(grad)", lambda: per_sample(w1, b1, w2, b2, x, y)), ("loop of grad", loop)]:
    fn()
    times = sorted(timeit.repeat(fn, number=20, repeat=7))
    print(f"{name}: {times[3] / 20 * 1e6:.0f} us")
