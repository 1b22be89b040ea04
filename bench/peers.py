"""The workload of bench/compare.sh in PyTorch (eager) and JAX (jit step; whole epoch in lax.scan).

MLP 784->128 ReLU->10, softmax cross-entropy, plain SGD (lr 0.01) in f32 over 60,000 random
samples; inference at batch 256; single-sample latency; the larger 784->512->512->10 network
at batch 256. LeNet-5 on the same samples as [N, 1, 28, 28] images: conv 1->6 k=5 pad=2 ReLU,
maxpool 2, conv 6->16 k=5 ReLU, maxpool 2, flatten (400), dense 120 ReLU, 84 ReLU, 10; softmax
cross-entropy, plain SGD, training at batch 64 and 256 over an epoch of 60,000 samples and
inference at batch 256 (keys lenet_*). Prints `RESULT <framework>_<key> <value>` lines, each
the median of several runs, with the same keys as runtime/benches/throughput.rs.

    python bench/peers.py torch|jax [--quick]
"""
import statistics
import sys
import time

import numpy as np

SAMPLES, LR = 60_000, 0.01
QUICK = "--quick" in sys.argv
REPS = 3 if QUICK else 7
rng = np.random.default_rng(0)
X = rng.random((SAMPLES, 784), dtype=np.float32)
Y = rng.integers(0, 10, SAMPLES)
BIG_N = 10_240 if QUICK else 20_480
# LeNet-5's epoch: all 60,000 samples, or a multiple of both batch sizes with --quick.
LENET_N = 3_840 if QUICK else SAMPLES


def report(framework, key, runs):
    print(f"RESULT {framework}_{key} {statistics.median(runs):.3f}", flush=True)


def run_torch():
    import torch

    torch.manual_seed(0)
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    images = x.view(-1, 1, 28, 28)

    def mlp(widths):
        layers = []
        for i, (a, b) in enumerate(zip(widths, widths[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(widths) - 2:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)

    def lenet():
        nn = torch.nn
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )

    def epoch(net, batch, n, data=x):
        opt = torch.optim.SGD(net.parameters(), lr=LR)
        loss_fn = torch.nn.CrossEntropyLoss()
        n -= n % batch
        start = time.perf_counter()
        for i in range(0, n, batch):
            opt.zero_grad(set_to_none=False)
            loss_fn(net(data[i : i + batch]), y[i : i + batch]).backward()
            opt.step()
        return n / (time.perf_counter() - start)

    for batch in (64, 256):
        net = mlp([784, 128, 10])
        epoch(net, batch, SAMPLES)
        report("torch", f"train_b{batch}", [epoch(net, batch, SAMPLES) for _ in range(REPS)])
    net = mlp([784, 128, 10]).eval()

    def infer(batch, net=net, data=x, n=SAMPLES):
        n -= n % batch
        with torch.inference_mode():
            start = time.perf_counter()
            for i in range(0, n, batch):
                net(data[i : i + batch])
            return n / (time.perf_counter() - start)

    infer(256)
    report("torch", "infer_b256", [infer(256) for _ in range(REPS)])
    one, lat = x[:1], []
    with torch.inference_mode():
        for _ in range(2000):
            t = time.perf_counter()
            net(one)
            lat.append((time.perf_counter() - t) * 1e6)
    report("torch", "latency_b1_us", lat)
    big = mlp([784, 512, 512, 10])
    epoch(big, 256, BIG_N)
    report("torch", "big_train_b256", [epoch(big, 256, BIG_N) for _ in range(REPS)])
    for batch in (64, 256):
        net = lenet()
        epoch(net, batch, LENET_N, images)
        runs = [epoch(net, batch, LENET_N, images) for _ in range(REPS)]
        report("torch", f"lenet_train_b{batch}", runs)
    net = lenet().eval()
    infer(256, net, images, LENET_N)
    report("torch", "lenet_infer_b256", [infer(256, net, images, LENET_N) for _ in range(REPS)])


def run_jax():
    import jax
    import jax.numpy as jnp

    def init(widths, key):
        params = []
        for a, b in zip(widths, widths[1:]):
            key, k = jax.random.split(key)
            params.append((jax.random.normal(k, (a, b), jnp.float32) * (2.0 / a) ** 0.5, jnp.zeros(b, jnp.float32)))
        return params

    def forward(params, x):
        for w, b in params[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    def trainer(forward):
        """The jitted SGD step of `forward`'s softmax cross-entropy, and a whole epoch of it."""

        def loss(params, x, y):
            logits = forward(params, x)
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

        @jax.jit
        def step(params, x, y):
            grads = jax.grad(loss)(params, x, y)
            return jax.tree.map(lambda p, g: p - LR * g, params, grads)

        @jax.jit
        def scan_epoch(params, xs, ys):
            return jax.lax.scan(lambda p, b: (step(p, *b), None), params, (xs, ys))[0]

        return step, scan_epoch

    step, scan_epoch = trainer(forward)

    def lenet_init(key):
        def he(key, shape, fan_in):
            return jax.random.normal(key, shape, jnp.float32) * (2.0 / fan_in) ** 0.5

        shapes = [((6, 1, 5, 5), 25), ((16, 6, 5, 5), 150), ((400, 120), 400), ((120, 84), 120), ((84, 10), 84)]
        params = []
        for shape, fan_in in shapes:
            key, k = jax.random.split(key)
            params.append((he(k, shape, fan_in), jnp.zeros(shape[0] if len(shape) == 4 else shape[1], jnp.float32)))
        return params

    def lenet_forward(params, x):
        (c1, b1), (c2, b2), *dense = params

        def conv(x, w, b, pad):
            y = jax.lax.conv_general_dilated(x, w, (1, 1), [(pad, pad), (pad, pad)],
                                             dimension_numbers=("NCHW", "OIHW", "NCHW"))
            return jax.nn.relu(y + b[None, :, None, None])

        def pool(x):
            return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

        x = pool(conv(x, c1, b1, 2))
        x = pool(conv(x, c2, b2, 0))
        return forward(dense, x.reshape(x.shape[0], -1))

    lenet_step, lenet_scan_epoch = trainer(lenet_forward)

    xd, yd = jnp.asarray(X), jnp.asarray(Y)

    def epoch(params, batch, n):
        n -= n % batch
        start = time.perf_counter()
        for i in range(0, n, batch):
            params = step(params, xd[i : i + batch], yd[i : i + batch])
        jax.block_until_ready(params)
        return params, n / (time.perf_counter() - start)

    def timed(params, batch, n, scan, shape=(784,), step=step, scan_epoch=scan_epoch):
        runs = []
        data = xd.reshape(-1, *shape)
        xs = data[: n - n % batch].reshape(-1, batch, *shape)
        ys = yd[: n - n % batch].reshape(-1, batch)
        xb = [data[i : i + batch] for i in range(0, n - n % batch, batch)]
        yb = [yd[i : i + batch] for i in range(0, n - n % batch, batch)]
        for rep in range(REPS + 1):
            start = time.perf_counter()
            if scan:
                params = scan_epoch(params, xs, ys)
            else:
                for a, b in zip(xb, yb):
                    params = step(params, a, b)
            jax.block_until_ready(params)
            if rep:
                runs.append(xs.shape[0] * batch / (time.perf_counter() - start))
        return runs

    for batch in (64, 256):
        p = init([784, 128, 10], jax.random.PRNGKey(0))
        report("jax", f"train_b{batch}", timed(p, batch, SAMPLES, False))
        report("jax", f"train_scan_b{batch}", timed(p, batch, SAMPLES, True))
    p = init([784, 128, 10], jax.random.PRNGKey(0))
    fwd = jax.jit(forward)
    xb = [xd[i : i + 256] for i in range(0, SAMPLES - SAMPLES % 256, 256)]

    def infer():
        start = time.perf_counter()
        out = [fwd(p, a) for a in xb]
        jax.block_until_ready(out)
        return len(xb) * 256 / (time.perf_counter() - start)

    infer()
    report("jax", "infer_b256", [infer() for _ in range(REPS)])
    one, lat = xd[:1], []
    fwd(p, one).block_until_ready()
    for _ in range(2000):
        t = time.perf_counter()
        fwd(p, one).block_until_ready()
        lat.append((time.perf_counter() - t) * 1e6)
    report("jax", "latency_b1_us", lat)
    big = init([784, 512, 512, 10], jax.random.PRNGKey(0))
    report("jax", "big_train_b256", timed(big, 256, BIG_N, False))
    image = (1, 28, 28)
    for batch in (64, 256):
        p = lenet_init(jax.random.PRNGKey(0))
        for scan in (False, True):
            runs = timed(p, batch, LENET_N, scan, image, lenet_step, lenet_scan_epoch)
            report("jax", f"lenet_train{'_scan' if scan else ''}_b{batch}", runs)
    p = lenet_init(jax.random.PRNGKey(0))
    lenet_fwd = jax.jit(lenet_forward)
    images = xd.reshape(-1, *image)
    xb = [images[i : i + 256] for i in range(0, LENET_N - LENET_N % 256, 256)]

    def lenet_infer():
        start = time.perf_counter()
        out = [lenet_fwd(p, a) for a in xb]
        jax.block_until_ready(out)
        return len(xb) * 256 / (time.perf_counter() - start)

    lenet_infer()
    report("jax", "lenet_infer_b256", [lenet_infer() for _ in range(REPS)])


{"torch": run_torch, "jax": run_jax}[sys.argv[1]]()
