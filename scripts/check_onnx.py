"""Checks ONNX models written by axonal against ONNX Runtime.

    python scripts/check_onnx.py MANIFEST.json

The manifest (written by the Rust tests, `axonal_tests::onnx_runtime`) lists cases: an ONNX
file, an input batch and the batch `predict` returned, both raw little-endian f32. For each
case this script runs `onnx.checker` (full check) and strict shape inference, checks that the
inferred output shape is `[batch, …]` as axonal says, runs the model in ONNX Runtime (CPU) and
compares: mode `close` wants |ort − predict| ≤ tol·(1 + |predict|) everywhere, mode `argmax`
wants that too and the same argmax on at least `agree` of the rows. It prints one line per
case and exits 1 if any case fails. When the `tract` wheel is installed (it is in scripts/requirements-onnx.txt)
every `close` case also runs in tract, Sonos's Rust engine, and must agree as ONNX Runtime
does. Versions are pinned in scripts/requirements-onnx.txt.
"""

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import shape_inference

try:
    import tract
except ImportError:  # optional: the checks run without it
    tract = None


def dims(value_info):
    return [d.dim_param if d.dim_param else d.dim_value
            for d in value_info.type.tensor_type.shape.dim]


def check(case):
    model = onnx.load(case["onnx"])
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    in_dims, out_dims = dims(inferred.graph.input[0]), dims(inferred.graph.output[0])
    if in_dims[0] != "batch" or out_dims[0] != "batch":
        return f"batch dimension not symbolic: input {in_dims}, output {out_dims}"
    if out_dims[1:] != case["output_shape"]:
        return f"inferred output shape {out_dims}, axonal's [batch, {case['output_shape']}]"
    rows = case["rows"]
    x = np.fromfile(case["input"], dtype="<f4").reshape([rows] + in_dims[1:])
    want = np.fromfile(case["expected"], dtype="<f4").reshape(rows, -1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    got = session.run(["output"], {"input": x})[0].reshape(rows, -1)
    if got.shape != want.shape:
        return f"output {got.shape}, predict {want.shape}"
    scaled = np.abs(got.astype(np.float64) - want) / (1.0 + np.abs(want))
    worst = float(scaled.max()) if scaled.size else 0.0
    if case["mode"] == "argmax":
        same = float(np.mean(got.argmax(axis=1) == want.argmax(axis=1)))
        note = f"same argmax on {same:.4%} of {rows} rows, worst scaled error {worst:.2e}"
        if same < case["agree"]:
            return "only " + note, note
        if worst > case["tol"]:
            return f"{note} > {case['tol']}", note
        return None, note
    note = f"worst scaled error {worst:.2e} on {rows} rows"
    if not np.isfinite(got).all() or worst > case["tol"]:
        return f"{note} > {case['tol']}", note
    if tract is not None:
        runnable = tract.onnx().load(case["onnx"]).into_model().into_runnable()
        by_tract = runnable.run([x])[0].to_numpy().reshape(rows, -1)
        off = np.abs(by_tract.astype(np.float64) - want) / (1.0 + np.abs(want))
        tract_worst = float(off.max()) if off.size else 0.0
        note += f", tract {tract_worst:.2e}"
        if not np.isfinite(by_tract).all() or tract_worst > case["tol"]:
            return f"tract: worst scaled error {tract_worst:.2e} > {case['tol']}", note
    return None, note


def main():
    manifest = json.load(open(sys.argv[1]))
    failed = 0
    for case in manifest["cases"]:
        try:
            result = check(case)
            problem, note = result if isinstance(result, tuple) else (result, "")
        except Exception as e:  # a checker or runtime error is this case's failure
            problem, note = f"{type(e).__name__}: {e}", ""
        if problem:
            failed += 1
            print(f"FAIL {case['name']}: {problem}")
        else:
            print(f"ok   {case['name']}: {note}")
    engines = f"onnx {onnx.__version__}, onnxruntime {ort.__version__}"
    if tract is not None:
        engines += f", tract {tract.version()}"
    print(f"{len(manifest['cases']) - failed} of {len(manifest['cases'])} models agree ({engines})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
