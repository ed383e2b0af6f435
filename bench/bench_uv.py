"""Benchmark: batched parameter-space GD of the UV model (sharpdyn.uv.train, C++/OpenMP)
against the same computation vectorised over the batch in NumPy, measured in one run.

    python -m bench --only uv            # full size, in the suite (results.json / results.md)
    python -m bench --only uv --quick    # seconds; the suite's test runs it so it cannot rot
    python bench/bench_uv.py [--quick]   # this area alone, JSON on stdout

Each measurement also checks that both implementations agree (to 1e-10 relative).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from sharpdyn import uv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import Context, Report, interleaved  # noqa: E402
from timing import best_wall  # noqa: E402


def numpy_train(u: np.ndarray, v: np.ndarray, x: np.ndarray, y: float, g: float, lr: np.ndarray, steps: int):
    """Batched GD in NumPy: u (B, n, d), v (B, n), lr (B,). Returns f (B, steps + 1) and ntk."""
    u, v = u.copy(), v.copy()
    B = u.shape[0]
    F = np.empty((B, steps + 1))
    K = np.empty((B, steps + 1))
    x2 = float(x @ x)
    for t in range(steps + 1):
        h = u @ x
        f = g * np.einsum("bn,bn->b", v, h)
        F[:, t] = f
        K[:, t] = g * g * (np.einsum("bn,bn->b", h, h) + np.einsum("bn,bn->b", v, v) * x2)
        if t == steps:
            break
        c = (lr * g * (f - y))[:, None]
        u -= c[..., None] * v[..., None] * x[None, None, :]
        v -= c * h
    return F, K


def run(quick: bool = False) -> dict:
    B, n, d, steps = (16, 64, 2, 50) if quick else (256, 1024, 4, 500)
    u, v = uv.init(n, d=d, batch=B, seed=0)
    x = np.linspace(0.5, 1.5, d)
    lr = np.linspace(0.01, 0.2, B)
    g = n**-0.5
    t_core, tr = best_wall(lambda: uv.train(u, v, lr=lr, steps=steps, x=x, y=1.0), 1 if quick else 3)
    t_np, (F, K) = best_wall(lambda: numpy_train(u, v, x, 1.0, g, lr, steps), 1 if quick else 2)
    scale = np.abs(F).max() + 1.0
    assert np.allclose(tr.f, F, rtol=0, atol=1e-10 * scale), "compiled GD disagrees with NumPy"
    assert np.allclose(tr.ntk, K, rtol=1e-10)
    work = B * n * d * steps
    return {
        "batch": B, "width": n, "d": d, "steps": steps,
        "sharpdyn_s": t_core, "numpy_s": t_np, "speedup_vs_numpy": t_np / t_core,
        "sharpdyn_param_steps_per_s": work / t_core,
    }


def suite(ctx: Context) -> Report:
    """Suite area ``uv``: sharpdyn.uv.train vs the NumPy loop, interleaved repeats."""
    B, n, d, steps = (16, 64, 2, 50) if ctx.quick else (256, 1024, 4, 500)
    rep = Report("uv", "UV model: batched parameter-space GD (sharpdyn.uv.train) vs vectorised NumPy")
    u, v = uv.init(n, d=d, batch=B, seed=0)
    x = np.linspace(0.5, 1.5, d)
    lr = np.linspace(0.01, 0.2, B)
    g = n**-0.5
    calls: dict[str, int] = {}
    times, out = interleaved({"sharpdyn": lambda: uv.train(u, v, lr=lr, steps=steps, x=x, y=1.0),
                              "NumPy": lambda: numpy_train(u, v, x, 1.0, g, lr, steps)}, ctx.repeats,
                             min_sample_s=ctx.min_sample_s, calls=calls)
    tr, (F, K) = out["sharpdyn"], out["NumPy"]
    scale = np.abs(F).max() + 1.0
    rep.check("f(t) sharpdyn vs NumPy (max abs / (max|f| + 1))", np.abs(tr.f - F).max() / scale, 1e-10)
    rep.check("NTK(t) sharpdyn vs NumPy", np.max(np.abs(tr.ntk - K) / np.abs(K)), 1e-10)
    row = f"B={B} runs, width {n}, d={d}, {steps} steps"
    figs = rep.add_times("wall time", row, times, calls=calls)
    rep.add_times("parameter-steps per second", row, times, work=B * n * d * steps, unit="param-steps/s", calls=calls)
    rep.headline("UV GD (uv.train) vs NumPy", figs["NumPy"]["median"] / figs["sharpdyn"]["median"], baseline="NumPy")
    return rep


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    print(json.dumps(run(quick=p.parse_args().quick), indent=2))
