"""Checks the PyTorch modules written by `axc emit --torch` against axonal.

    python scripts/check_torch.py MANIFEST.json

The manifest (written by tests/tests/torch.rs, which runs this script when
AXONAL_TORCH_PYTHON names a Python with torch, numpy and safetensors; pins in
fixtures/requirements.txt) lists cases: a Python file from `axc emit --torch`, the class of
one network in it, the dtype (F32 or F64), the network's axonal checkpoint (safetensors), an
input batch and what axonal's `predict` made of it (raw little-endian values of the dtype).
For each case this script

1. imports the file, builds the class in the dtype, checks INPUT_SHAPE and OUTPUT_SHAPE,
   loads the checkpoint with `load_state_dict(strict=True)` (every name and shape must
   match) and checks that the state dict holds exactly the checkpoint's tensors, BatchNorm's
   `num_batches_tracked` aside;
2. compares `predict(x)` in eval mode with axonal's: |torch - axonal| <= tol * (1 + |axonal|)
   everywhere;
3. trains the module one step (SGD on the mean square of `forward`, in train mode, so that
   batchnorm's running statistics move and dropout drops), saves its state dict without
   `num_batches_tracked` with `safetensors.torch.save_file` (the file's `back`) and its eval
   `predict` of the same batch (`back_predict`), for the Rust test to load into axonal and
   compare.

It prints one line per case and exits 1 if any case fails.
"""

import importlib.util
import json
import sys

import numpy as np
import safetensors
import safetensors.torch
import torch

DTYPES = {"F32": (torch.float32, "<f4"), "F64": (torch.float64, "<f8")}


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(case, index):
    dtype, numpy_dtype = DTYPES[case["dtype"]]
    module = load_module(case["module"], f"axonal_torch_case_{index}")
    cls = getattr(module, case["class"])
    model = cls().to(dtype)
    state = safetensors.torch.load_file(case["checkpoint"])
    model.load_state_dict(state, strict=True)
    ours = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    if ours != set(state):
        return f"state dict {sorted(ours)} is not the checkpoint's {sorted(state)}"
    model.eval()
    rows = case["rows"]
    x = torch.from_numpy(np.fromfile(case["input"], dtype=numpy_dtype).reshape(rows, -1).copy())
    x = x.reshape(rows, *cls.INPUT_SHAPE)
    want = torch.from_numpy(np.fromfile(case["expected"], dtype=numpy_dtype).copy()).reshape(rows, -1)
    with torch.no_grad():
        logits = model(x)
        got = model.predict(x)
    if tuple(logits.shape[1:]) != tuple(cls.OUTPUT_SHAPE) or tuple(got.shape[1:]) != tuple(cls.OUTPUT_SHAPE):
        return f"forward gives {tuple(logits.shape)}, predict {tuple(got.shape)}: not [batch, *{cls.OUTPUT_SHAPE}]"
    got = got.reshape(rows, -1).double()
    want = want.double()
    absolute = (got - want).abs()
    scaled = float((absolute / (1.0 + want.abs())).max())
    note = (
        f"{len(state)} tensors load strictly; predict on {rows} rows: worst scaled error "
        f"{scaled:.2e}, worst absolute {float(absolute.max()):.2e} (tol {case['tol']:g})"
    )
    if not torch.isfinite(got).all() or scaled > case["tol"]:
        return f"{note} > tol", note

    # One training step in PyTorch, then back to axonal.
    torch.manual_seed(index)
    model.train()
    parameters = list(model.parameters())
    if parameters:
        optimizer = torch.optim.SGD(parameters, lr=0.05)
        model(x).square().mean().backward()
        optimizer.step()
    else:
        model(x)  # nothing to train, but a training pass all the same
    model.eval()
    with torch.no_grad():
        trained = model.predict(x)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    safetensors.torch.save_file(state, case["back"])
    trained.numpy().astype(numpy_dtype).tofile(case["back_predict"])
    moved = float((trained.reshape(rows, -1).double() - got).abs().max())
    return None, f"{note}; one SGD step moved predict by up to {moved:.2e}, saved"


def main():
    manifest = json.load(open(sys.argv[1]))
    failed = 0
    for index, case in enumerate(manifest["cases"]):
        try:
            result = check(case, index)
            problem, note = result if isinstance(result, tuple) else (result, "")
        except Exception as e:  # a load or shape error is this case's failure
            problem, note = f"{type(e).__name__}: {e}", ""
        if problem:
            failed += 1
            print(f"FAIL {case['name']}: {problem}")
        else:
            print(f"ok   {case['name']}: {note}")
    print(
        f"{len(manifest['cases']) - failed} of {len(manifest['cases'])} networks agree "
        f"(torch {torch.__version__}, numpy {np.__version__}, safetensors {safetensors.__version__})"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
