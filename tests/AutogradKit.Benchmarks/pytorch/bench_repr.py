"""(d) repr of a 30x30 and a 1000x1000 float32 tensor (default print options)."""
import torch

from _timing import run


def cases():
    g = torch.Generator().manual_seed(0)
    small = torch.randn(30, 30, generator=g)
    large = torch.randn(1000, 1000, generator=g)
    yield "repr_30x30", lambda: repr(small)
    yield "repr_1000x1000", lambda: repr(large)


if __name__ == "__main__":
    run("repr", cases)
