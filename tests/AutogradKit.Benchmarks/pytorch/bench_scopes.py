"""(b) Entering and leaving grad-mode scopes."""
import torch

from _timing import run


def cases():
    def no_grad():
        with torch.no_grad():
            pass

    def enable_grad():
        with torch.enable_grad():
            pass

    def inference_mode():
        with torch.inference_mode():
            pass

    yield "no_grad_scope", no_grad
    yield "enable_grad_scope", enable_grad
    yield "inference_mode_scope", inference_mode


if __name__ == "__main__":
    run("grad-mode scopes", cases)
