"""Expected torch.autograd.detect_anomaly results from real PyTorch 1.13, for tests/AutogradKit.Tests/Errors/AnomalyExceptionTests.cs.

Run: /usr/bin/python3 generate_anomaly.py  (writes anomaly.json next to this file).
For each case: the error's first line, the node PyTorch's warning names ("Error detected in <node>. Traceback of forward
call that caused the error:") and whether that traceback names the Python function that made the node (the C# test
checks its ForwardStackTrace names the C# method that made it).
"""
import json
import os
import warnings

import torch


def make_sqrt_of_negative(x):
    return x.sqrt().sum()


def make_square(x):
    return (x * x).sum()


def run(key, forward, backward_twice):
    x = torch.tensor([-1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught, torch.autograd.detect_anomaly():
        warnings.simplefilter("always")
        y = forward(x)
        try:
            if backward_twice:
                y.backward()
            y.backward()
        except RuntimeError as e:
            message = str(e).splitlines()[0]
    detected = [str(w.message) for w in caught if "Error detected in" in str(w.message)][0]
    node = detected.split("Error detected in ")[1].split(".")[0]
    return key, {"message": message, "node": node, "names_forward_function": forward.__name__ in detected,
                 "warning_first_line": detected.splitlines()[0]}


cases = dict([run("nan_sqrt", make_sqrt_of_negative, False), run("graph_freed", make_square, True)])
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "anomaly.json"), "w") as out:
    json.dump({"torch": torch.__version__, "cases": cases}, out, indent=1)
