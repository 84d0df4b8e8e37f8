"""PyTorch's side of ``--wide-jacobian M`` (Profiling/WideJacobianMode.cs): one
torch.autograd.functional.jacobian of x -> sin(x*w), R^1 -> R^M, timed once after a small warm-up.
Run under ``/usr/bin/time -v /usr/bin/python3 wide_jacobian.py M`` for the peak resident set."""
import sys
import time

import torch

torch.set_num_threads(1)
m = int(sys.argv[1])
small = torch.linspace(0.0, 1.0, 8, dtype=torch.float64)
torch.autograd.functional.jacobian(lambda x: (x * small).sin(), torch.ones(1, dtype=torch.float64))
w = torch.linspace(0.0, 1.0, m, dtype=torch.float64)
start = time.perf_counter()
jac = torch.autograd.functional.jacobian(lambda x: (x * w).sin(), torch.ones(1, dtype=torch.float64))
seconds = time.perf_counter() - start
err = (jac.squeeze(1) - w * w.cos()).abs().max().item()
print(f"m={m} shape={list(jac.shape)} seconds={seconds:.3f} maxerror={err:.2E} torch={torch.__version__}")
