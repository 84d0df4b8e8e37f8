"""(c) grad_fn of a tensor and a full walk of the tutorial's graph (next_functions, breadth first)."""
import torch
import torch.nn.functional as F

from _timing import run


def walk(root):
    seen = set()
    stack = [root.grad_fn]
    count = 0
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        count += 1
        _ = type(fn).__name__
        for nxt, _nr in fn.next_functions:
            stack.append(nxt)
    return count


def cases():
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = F.binary_cross_entropy_with_logits(z, y)
    print(f"# graph of the loss: {walk(loss)} nodes")

    yield "grad_fn_read", lambda: loss.grad_fn
    yield "grad_fn_name", lambda: type(loss.grad_fn).__name__
    yield "graph_walk", lambda: walk(loss)
    yield "requires_grad_read", lambda: loss.requires_grad


if __name__ == "__main__":
    run("grad_fn", cases)
