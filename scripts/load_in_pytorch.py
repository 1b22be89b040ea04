"""Load axonal checkpoints into the equivalent PyTorch nn.Sequential and compare predictions.

How to run, from the repository root (needs torch, numpy and safetensors; the pins are in
fixtures/requirements.txt):

    /tmp/venv/bin/python scripts/load_in_pytorch.py

The script runs `cargo test -p axonal --test checkpoints export_for_pytorch` with
AXONAL_EXPORT_DIR set to a temporary directory. That test (runtime/tests/checkpoints.rs)
saves the network `Classifier` in f32 and in f64 as .safetensors files and writes the inputs
and axonal's eval-mode predictions to predictions.json. The script rebuilds `Classifier`
below as an nn.Sequential, loads each checkpoint with `load_state_dict(strict=True)`, and
checks that PyTorch predicts the same probabilities. With `--dir DIR` it reads the files
from DIR instead of running cargo. It exits with status 1 if anything differs.

How to load any axonal checkpoint into PyTorch, as done here:

- Build an nn.Sequential from an OrderedDict whose keys are the layer labels of the network
  (`fc1`, `bn1`, ...; an unlabelled layer is named like the field of the generated struct,
  `dense0`, `batchnorm1`, ...). Layers without parameters (activations, dropout) can have
  any key.
- `dense N act` is nn.Linear(in, N) followed by the activation (weights are stored [out, in],
  as nn.Linear keeps them); `batchnorm momentum=m eps=e` is nn.BatchNorm1d(width,
  momentum=m, eps=e) after a vector, nn.BatchNorm2d(channels, …) after an image;
  `dropout p` is nn.Dropout(p); `conv2d IN->OUT k=… stride=… pad=… dilation=…` is
  nn.Conv2d(IN, OUT, k, stride, pad, dilation) (weights [out, in, kh, kw]) then its
  activation; `maxpool`/`avgpool` are nn.MaxPool2d/nn.AvgPool2d with the same window,
  stride and padding; `flatten` is nn.Flatten(); `softmax_ce` is the loss, so predictions
  are softmax(logits).
- `model.load_state_dict(safetensors.torch.load_file(path))`, then `model.eval()`, and use
  the checkpoint's dtype (model.double() for an F64 checkpoint).
  BatchNorm1d's `num_batches_tracked`, which axonal does not keep, is filled in by PyTorch.
"""

import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import load_file

ROOT = pathlib.Path(__file__).resolve().parent.parent


def classifier():
    """The PyTorch equivalent of `Classifier` in runtime/tests/checkpoints.rs:

    input 6; fc1: dense 16 relu; bn1: batchnorm; dropout 0.25; fc2: dense 12 tanh;
    bn2: batchnorm momentum=0.2 eps=1e-3; fc3: dense 8 sigmoid; out: dense 3; softmax_ce
    """
    layers = collections.OrderedDict(
        [
            ("fc1", torch.nn.Linear(6, 16)),
            ("relu1", torch.nn.ReLU()),
            ("bn1", torch.nn.BatchNorm1d(16)),  # axonal's defaults: momentum 0.1, eps 1e-5
            ("dropout", torch.nn.Dropout(0.25)),
            ("fc2", torch.nn.Linear(16, 12)),
            ("tanh2", torch.nn.Tanh()),
            ("bn2", torch.nn.BatchNorm1d(12, momentum=0.2, eps=1e-3)),
            ("fc3", torch.nn.Linear(12, 8)),
            ("sigmoid3", torch.nn.Sigmoid()),
            ("out", torch.nn.Linear(8, 3)),
        ]
    )
    return torch.nn.Sequential(layers)


def cnn():
    """The PyTorch equivalent of `Cnn` in runtime/tests/checkpoints.rs:

    input 2x8x8; conv1: conv2d 2->4 k=3 pad=1 relu; bn1: batchnorm; maxpool 2;
    conv2: conv2d 6 k=3 pad=same tanh; avgpool 2; flatten; out: dense 3; softmax_ce
    """
    nn = torch.nn
    layers = collections.OrderedDict(
        [
            ("conv1", nn.Conv2d(2, 4, 3, padding=1)),  # weight [out, in, kh, kw]
            ("relu1", nn.ReLU()),
            ("bn1", nn.BatchNorm2d(4)),  # per channel
            ("maxpool", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(4, 6, 3, padding="same")),
            ("tanh", nn.Tanh()),
            ("avgpool", nn.AvgPool2d(2)),  # count_include_pad=True, axonal's default too
            ("flatten", nn.Flatten()),  # channels outermost, as axonal's rows
            ("out", nn.Linear(24, 3)),
        ]
    )
    return nn.Sequential(layers)


def check(build, path, dtype, inputs, expected, tolerance, shape=None):
    """Loads `path` into `build()` of `dtype`; returns whether the predicted probabilities are
    within `tolerance` of `expected`. `shape` reshapes the rows of `inputs` (NCHW images)."""
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    model = build().to(dtype)
    state = load_file(str(path))
    model.load_state_dict(state, strict=True)  # every name and shape must match
    model.eval()
    with torch.no_grad():
        x = torch.tensor(inputs, dtype=dtype)
        if shape is not None:
            x = x.reshape(-1, *shape)
        probabilities = torch.softmax(model(x), dim=1)
    diff = (probabilities.double() - torch.tensor(expected, dtype=torch.float64)).abs().max().item()
    ok = diff <= tolerance
    print(
        f"{path.name}: metadata {metadata}, {len(state)} tensors, "
        f"{len(inputs)} samples, max |torch - axonal| = {diff:.3e} "
        f"(tolerance {tolerance:g}) -> {'OK' if ok else 'MISMATCH'}"
    )
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=pathlib.Path, help="read the exported files from DIR instead of running cargo")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir
        if directory is None:
            directory = pathlib.Path(tmp)
            command = ["cargo", "test", "-q", "-p", "axonal", "--test", "checkpoints", "export_for_pytorch"]
            print("running:", " ".join(command), flush=True)
            subprocess.run(command, cwd=ROOT, check=True, env={**os.environ, "AXONAL_EXPORT_DIR": tmp})
        data = json.loads((directory / "predictions.json").read_text())
        print(f"network: {data['network']}")
        # f64: the same operations in the same precision; only summation order differs.
        ok64 = check(classifier, directory / "classifier_f64.safetensors", torch.float64, data["inputs"], data["predictions_f64"], 1e-12)
        # f32: rounding differences of a few ulps through 4 layers.
        ok32 = check(classifier, directory / "classifier_f32.safetensors", torch.float32, data["inputs"], data["predictions_f32"], 1e-5)
        c = data["cnn"]
        print(f"network: {c['network']}")
        cnn64 = check(cnn, directory / "cnn_f64.safetensors", torch.float64, c["inputs"], c["predictions_f64"], 1e-12, (2, 8, 8))
        cnn32 = check(cnn, directory / "cnn_f32.safetensors", torch.float32, c["inputs"], c["predictions_f32"], 1e-5, (2, 8, 8))
    if not (ok64 and ok32 and cnn64 and cnn32):
        sys.exit(1)
    print("PyTorch predicts the same as axonal from axonal's checkpoints.")


if __name__ == "__main__":
    main()
