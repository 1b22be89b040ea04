#!/usr/bin/env bash
# Runs the same workload in axonal, PyTorch and JAX in one session and prints samples/s and
# the ratios. Workload: MLP 784->128 ReLU->10, softmax cross-entropy, plain SGD in f32 over
# 60,000 samples (batch 64 and 256); inference at batch 256; single-sample latency; the
# 784->512->512->10 network at batch 256; LeNet-5 on the same samples as 1x28x28 images
# (training at batch 64 and 256, inference at batch 256; see bench/peers.py). Every figure is
# a median over several epochs/runs. A row whose axonal figure is missing (axonal's keys are
# `<key>_t1` and `<key>_t<threads>`, e.g. `lenet_train_b64_t2`) prints n/a there.
# axonal's training through `fit` (shuffled mini-batches gathered from the dataset) is listed
# too, without peers: theirs are plain loops over consecutive slices, like axonal's rows.
#
#   bench/compare.sh [--quick]
#
# The peers are installed once into bench/.venv with the pins of bench/requirements.txt;
# AXONAL_BENCH_VENV=/path/to/venv uses an existing venv instead. Peers use their default
# thread pools (all cores); axonal is measured on one thread and on all of its kernel
# threads (the ratios use the latter). Other load on the machine skews the absolute
# numbers, hardly the ratios (all measured in this one run).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AXONAL_BENCH_VENV:-bench/.venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r bench/requirements.txt
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "axonal..." >&2
cargo bench --quiet -p axonal --bench throughput -- "$@" | grep '^RESULT' | sed 's/^RESULT /RESULT axonal_/' >"$out/axonal"
echo "PyTorch..." >&2
"$venv/bin/python" bench/peers.py torch "$@" >"$out/torch"
echo "JAX..." >&2
"$venv/bin/python" bench/peers.py jax "$@" >"$out/jax"
"$venv/bin/python" - "$out"/axonal "$out"/torch "$out"/jax <<'PY'
import sys, platform, datetime, subprocess
r = {}
for path in sys.argv[1:]:
    for line in open(path):
        if line.startswith("RESULT "):
            _, k, v = line.split()
            r[k] = v
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
import os
print(f"{datetime.date.today()} · {cpu} · {os.cpu_count()} cores · axonal ISA {r.get('axonal_isa')}")
n = r.get("axonal_threads", "1")
rows = [("train b=64 (samples/s)", "train_b64", "train_b64", "train_b64", "train_scan_b64"),
        ("train b=256 (samples/s)", "train_b256", "train_b256", "train_b256", "train_scan_b256"),
        ("infer b=256 (samples/s)", "infer_b256", "infer_b256", "infer_b256", None),
        ("784-512-512-10 train b=256", "big_train_b256", "big_train_b256", "big_train_b256", None),
        ("LeNet-5 train b=64 (samples/s)", "lenet_train_b64", "lenet_train_b64", "lenet_train_b64", "lenet_train_scan_b64"),
        ("LeNet-5 train b=256 (samples/s)", "lenet_train_b256", "lenet_train_b256", "lenet_train_b256", "lenet_train_scan_b256"),
        ("LeNet-5 infer b=256 (samples/s)", "lenet_infer_b256", "lenet_infer_b256", "lenet_infer_b256", None)]
nan = float("nan")
f = lambda k: float(r[k]) if k in r else nan
# A figure, or n/a where it was not measured (a NaN anywhere in a ratio makes it n/a too).
num = lambda v, spec=",.0f": "n/a" if v != v else format(v, spec)
ratio = lambda a, b, spec=".2f", unit="×": "n/a" if a != a or b != b or b == 0 else format(a / b, spec) + unit
print(f"| workload | axonal 1 thread | axonal {n} threads | PyTorch | JAX jit step | JAX scan | ÷ PyTorch | ÷ best JAX |")
print("|---|---|---|---|---|---|---|---|")
for name, a, t, j, js in rows:
    one, alln = f(f"axonal_{a}_t1"), f(f"axonal_{a}_t{n}")
    jax = [v for v in (f("jax_" + j), f("jax_" + js) if js else nan) if v == v]
    best = max(jax) if jax else nan
    scan = num(f("jax_" + js)) if js else "–"
    print(f"| {name} | {num(one)} | {num(alln)} | {num(f('torch_' + t))} | {num(f('jax_' + j))} | "
          f"{scan} | {ratio(alln, f('torch_' + t))} | {ratio(alln, best)} |")
for b in (64, 256):
    one, alln = f(f"axonal_fit_b{b}_t1"), f(f"axonal_fit_b{b}_t{n}")
    print(f"| train b={b} through `fit` (shuffled batches) | {num(one)} | {num(alln)} | – | – | – | – | – |")
la, lt, lj = f("axonal_latency_b1_us"), f("torch_latency_b1_us"), f("jax_latency_b1_us")
print(f"| latency b=1 (µs, lower is better) | {num(la, '.2f')} | – | {num(lt, '.2f')} | {num(lj, '.2f')} | – | "
      f"{ratio(lt, la, '.1f', '× faster')} | {ratio(lj, la, '.1f', '× faster')} |")
# LeNet-5 as arithmetic: GFLOP/s (a training step is 2.26 MFLOP per sample, an inference
# 0.833: the products' multiply-adds, two flops each) and the share of the measured FMA peak
# of the cores each figure ran on (axonal_fma_peak is one core's; the peers use all cores).
peak = f("axonal_fma_peak")
if peak == peak:
    fwd = 2 * (6 * 25 * 784 + 16 * 150 * 100 + 400 * 120 + 120 * 84 + 84 * 10)
    train = 3 * fwd - 2 * 6 * 25 * 784
    cores = os.cpu_count() or 1
    print()
    print(f"LeNet-5 against the measured FMA peak: {peak:.1f} GFLOP/s per core")
    print()
    print(f"| workload | axonal 1 thread | axonal {n} threads | PyTorch ({cores} cores) |")
    print("|---|---|---|---|")
    share = lambda v, flop, k: "n/a" if v != v else f"{v * flop / 1e9:.1f} GFLOP/s ({100 * v * flop / 1e9 / (peak * k):.0f}%)"
    for name, key, flop in (("train b=64", "lenet_train_b64", train), ("train b=256", "lenet_train_b256", train),
                            ("infer b=256", "lenet_infer_b256", fwd)):
        print(f"| {name} | {share(f(f'axonal_{key}_t1'), flop, 1)} | {share(f(f'axonal_{key}_t{n}'), flop, int(n))} | "
              f"{share(f(f'torch_{key}'), flop, cores)} |")
PY
