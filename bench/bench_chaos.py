"""Benchmark: orbit diagram of the cubic map x' = r x (1 - x^2), 4,000 values of r in [1, 3],
10^4 transient + 10^3 kept steps, from x0 = 0.3. Measured in one run:

- ``sharpdyn.chaos.orbit_diagram`` (C++: SIMD across parameters in SoA blocks of 64, AVX-512 /
  AVX2 / baseline chosen at run time, OpenMP across blocks; divergence bookkeeping included;
  exact cycle detection cuts the transient short in periodic windows, and the result is
  streamed out during the next block's transient),
- NumPy vectorised over parameters, twice: the expression as one writes it,
  ``x = r * x * (1 - x * x)`` (a temporary per operation), and a hand-tuned in-place version
  (four ufunc calls per step into preallocated buffers, no temporaries); neither checks for
  divergence,
- Numba ``@njit(parallel=True)``, ``prange`` over parameters (same threads as sharpdyn), the
  natural per-parameter loop; compiled before timing.

    python -m bench --only chaos [--quick]     # in the suite (results.json / results.md)
    python bench/bench_chaos.py            # this area alone, JSON on stdout
    python bench/bench_chaos.py --r-range 2.3 3    # the chaotic band only: no shortcut possible

All three give identical bits (same expression, no FMA contraction); the run asserts it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from sharpdyn import _core, chaos

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import Context, Report, interleaved  # noqa: E402
from timing import best_cpu, best_wall  # noqa: E402


def numpy_orbits_expression(r: np.ndarray, x0: float, n_transient: int, n_keep: int) -> np.ndarray:
    """Vectorised NumPy as usually written: returns (P, n_keep)."""
    x = np.full(r.shape, x0)
    out = np.empty((n_keep, r.size))
    for _ in range(n_transient):
        x = r * x * (1.0 - x * x)
    for k in range(n_keep):
        out[k] = x
        if k + 1 < n_keep:
            x = r * x * (1.0 - x * x)
    return out.T


def numpy_orbits(r: np.ndarray, x0: float, n_transient: int, n_keep: int) -> np.ndarray:
    """In-place vectorised NumPy: returns (P, n_keep)."""
    x = np.full(r.shape, x0)
    tmp = np.empty_like(x)
    out = np.empty((n_keep, r.size))

    def step():
        np.multiply(x, x, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        np.multiply(x, r, out=x)
        np.multiply(x, tmp, out=x)

    for _ in range(n_transient):
        step()
    for k in range(n_keep):
        out[k] = x
        if k + 1 < n_keep:
            step()
    return out.T


def _numba_kernel():
    try:
        import numba
    except ImportError:  # pragma: no cover - bench extra not installed
        return None

    @numba.njit(parallel=True, fastmath=False, cache=False)
    def orbits(r, x0, n_transient, n_keep):
        P = r.size
        out = np.empty((P, n_keep))
        for i in numba.prange(P):
            ri = r[i]
            x = x0
            for _ in range(n_transient):
                x = ri * x * (1.0 - x * x)
            for k in range(n_keep):
                out[i, k] = x
                x = ri * x * (1.0 - x * x)
        return out

    return orbits


def run(quick: bool = False, r_min: float = 1.0, r_max: float = 3.0) -> dict:
    P, T, K = (300, 200, 50) if quick else (4000, 10_000, 1000)
    repeat = 1 if quick else 7
    r = np.linspace(r_min, r_max, P)
    threads = _core.max_threads()
    t_sd, d = best_wall(lambda: chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=T, n_keep=K), repeat)
    t_sd1, d1 = best_wall(lambda: chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=T, n_keep=K, threads=1), repeat)
    t_np, ref = best_wall(lambda: numpy_orbits(r, 0.3, T, K), 1 if quick else 3)
    t_npe, ref_e = best_wall(lambda: numpy_orbits_expression(r, 0.3, T, K), 1 if quick else 3)
    assert np.array_equal(d.states, ref), "sharpdyn and NumPy orbits differ"
    assert np.array_equal(ref_e, ref)
    assert np.array_equal(d1.states, ref)
    c_sd1 = best_cpu(lambda: chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=T, n_keep=K, threads=1), repeat)[0]
    c_np = best_cpu(lambda: numpy_orbits(r, 0.3, T, K), 1 if quick else 2)[0]
    res = {
        "params": P, "r_range": [r_min, r_max], "n_transient": T, "n_keep": K, "threads": threads,
        "cpu_count": os.cpu_count(),
        "sharpdyn_s": t_sd, "sharpdyn_1thread_s": t_sd1, "numpy_s": t_np,
        "numpy_expression_s": t_npe, "speedup_vs_numpy_expression": t_npe / t_sd,
        "speedup_vs_numpy": t_np / t_sd, "speedup_vs_numpy_1thread": t_np / t_sd1,
        "sharpdyn_1thread_cpu_s": c_sd1, "numpy_cpu_s": c_np, "cpu_time_ratio_vs_numpy": c_np / c_sd1,
        "map_steps_per_s": P * (T + K - 1) / t_sd,
    }
    kernel = _numba_kernel()
    if kernel is not None:
        kernel(r[:8], 0.3, 2, 2)  # compile outside the timing
        t_nb, nb = best_wall(lambda: kernel(r, 0.3, T, K), repeat)
        assert np.array_equal(nb, ref), "Numba and NumPy orbits differ"
        res.update({"numba_s": t_nb, "speedup_vs_numba": t_nb / t_sd})
    return res


def suite(ctx: Context, r_min: float = 1.0, r_max: float = 3.0) -> Report:
    """Suite area ``chaos``: orbit diagram, sharpdyn (all threads, one thread) vs NumPy (in
    place, as an expression) vs Numba, interleaved; identical bits asserted."""
    P, T, K = (300, 200, 50) if ctx.quick else (4000, 10_000, 1000)
    rep = Report("chaos", "Orbit diagram of the cubic map x' = r x (1 - x^2), r in "
                 f"[{r_min}, {r_max}], {P} values, {T} transient + {K} kept steps")
    r = np.linspace(r_min, r_max, P)
    fns = {"sharpdyn": lambda: chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=T, n_keep=K).states,
           "sharpdyn, 1 thread": lambda: chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=T, n_keep=K,
                                                            threads=1).states,
           "NumPy in place": lambda: numpy_orbits(r, 0.3, T, K),
           "NumPy expression": lambda: numpy_orbits_expression(r, 0.3, T, K)}
    kernel = _numba_kernel()
    if kernel is not None:
        kernel(r[:8], 0.3, 2, 2)  # compile outside the timing
        fns["Numba parallel"] = lambda: kernel(r, 0.3, T, K)
    else:
        rep.notes.append("Numba not installed: no Numba column")
    calls: dict[str, int] = {}
    times, out = interleaved(fns, ctx.repeats, min_sample_s=ctx.min_sample_s, calls=calls)
    ref = out["NumPy in place"]
    for name, states in out.items():
        if name != "NumPy in place":
            rep.check(f"{name} vs NumPy in place: mismatching values (identical bits expected)",
                      int(np.count_nonzero(states != ref)), 0, kind="count")
    row = f"{P} r values x {T + K} steps"
    figs = rep.add_times("wall time", row, times, calls=calls)
    rep.add_times("map steps per second", row, times, work=P * (T + K - 1), unit="steps/s", calls=calls)
    best = figs["sharpdyn"]["median"]
    rep.headline("orbit diagram vs NumPy in place", figs["NumPy in place"]["median"] / best, baseline="NumPy")
    rep.headline("orbit diagram on one thread vs NumPy in place (one thread: the per-core ratio, robust to other "
                 "jobs on the machine)", figs["NumPy in place"]["median"] / figs["sharpdyn, 1 thread"]["median"],
                 baseline="NumPy")
    if "Numba parallel" in figs:
        rep.headline("orbit diagram vs Numba parallel", figs["Numba parallel"]["median"] / best, baseline="Numba")
    rep.extra["threads"] = int(_core.max_threads())
    return rep


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--r-range", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"),
                   help="parameter range (default 1 3; 2.3 3 is the chaotic band, where no lane "
                        "settles into an exact cycle and the transient cannot be shortened)")
    a = p.parse_args()
    print(json.dumps(run(quick=a.quick, r_min=a.r_range[0], r_max=a.r_range[1]), indent=2))
