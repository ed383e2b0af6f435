"""The bad-input corpus of issue #12: calls that must be refused, quickly, with a ValueError or
TypeError whose message names the argument.

``CORPUS`` is a table of ``(id, call, exception, word)``: ``call`` is a Python expression
evaluated in the namespace built by ``SETUP``; the call must raise ``exception`` (a name,
``"ValueError"`` or ``"TypeError"``) within ``ROW_SECONDS`` and the message must contain
``word`` (the argument's name, or what is wrong).

Run as a script (``python bad_inputs_corpus.py``, as tests/test_bad_inputs.py does in a
subprocess with a timeout), it evaluates every row with warnings turned into errors and an
address-space limit, and prints one JSON line per row; ``START <id>`` lines on stderr tell
which row was running if the process crashes or hangs.
"""

from __future__ import annotations

HUGE = 10**6  # per axis: 10^6 x 10^6 = 10^12 points, far beyond any machine's memory

SETUP = r"""
import gzip, os, tempfile
import numpy as np
import torch
from sharpdyn import chaos, cubic, data, mlp, regimes, scan, spectra, uv
from sharpdyn.fixed_points import normalized_jacobian
import sharpdyn.torch as st

tmp = tempfile.mkdtemp(prefix="sharpdyn-bad-inputs-")
u0, v0 = uv.init(8)
spec = mlp.MLPSpec((2, 4, 1))
net = mlp.MLP([2, 4, 1])
X2, Y1 = np.ones((3, 2)), np.ones(3)
big = np.linspace(0.1, 1.0, HUGE)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
Xt, Yt = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 1, dtype=torch.float64)

# a truncated .gz IDX file (the first half of a valid one), alone and in a dataset folder
idx = bytes([0, 0, 8, 3]) + np.array([10, 28, 28], ">i4").tobytes() + bytes(10 * 28 * 28)
whole = gzip.compress(idx)
trunc_dir = os.path.join(tmp, "mnist")
os.makedirs(trunc_dir)
truncated = os.path.join(trunc_dir, "train-images-idx3-ubyte.gz")
with open(truncated, "wb") as fh:
    fh.write(whole[: len(whole) // 2])
labels = bytes([0, 0, 8, 1]) + np.array([10], ">i4").tobytes() + bytes(range(10))
with open(os.path.join(trunc_dir, "train-labels-idx1-ubyte.gz"), "wb") as fh:
    fh.write(gzip.compress(labels))
"""

V, T = "ValueError", "TypeError"
NAN, INF = "float('nan')", "float('inf')"

CORPUS: list[tuple[str, str, str, str]] = [
    # ---- 2. huge requests: refused before any work, naming the argument
    ("grid-huge", "scan.grid({'c': big, 'Y': big}, steps=100, progress=False)", V, "axes"),
    ("grid-huge-store", "scan.grid({'c': big, 'Y': big}, steps=100, progress=False, store=os.path.join(tmp, 's.zarr'))",
     V, "axes"),
    ("grid-huge-weights", "scan.grid({'c': [1.0, 2.0]}, width=64, model='weights', steps=10**12, progress=False)",
     V, "steps"),
    ("scan-uv-huge", "scan.uv(big[:, None], 1.0, big[None, :], width=10, steps=10)", V, "lr, ntk0, f0"),
    ("scan-uv-normalized-huge", "scan.uv_normalized(big[:, None], big[None, :], steps=10)", V, "c, Y"),
    ("scan-cubic-huge", "scan.cubic(big[:, None] + 1, big[None, :], steps=10)", V, "r, x0"),
    ("uv-init-width", "uv.init(10**12)", V, "width"),
    ("uv-init-batch", "uv.init(64, batch=10**12)", V, "batch"),
    ("uv-train-steps", "uv.train(u0, v0, lr=0.1, steps=10**13)", V, "steps"),
    ("uv-iterate-steps", "uv.iterate(0.0, 1.0, lr=0.1, width=8, steps=10**13)", V, "steps"),
    ("uv-function-map-huge", "uv.function_map(big[:, None], big[None, :], lr=0.1, width=8)", V, "ntk"),
    ("uv-fixed-points-period", "uv.fixed_points(lr=0.5, width=64, y=17.6, period=10**6)", V, "period"),
    ("mlp-train-steps", "mlp.train(spec, X2, Y1, lr=0.1, steps=10**12)", V, "steps"),
    ("mlp-huge-int-widths", "mlp.MLP([10**7, 10**7, 1])", V, "widths"),
    ("mlp-float-widths", "mlp.MLP([1e7, 1e7, 1])", V, "widths"),
    ("mlp-hessian-huge", "mlp.MLP([10**5, 10, 1]).hessian(np.ones((1, 10**5)), np.ones(1))", V, "widths"),
    ("orbit-diagram-huge", "chaos.orbit_diagram('cubic', np.linspace(2, 3, 1000), x0=0.3, n_transient=0, "
     "n_keep=10**11)", V, "n_keep"),
    ("synthetic-huge", "data.synthetic(10**12)", V, "n"),
    # ---- 3. complex numbers are refused, never truncated
    ("uv-train-complex-u0", "uv.train(u0 + 1j, v0, lr=0.1, steps=3)", V, "u0"),
    ("uv-train-complex-lr", "uv.train(u0, v0, lr=0.1 + 0j, steps=3)", V, "lr"),
    ("function-map-complex-f", "uv.function_map(1 + 1j, 1.0, lr=0.1, width=8)", V, "f"),
    ("function-map-complex-zero-imag", "uv.function_map(np.complex128(1.0), 1.0, lr=0.1, width=8)", V, "f"),
    ("scan-uv-complex-lr", "scan.uv(0.5 + 1j, 1.0, 0.0, width=8, steps=3)", V, "lr"),
    ("orbit-diagram-complex", "chaos.orbit_diagram('cubic', [2 + 1j], x0=0.3, n_transient=10, n_keep=10)", V,
     "params"),
    ("orbit-diagram-complex-object", "chaos.orbit_diagram('cubic', np.array([2.0, 2 + 1j], dtype=object), x0=0.3, "
     "n_transient=10, n_keep=10)", V, "params"),
    ("power-spectrum-complex", "spectra.power_spectrum(np.ones(64) + 1j)", V, "series"),
    ("spectra-complex", "spectra.power_spectrum(np.cos(np.arange(64)) + 0j)", V, "series"),
    ("mlp-hessian-complex", "net.hessian(X2 + 1j, Y1)", V, "X"),
    ("mlp-loss-complex-y", "net.loss(X2, Y1 + 1j)", V, "Y"),
    ("cubic-iterate-complex", "cubic.iterate(0.3 + 1j, 2.5, 10)", V, "x0"),
    ("cubic-step-complex", "cubic.step(np.array([0.3 + 1j]), 2.5)", V, "x"),
    ("classify-series-complex", "uv.classify(uv.iterate(0.0, 1.0, lr=0.1, width=8, steps=4)) and "
     "regimes.classify_series(np.ones(5) + 1j, np.ones(5), lr=0.1)", V, "loss"),
    ("normalized-jacobian-complex", "normalized_jacobian(np.array(0.1 + 1j), np.array(1.0), 0.5)", V, "g"),
    ("grid-complex-axis", "scan.grid({'c': [1.0 + 1j]}, width=8, steps=3, progress=False)", V, "axis 'c'"),
    ("torch-complex-X", "st.hessian_eigenvalues(model, 'mse', (Xt.to(torch.complex128), Yt))", V, "X"),
    # ---- 3. one rule per argument
    ("function-map-negative-ntk", "uv.function_map(0.0, -1.0, lr=0.1, width=8)", V, "ntk"),
    ("iterate-negative-ntk0", "uv.iterate(0.0, -1.0, lr=0.1, width=8, steps=3)", V, "ntk0"),
    ("scan-uv-negative-ntk0", "scan.uv(0.5, -1.0, 0.0, width=8, steps=3)", V, "ntk0"),
    ("to-normalized-negative-ntk", "uv.to_normalized(0.0, -1.0, lr=0.1, width=8)", V, "ntk"),
    ("init-sigma-nan", f"uv.init(64, sigma={NAN})", V, "sigma"),
    ("init-sigma-inf", f"uv.init(64, sigma={INF})", V, "sigma"),
    ("init-sigma-negative", "uv.init(64, sigma=-1.0)", V, "sigma"),
    ("init-sigma-zero", "uv.init(64, sigma=0.0)", V, "sigma"),
    ("synthetic-noise-nan", f"data.synthetic(10, noise={NAN})", V, "noise"),
    ("synthetic-noise-negative", "data.synthetic(10, noise=-0.1)", V, "noise"),
    ("synthetic-noise-complex", "data.synthetic(10, noise=0.1j)", V, "noise"),
    ("load-one-class", "data.load('mnist', root=trunc_dir, classes=1)", V, "classes"),
    ("function-map-steps-0", "uv.function_map(0.0, 1.0, lr=0.1, width=8, steps=0)", V, "steps"),
    ("normalized-map-steps-0", "uv.normalized_map(0.0, 1.0, Y=0.5, steps=0)", V, "steps"),
    ("uv-train-steps-0", "uv.train(u0, v0, lr=0.1, steps=0)", V, "steps"),
    ("scan-uv-steps-0", "scan.uv(0.5, 1.0, 0.0, width=8, steps=0)", V, "steps"),
    ("cubic-iterate-steps-0", "cubic.iterate(0.3, 2.5, 0)", V, "steps"),
    ("cubic-iterate-huge", "cubic.iterate(np.zeros(10**6), 2.5, 10**9)", V, "steps"),
    ("mlp-train-steps-0", "mlp.train(spec, X2, Y1, lr=0.1, steps=0)", V, "steps"),
    ("torch-train-steps-0", "st.train(model, (Xt, Yt), lr=0.1, steps=0)", V, "steps"),
    ("torch-train-huge-steps", "st.train(model, (Xt, Yt), lr=0.1, steps=10**13)", V, "steps"),
    ("torch-int-X", "st.hessian_eigenvalues(model, 'mse', (Xt.to(torch.int64), Yt))", T, "X"),
    ("truncated-gz", "data.read_idx(truncated)", V, "truncated"),
    ("truncated-gz-load", "data.load('mnist', root=trunc_dir)", V, "truncated"),
    # ---- NaN, infinities, strings, bools where numbers are meant
    ("function-map-nan-lr", f"uv.function_map(0.0, 1.0, lr={NAN}, width=8)", V, "lr"),
    ("function-map-inf-f", f"uv.function_map({INF}, 1.0, lr=0.1, width=8)", V, "f"),
    ("function-map-string-f", "uv.function_map('1.0', 1.0, lr=0.1, width=8)", V, "f"),
    ("scan-uv-nan-f0", f"scan.uv(0.5, 1.0, {NAN}, width=8, steps=3)", V, "f0"),
    ("scan-uv-zero-width", "scan.uv(0.5, 1.0, 0.0, width=0, steps=3)", V, "width"),
    ("uv-train-inf-lr", f"uv.train(u0, v0, lr={INF}, steps=3)", V, "lr"),
    ("uv-init-float-width", "uv.init(64.0)", V, "width"),
    ("uv-init-bool-width", "uv.init(True)", V, "width"),
    ("fixed-points-nan-y", f"uv.fixed_points(lr=0.5, width=64, y={NAN})", V, "y"),
    ("orbit-diagram-nan", f"chaos.orbit_diagram('cubic', [2.0, {NAN}], x0=0.3, n_transient=10, n_keep=10)", V,
     "params"),
    ("mlp-nan-X", f"net.hessian(np.full((3, 2), {NAN}), Y1)", V, "X"),
    ("mlp-train-negative-lr", "mlp.train(spec, X2, Y1, lr=-0.1, steps=3)", V, "lr"),
    ("torch-nan-X", f"st.hessian_eigenvalues(model, 'mse', (torch.full((5, 3), {NAN}, dtype=torch.float64), Yt))", V,
     "X"),
    ("torch-train-nan-lr", f"st.train(model, (Xt, Yt), lr={NAN}, steps=3)", V, "lr"),
]

ROW_SECONDS = 2.0
"""Each refusal must come within this (well under a second on an idle machine; the margin is
for a loaded 2-core CI runner)."""

ADDRESS_SPACE_LIMIT = 8 * 2**30
"""The runner's RLIMIT_AS: a request that slips through the checks fails with MemoryError (a
failed row) instead of taking the machine's memory."""


def _run() -> None:
    import json
    import resource
    import sys
    import time
    import warnings

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = ADDRESS_SPACE_LIMIT if hard == resource.RLIM_INFINITY else min(ADDRESS_SPACE_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    namespace: dict = {"HUGE": HUGE}
    exec(SETUP, namespace)  # noqa: S102 - the corpus is this file's own table
    only = set(sys.argv[1:])
    warnings.simplefilter("error")  # a ComplexWarning (silent truncation) or any other warning fails the row
    for row_id, call, _, _ in CORPUS:
        if only and row_id not in only:
            continue
        print(f"START {row_id}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            value = eval(call, namespace)  # noqa: S307
            outcome = {"raised": None, "returned": repr(value)[:200]}
        except BaseException as exc:  # noqa: BLE001 - every outcome is reported
            outcome = {"raised": type(exc).__name__, "message": str(exc)[:600]}
        outcome.update(id=row_id, seconds=time.perf_counter() - t0)
        print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    _run()
