"""Load axonal checkpoints into the equivalent PyTorch modules and compare predictions.

How to run, from the repository root (needs torch, numpy and safetensors; the pins are in
fixtures/requirements.txt):

    .venv/bin/python scripts/load_in_pytorch.py

The script runs `cargo test -p axonal --test checkpoints export_for_pytorch` with
AXONAL_EXPORT_DIR set to a temporary directory (cargo inherits the environment, so
CARGO_TARGET_DIR is honoured). That test (runtime/tests/checkpoints.rs) saves the networks
`Classifier`, `Cnn` and `Res` (a residual network of blocks) in f32 and in f64 as
.safetensors files and writes the inputs and axonal's eval-mode predictions to
predictions.json. The script rebuilds each network below (the first two as nn.Sequential,
`Res` as nested modules), loads each checkpoint with `load_state_dict(strict=True)`, and
checks that PyTorch predicts the same probabilities. With `--dir DIR` it reads the files
from DIR instead of running cargo. It exits with status 1 if anything differs.

`axc emit --torch model.nn` writes these modules for any network (see the README, "When one
machine is not enough"); this script keeps its hand-written ones as an independent check of
the names.

How to load any axonal checkpoint into PyTorch, as done here:

- Build an nn.Sequential from an OrderedDict whose keys are the layer labels of the network
  (`fc1`, `bn1`, ...). An unlabelled layer is named like the field of the generated struct:
  its keyword and the number of statements before it in its body, `input` aside (`dense0`,
  `batchnorm1`, ...; every statement counts, labelled or not, activations, `flatten` and
  blocks included). Layers without parameters (activations, dropout) can have any key.
- `dense N act` is nn.Linear(in, N) followed by the activation (weights are stored [out, in],
  as nn.Linear keeps them); `batchnorm momentum=m eps=e` is nn.BatchNorm1d(width,
  momentum=m, eps=e) after a vector, nn.BatchNorm2d(channels, …) after an image;
  `dropout p` is nn.Dropout(p); `conv2d IN->OUT k=… stride=… pad=… dilation=…` is
  nn.Conv2d(IN, OUT, k, stride, pad, dilation) (weights [out, in, kh, kw]) then its
  activation; `maxpool`/`avgpool` are nn.MaxPool2d/nn.AvgPool2d with the same window,
  stride and padding; `global_avgpool` is the mean over the positions (x.mean((2, 3)) for
  images), `flatten` is nn.Flatten(); `softmax_ce` is the loss, so predictions are
  softmax(logits).
- Blocks are submodules under the block's label (or `residual0`, `concat3`, … by
  position), so the checkpoint's names nest as a state_dict's do:
  - `residual [act] { body } [shortcut: { … }]` is a module whose attributes are the body's
    layers by their labels (`stage2.conv1.weight`), plus, with a shortcut, an attribute
    `shortcut` holding the shortcut's layers (`stage2.shortcut.conv2d0.weight`, an
    nn.Sequential of named children). Its forward is act(body(x) + shortcut(x)), or
    act(body(x) + x) without a shortcut (no `shortcut.*` names then).
  - `add [act] a: { … } b: { … }` and `concat [act] a: { … } b: { … }` are a module with one
    submodule per branch, by the branch's name (`towers.wide.conv2d0.weight`; unnamed
    branches are `branch0`, `branch1`, …), each an nn.Sequential of its layers. Forward:
    act(a(x) + b(x) + …), or act(torch.cat([a(x), b(x), …], dim=1)) (along channels for
    images, features for vectors).
  - `repeat N { body }` is an nn.Sequential (or nn.ModuleList) of N copies named `0`, `1`, …
    (`stage1.0.conv1.weight`); each copy is a module of the body's layers, or, when the body
    is one unlabelled block, that block's module itself (`stage1.1.bn2.running_var`, not
    `stage1.1.residual0.bn2.running_var`).
- `model.load_state_dict(safetensors.torch.load_file(path))`, then `model.eval()`, and use
  the checkpoint's dtype (model.double() for an F64 checkpoint).
  BatchNorm's `num_batches_tracked`, which axonal does not keep, is filled in by PyTorch.
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


class Residual(torch.nn.Module):
    """`residual relu { conv1: conv2d C k=3 stride=S pad=1; bn1: batchnorm; relu;
    conv2: conv2d C k=3 pad=1; bn2: batchnorm } [shortcut: { … }]`: the body's layers are
    attributes by their labels, the shortcut (if any) is the attribute `shortcut`."""

    def __init__(self, c_in, c, stride=1, shortcut=None):
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(c_in, c, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c)
        self.shortcut = shortcut  # None: no `shortcut.*` names, the identity

    def forward(self, x):
        body = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(body + (x if self.shortcut is None else self.shortcut(x)))


class Concat(torch.nn.Module):
    """`concat a: { … } b: { … }`: one submodule per branch, by the branch's name; the
    branches' outputs joined along channels."""

    def __init__(self, **branches):
        super().__init__()
        for name, branch in branches.items():
            self.add_module(name, branch)
        self.branches = list(branches)

    def forward(self, x):
        return torch.cat([getattr(self, b)(x) for b in self.branches], dim=1)


class Res(torch.nn.Module):
    """The PyTorch equivalent of `Res` in runtime/tests/checkpoints.rs:

    input 2x8x8; stem: conv2d 4 k=3 pad=1; bn: batchnorm; relu;
    stage1: repeat 2 { residual relu { conv1: conv2d 4 k=3 pad=1; bn1: batchnorm; relu;
                                       conv2: conv2d 4 k=3 pad=1; bn2: batchnorm } }
    down: residual relu { conv1: conv2d 6 k=3 stride=2 pad=1; bn1: batchnorm; relu;
                          conv2: conv2d 6 k=3 pad=1; bn2: batchnorm }
          shortcut: { conv2d 6 k=1 stride=2; batchnorm }
    towers: concat narrow: { conv2d 3 k=1 } wide: { conv2d 5 k=3 pad=1 tanh }
    global_avgpool; fc: dense 3; softmax_ce
    """

    def __init__(self):
        super().__init__()
        nn = torch.nn
        seq = lambda *layers: nn.Sequential(collections.OrderedDict(layers))  # noqa: E731
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        # repeat 2 { one unlabelled block }: the copies are the blocks, named 0 and 1.
        self.stage1 = nn.Sequential(Residual(4, 4), Residual(4, 4))
        # Unlabelled layers in the shortcut: keyword and position.
        shortcut = seq(("conv2d0", nn.Conv2d(4, 6, 1, stride=2)), ("batchnorm1", nn.BatchNorm2d(6)))
        self.down = Residual(4, 6, stride=2, shortcut=shortcut)
        self.towers = Concat(
            narrow=seq(("conv2d0", nn.Conv2d(6, 3, 1))),
            wide=seq(("conv2d0", nn.Conv2d(6, 5, 3, padding=1)), ("tanh", nn.Tanh())),
        )
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = self.towers(self.down(self.stage1(x)))
        return self.fc(x.mean(dim=(2, 3)))  # global_avgpool


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
        r = data["res"]
        print(f"network: {r['network']}")
        res64 = check(Res, directory / "res_f64.safetensors", torch.float64, r["inputs"], r["predictions_f64"], 1e-12, (2, 8, 8))
        res32 = check(Res, directory / "res_f32.safetensors", torch.float32, r["inputs"], r["predictions_f32"], 1e-5, (2, 8, 8))
    if not (ok64 and ok32 and cnn64 and cnn32 and res64 and res32):
        sys.exit(1)
    print("PyTorch predicts the same as axonal from axonal's checkpoints.")


if __name__ == "__main__":
    main()
