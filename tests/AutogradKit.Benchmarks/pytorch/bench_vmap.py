"""(h) functorch 1.13's vmap around a cheap elementwise operation (VmapOverheadBenchmarks.cs): vmap(torch.sin)
over a 64x64 float32 tensor, and torch.sin on the whole tensor (the same arithmetic without vmap)."""
import torch
from functorch import vmap

from _timing import run


def cases():
    x = torch.randn(64, 64)
    mapped = vmap(torch.sin)
    assert torch.equal(mapped(x), torch.sin(x))
    yield "vmap_sin_64", lambda: mapped(x)
    yield "sin_64", lambda: torch.sin(x)


if __name__ == "__main__":
    run("functorch vmap overhead", cases)
