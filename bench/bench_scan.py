"""Benchmark: the phase-scan kernel (sharpdyn.scan.uv, C++ blocked SIMD + OpenMP with
runtime ISA dispatch) against the same computation as vectorised in-place NumPy and as a
Numba ``@njit(parallel=True)`` loop, measured in the same run.

Every implementation does the same work per point and step: the exact UV function-space
map, the divergence test against the foundation's bound, the running max of the loss,
and the min/max of the exact sharpness sampled every ``every`` steps. The kernel also
computes the late-window regime statistics and the convergence step on top.

    python -m bench --only scan [--quick]    # in the suite (results.json / results.md)
    python bench/bench_scan.py            # this area alone (older, longer tables), writes bench/results_scan.md

Each measurement checks that the implementations agree (final state and statistics).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sharpdyn import scan

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import Context, Report, interleaved  # noqa: E402
from timing import best_cpu, best_wall  # noqa: E402

KAPPA_WIDTH = 4096.0  # SP width of the benchmark grid (kappa = 1/width)


def bench_points(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """(lr, ntk0, f0, kappa, y): c = lr ntk0 in (0.2, 3.9), f0 in (-1, 1): lazy and
    catapult points that run every step (no early exit flatters any implementation), with
    a few divergent points (c > 4 needs f0 away from y) to exercise the divergence test."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.2, 3.9, n)
    c[::64] = 4.5
    lam = np.ones(n)
    return c / lam, lam, rng.uniform(-1.0, 1.0, n), np.full(n, 1.0 / KAPPA_WIDTH), np.ones(n)


def numpy_scan(lr, lam, f0, kappa, y, steps: int, every: int):
    """Vectorised in-place NumPy: the map, divergence test, max |f - y|, sampled min/max
    sharpness. Diverged points are frozen (masked), not removed."""
    n = lr.size
    f, l = f0.copy(), lam.copy()
    a = lr * lr * kappa
    b = lr * kappa
    bound = 1e6 * (np.abs(f0 - y) + np.abs(y) + 1.0)
    max_abs = np.full(n, -np.inf)
    smin, smax = np.full(n, np.inf), np.full(n, -np.inf)
    alive = np.ones(n, dtype=bool)
    at = np.full(n, -1, dtype=np.int64)
    df, q, t1, t2, s = (np.empty(n) for _ in range(5))
    with np.errstate(all="ignore"):
        for t in range(steps + 1):
            np.subtract(f, y, out=df)
            if t > 0:
                np.abs(df, out=t1)
                bad = alive & ~((t1 <= bound) & np.isfinite(l))
                if bad.any():
                    at[bad] = t
                    alive &= ~bad
                np.maximum(max_abs, np.where(alive, t1, -np.inf), out=max_abs)
            if t % every == 0 or t == steps:
                # sharpness 0.5 l + sqrt(max(0.25 l l + kappa df (3f - y), 0))
                np.multiply(l, 0.25, out=t1)
                t1 *= l
                np.multiply(f, 3.0, out=t2)
                t2 -= y
                np.multiply(kappa, df, out=s)
                s *= t2
                t1 += s
                np.maximum(t1, 0.0, out=t1)
                np.sqrt(t1, out=t1)
                np.multiply(l, 0.5, out=s)
                s += t1
                np.minimum(smin, np.where(alive, s, np.inf), out=smin)
                np.maximum(smax, np.where(alive, s, -np.inf), out=smax)
            if t == steps:
                break
            # q = lr l df; f' = f - q + a f df df; l' = l + b df (q - 4 f)
            np.multiply(lr, l, out=q)
            q *= df
            np.multiply(a, f, out=t1)
            t1 *= df
            t1 *= df
            np.multiply(f, -4.0, out=t2)
            t2 += q
            np.multiply(b, df, out=s)
            t2 *= s
            f -= q
            f += t1
            l += t2
            f[~alive] = y[~alive]  # park diverged points on the fixed point
            l[~alive] = 0.0
    return f, l, at, 0.5 * max_abs * max_abs, smin, smax


def numba_scan_factory():
    """The same loop as a Numba @njit(parallel=True) function (compiled on first call)."""
    import numba

    @numba.njit(parallel=True, cache=False)
    def numba_scan(lr, lam, f0, kappa, y, steps, every):
        n = lr.size
        f_out = np.empty(n)
        l_out = np.empty(n)
        at = np.full(n, -1)
        max_loss = np.empty(n)
        smin = np.empty(n)
        smax = np.empty(n)
        for i in numba.prange(n):
            f = f0[i]
            l = lam[i]
            eta = lr[i]
            k = kappa[i]
            yy = y[i]
            a = eta * eta * k
            b = eta * k
            bound = 1e6 * (abs(f - yy) + abs(yy) + 1.0)
            mabs = -np.inf
            mn = np.inf
            mx = -np.inf
            for t in range(steps + 1):
                df = f - yy
                if t > 0:
                    adf = abs(df)
                    if not (adf <= bound and np.isfinite(l)):
                        at[i] = t
                        break
                    if adf > mabs:
                        mabs = adf
                if t % every == 0 or t == steps:
                    rad = 0.25 * l * l + k * df * (3.0 * f - yy)
                    if rad < 0.0:
                        rad = 0.0
                    s = 0.5 * l + np.sqrt(rad)
                    if s < mn:
                        mn = s
                    if s > mx:
                        mx = s
                if t == steps:
                    break
                q = eta * l * df
                fn = f - q + a * f * df * df
                l = l + b * df * (q - 4.0 * f)
                f = fn
            f_out[i] = f
            l_out[i] = l
            max_loss[i] = 0.5 * mabs * mabs
            smin[i] = mn
            smax[i] = mx
        return f_out, l_out, at, max_loss, smin, smax

    return numba_scan


def _check(res, other, name: str) -> None:
    f, l, at, max_loss, smin, smax = other
    np.testing.assert_array_equal(res.diverged_at, at, err_msg=f"{name}: divergence steps")
    ok = at < 0
    np.testing.assert_allclose(res.f[ok], f[ok], rtol=1e-12, atol=1e-12, err_msg=f"{name}: f")
    np.testing.assert_allclose(res.ntk[ok], l[ok], rtol=1e-12, atol=1e-12, err_msg=f"{name}: ntk")
    np.testing.assert_allclose(res.max_loss[ok], max_loss[ok], rtol=1e-12, err_msg=f"{name}: max loss")
    np.testing.assert_allclose(res.min_sharpness[ok], smin[ok], rtol=1e-12, err_msg=f"{name}: min sharpness")
    np.testing.assert_allclose(res.max_sharpness[ok], smax[ok], rtol=1e-12, err_msg=f"{name}: max sharpness")


def compare(n: int, steps: int, every: int, short_steps: int, repeat: int = 2) -> dict:
    """Point-steps per second of the three implementations on the same n points: wall clock
    with all threads, and per core (one thread, process CPU time, which other jobs on a
    shared machine do not inflate). The slow single-thread runs (NumPy, Numba on one core)
    take ``short_steps`` steps: their cost per point-step does not depend on the run length."""
    pts = bench_points(n)

    def kernel(p, steps_, threads=None):
        return scan.uv(p[0], p[1], p[2], width=KAPPA_WIDTH, y=1.0, steps=steps_, sharpness_every=every,
                       threads=threads)

    t_k, res = best_wall(lambda: kernel(pts, steps), repeat)
    c_k, _ = best_cpu(lambda: kernel(pts, steps, threads=1), repeat)
    c_np, out_np = best_cpu(lambda: numpy_scan(*pts, short_steps, every), 1)
    short = kernel(pts, short_steps)
    _check(short, out_np, "numpy")
    row = {"points": n, "steps": steps, "short_steps": short_steps, "sharpness_every": every,
           "sharpdyn": n * steps / t_k, "numpy": n * short_steps / c_np,
           "sharpdyn_core": n * steps / c_k, "numpy_core": n * short_steps / c_np}
    try:
        import numba

        numba_scan = numba_scan_factory()
    except ImportError:
        row["numba"] = row["numba_core"] = None
        return row
    numba_scan(*(a[:64] for a in pts), 2, every)  # compile outside the timing
    t_nb, out_nb = best_wall(lambda: numba_scan(*pts, steps, every), 1)
    _check(res, out_nb, "numba")
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        c_nb, out_nb1 = best_cpu(lambda: numba_scan(*pts, short_steps, every), 1)
    finally:
        numba.set_num_threads(threads)
    _check(short, out_nb1, "numba, one thread")
    row["numba"] = n * steps / t_nb
    row["numba_core"] = n * short_steps / c_nb
    return row


def scaling(sizes, steps_list, threads_list, base_n: int, base_steps: int, every: int) -> dict:
    out = {"grid": [], "steps": [], "threads": []}
    for n in sizes:
        pts = bench_points(n)
        t, _ = best_wall(lambda pts=pts: scan.uv(pts[0], pts[1], pts[2], width=KAPPA_WIDTH, steps=base_steps,
                                                 sharpness_every=every), 2)
        out["grid"].append((n, t))
    pts = bench_points(base_n)
    for s in steps_list:
        t, _ = best_wall(lambda s=s: scan.uv(pts[0], pts[1], pts[2], width=KAPPA_WIDTH, steps=s,
                                             sharpness_every=every), 2)
        out["steps"].append((s, t))
    for th in threads_list:
        t, _ = best_wall(lambda th=th: scan.uv(pts[0], pts[1], pts[2], width=KAPPA_WIDTH, steps=base_steps, threads=th,
                                               sharpness_every=every), 2)
        c, _ = best_cpu(lambda th=th: scan.uv(pts[0], pts[1], pts[2], width=KAPPA_WIDTH, steps=base_steps, threads=th,
                                              sharpness_every=every), 2)
        out["threads"].append((th, t))
        out.setdefault("threads_cpu", []).append((th, c))
    return out


def isa_rates(n: int, steps: int, every: int) -> dict:
    """Per instruction set: wall-clock rate with all threads, and the per-core rate (one
    thread, measured in process CPU time, so other jobs on the machine do not count)."""
    pts = bench_points(n)
    rates = {}
    for isa in scan.available_isas():
        t, _ = best_wall(lambda isa=isa: scan.uv(pts[0], pts[1], pts[2], width=KAPPA_WIDTH, steps=steps,
                                                 sharpness_every=every, isa=isa), 2)
        cpu = np.inf
        for _ in range(2):
            c0 = time.process_time()
            scan.uv(pts[0], pts[1], pts[2], width=KAPPA_WIDTH, steps=steps, sharpness_every=every, isa=isa, threads=1)
            cpu = min(cpu, time.process_time() - c0)
        rates[isa] = {"wall": n * steps / t, "per_core_cpu": n * steps / cpu}
    return rates


def cubic_rates(n: int, steps: int) -> dict:
    """The cubic-map scan (scan.cubic) over r in (1.5, 3.2): per core (CPU time) and wall."""
    rng = np.random.default_rng(1)
    r = rng.uniform(1.5, 3.2, n)
    x0 = rng.uniform(-1.0, 1.0, n)
    out = {}
    for every in (16, 1):
        t, _ = best_wall(lambda every=every: scan.cubic(r, x0, steps=steps, sharpness_every=every), 2)
        c, _ = best_cpu(lambda every=every: scan.cubic(r, x0, steps=steps, sharpness_every=every, threads=1), 2)
        out[every] = {"wall": n * steps / t, "per_core_cpu": n * steps / c}
    return out


def big_scan(side: int, steps: int, every: int) -> dict:
    """A side x side scan of the normalised (c, Y) plane through the labelled API
    (scan.grid: chunks, xarray result), the library's headline picture."""
    axes = {"c": np.linspace(0.2, 5.0, side), "Y": np.linspace(0.005, 1.6, side)}
    t0 = time.perf_counter()
    ds = scan.grid(axes, steps=steps, sharpness_every=every, progress=False)
    wall = time.perf_counter() - t0
    return {"side": side, "steps": steps, "sharpness_every": every, "wall_s": wall,
            "point_steps_per_s": side * side * steps / wall, "diverged_fraction": float(ds.diverged.mean())}


def run(quick: bool = False) -> dict:
    if quick:
        rows = [compare(4096, 300, 1, 100, repeat=1), compare(4096, 300, 16, 100, repeat=1)]
        return {"compare": rows, "isa": isa_rates(2048, 200, 16), "cubic": cubic_rates(2048, 100),
                "cpus": os.cpu_count(), "isa_default": scan.default_isa()}
    rows = [compare(1 << 20, 2000, 16, 200), compare(1 << 20, 2000, 1, 200)]
    result = {
        "compare": rows,
        "isa": isa_rates(1 << 19, 2000, 16),
        "isa_every_step": isa_rates(1 << 18, 2000, 1),
        "scaling": scaling([1 << 14, 1 << 16, 1 << 18, 1 << 20], [500, 1000, 2000, 4000], [1, 2], 1 << 18, 2000, 16),
        "cubic": cubic_rates(1 << 20, 2000),
        "big": [big_scan(2048, 10_000, 16), big_scan(2048, 10_000, 1)],
        "cpus": os.cpu_count(), "isa_default": scan.default_isa(), "load_average": os.getloadavg(),
    }
    return result


def agreement(res, other) -> tuple[int, float]:
    """(points whose divergence step differs, max relative difference of the final state and
    statistics over the points that did not diverge) between a kernel result and a tuple
    (f, l, diverged_at, max_loss, smin, smax)."""
    f, l, at, max_loss, smin, smax = other
    mismatch = int(np.count_nonzero(res.diverged_at != at))
    ok = (at < 0) & (res.diverged_at < 0)
    worst = 0.0
    for mine, theirs in ((res.f, f), (res.ntk, l), (res.max_loss, max_loss), (res.min_sharpness, smin),
                         (res.max_sharpness, smax)):
        a, b = mine[ok], theirs[ok]
        worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12), initial=0.0)))
    return mismatch, worst


def _numpy_dispatch() -> tuple[list[str], dict[str, bool]]:
    """NumPy's runtime-dispatched SIMD targets and which of them this process uses."""
    try:
        from numpy._core import _multiarray_umath as mu
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as mu  # type: ignore[no-redef]
    return list(mu.__cpu_dispatch__), {f: bool(mu.__cpu_features__.get(f)) for f in mu.__cpu_dispatch__}


def _avx2_only_child(n: int, steps: int, short: int, repeats: int, min_sample_s: float) -> dict:
    """Body of the child process that stands in for an AVX2-only machine: NumPy started with its
    AVX-512 dispatch disabled (``NPY_DISABLE_CPU_FEATURES``, set by the parent) and the kernel forced
    to ``isa="avx2"``, timed interleaved with the default exact sharpness every step."""
    pts = bench_points(n)

    def kernel(steps_: int):
        return lambda: scan.uv(pts[0], pts[1], pts[2], width=KAPPA_WIDTH, y=1.0, steps=steps_, sharpness_every=1,
                               isa="avx2")

    fns = {"sharpdyn, isa='avx2'": kernel(steps), "NumPy in place, AVX-512 off": lambda: numpy_scan(*pts, short, 1)}
    calls: dict[str, int] = {}
    times, out = interleaved(fns, repeats, min_sample_s=min_sample_s, calls=calls)
    mism, err = agreement(kernel(short)(), out["NumPy in place, AVX-512 off"])
    return {"times": times, "calls": calls, "work": {"sharpdyn, isa='avx2'": n * steps,
                                                     "NumPy in place, AVX-512 off": n * short},
            "numpy_dispatch": _numpy_dispatch()[1], "mismatch": mism, "error": err}


def avx2_only_machine(n: int, steps: int, short: int, repeats: int, min_sample_s: float) -> dict | None:
    """Run :func:`_avx2_only_child` in a fresh interpreter whose NumPy cannot use AVX-512 (None
    if this CPU has no AVX2 path); both sides then use at most AVX2, as on an AVX2-only machine."""
    if "avx2" not in scan.available_isas():
        return None
    targets, _ = _numpy_dispatch()
    off = [f for f in targets if f == "X86_V4" or f.startswith("AVX512")]
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=" ".join(off))
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from bench_scan import _avx2_only_child; "
            "print(json.dumps(_avx2_only_child(*json.loads(sys.argv[2]))))")
    args = json.dumps([n, steps, short, repeats, min_sample_s])
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parent), args], env=env,
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["disabled"] = off
    return result


def suite(ctx: Context) -> Report:
    """Suite area ``scan``: scan.uv (all threads and one) vs in-place NumPy and Numba, with the
    sharpness every step (k = 1, the default) and every 16 steps; then every ISA the machine has."""
    n, steps, short = (4096, 300, 100) if ctx.quick else (1 << 18, 2000, 200)
    rep = Report("scan", "Phase-scan kernel scan.uv (map, divergence test, max loss, min/max exact sharpness) "
                 "vs in-place NumPy and Numba")
    rep.notes.append(f"{n:,} points; sharpdyn and Numba run {steps} steps, NumPy {short} (its cost per point-step "
                     "does not depend on the run length); rates in point-steps per second, wall clock; NumPy is "
                     "single-threaded, the kernel and Numba use every core.")
    pts = bench_points(n)
    try:
        numba_scan = numba_scan_factory()
        numba_scan(*(a[:64] for a in pts), 2, 1)  # compile outside the timing
    except ImportError:
        numba_scan = None
        rep.notes.append("Numba not installed: no Numba column")

    def kernel(steps_, every, **kw):
        return lambda: scan.uv(pts[0], pts[1], pts[2], width=KAPPA_WIDTH, y=1.0, steps=steps_, sharpness_every=every,
                               **kw)

    numpy_rate = {}
    for every in (1, 16):
        fns = {"sharpdyn": kernel(steps, every), "sharpdyn, 1 thread": kernel(steps, every, threads=1),
               "NumPy in place": lambda every=every: numpy_scan(*pts, short, every)}
        work = {"sharpdyn": n * steps, "sharpdyn, 1 thread": n * steps, "NumPy in place": n * short}
        if numba_scan is not None:
            fns["Numba parallel"] = lambda every=every: numba_scan(*pts, steps, every)
            work["Numba parallel"] = n * steps
        calls: dict[str, int] = {}
        times, out = interleaved(fns, ctx.repeats, min_sample_s=ctx.min_sample_s, calls=calls)
        row = f"sharpness every {every} step{'s' if every > 1 else ''}"
        figs = {name: rep.add("point-steps per second", row, name, [work[name] / t for t in ts], "point-steps/s",
                              calls_per_sample=calls[name])
                for name, ts in times.items()}
        mism, err = agreement(kernel(short, every)(), out["NumPy in place"])
        rep.check(f"k={every}: divergence steps, sharpdyn vs NumPy (points differing)", mism, 0, kind="count")
        rep.check(f"k={every}: final f, NTK, max loss, min/max sharpness, sharpdyn vs NumPy", err, 1e-12)
        if numba_scan is not None:
            mism, err = agreement(out["sharpdyn"], out["Numba parallel"])
            rep.check(f"k={every}: divergence steps, sharpdyn vs Numba (points differing)", mism, 0, kind="count")
            rep.check(f"k={every}: final state and statistics, sharpdyn vs Numba", err, 1e-12)
        numpy_rate[every] = figs["NumPy in place"]["median"]
        vs_np = figs["sharpdyn"]["median"] / numpy_rate[every]
        rep.headline(f"scan.uv ({scan.default_isa()}) vs in-place NumPy, {row}", vs_np, baseline="NumPy")
        rep.headline(f"scan.uv on one thread vs in-place NumPy (one thread: the per-core ratio), {row}",
                     figs["sharpdyn, 1 thread"]["median"] / numpy_rate[every], baseline="NumPy")
        if numba_scan is not None:
            rep.headline(f"scan.uv vs Numba parallel, {row}",
                         figs["sharpdyn"]["median"] / figs["Numba parallel"]["median"], baseline="Numba")
    n_isa = n // 4 if not ctx.quick else n
    pts = bench_points(n_isa)
    for every in (1, 16):
        fns = {isa: (lambda isa=isa, every=every: scan.uv(pts[0], pts[1], pts[2], width=KAPPA_WIDTH, y=1.0, steps=steps,
                                                          sharpness_every=every, isa=isa))
               for isa in scan.available_isas()}
        calls = {}
        times, out = interleaved(fns, ctx.repeats, min_sample_s=ctx.min_sample_s, calls=calls)
        row = f"sharpness every {every} step{'s' if every > 1 else ''} ({n_isa:,} points)"
        isa_figs = rep.add_times("point-steps per second, each ISA forced (all threads)", row, times,
                                 work=n_isa * steps, unit="point-steps/s", calls=calls)
        if every == 1 and "avx2" in isa_figs:
            vs_np = isa_figs["avx2"]["median"] / numpy_rate[1]
            rep.headline("scan.uv with AVX2 forced vs in-place NumPy, sharpness every step", vs_np,
                         baseline="NumPy", target=">= 30x (issue #13 §4, on a 2-core AVX2 machine)", met=vs_np >= 30)
        base = out["baseline"]
        for isa, res in out.items():
            diff = sum(int(np.count_nonzero(getattr(res, a) != getattr(base, a)) + 0) for a in
                       ("f", "ntk", "max_loss", "min_sharpness", "max_sharpness"))
            rep.check(f"k={every}: ISA {isa} vs baseline (values differing; identical bits expected)", diff, 0,
                      kind="count")
    emu = avx2_only_machine(n, steps, short, ctx.repeats, ctx.min_sample_s)
    if emu is not None:
        row = "sharpness every step, AVX2-only machine emulated"
        figs = {name: rep.add("point-steps per second", row, name, [emu["work"][name] / t for t in ts],
                              "point-steps/s", calls_per_sample=emu["calls"][name])
                for name, ts in emu["times"].items()}
        rep.check("AVX2-only emulation: divergence steps, sharpdyn (avx2) vs NumPy without AVX-512 (points differing)",
                  emu["mismatch"], 0, kind="count")
        rep.check("AVX2-only emulation: final state and statistics, sharpdyn (avx2) vs NumPy without AVX-512",
                  emu["error"], 1e-12)
        rep.check("AVX2-only emulation: NumPy's AVX-512 dispatch is off in the child (targets still on)",
                  sum(emu["numpy_dispatch"].get(f, False) for f in emu["disabled"]), 0, kind="count")
        vs_np = figs["sharpdyn, isa='avx2'"]["median"] / figs["NumPy in place, AVX-512 off"]["median"]
        rep.headline("scan.uv (AVX2) vs in-place NumPy (AVX-512 dispatch off), sharpness every step: an AVX2-only "
                     "machine emulated", vs_np, baseline="NumPy",
                     target=">= 30x (issue #13 §4, on a 2-core AVX2 machine)", met=vs_np >= 30)
        rep.notes.append("AVX2-only machine emulated: a child process whose NumPy starts with NPY_DISABLE_CPU_FEATURES="
                         f"'{' '.join(emu['disabled'])}' (its ufuncs then dispatch to AVX2 at most) times scan.uv "
                         "forced to isa='avx2' against the same in-place NumPy, interleaved. The cores, caches and "
                         "clock are this machine's, not an AVX2-only one's.")
    rep.extra["isa_default"] = scan.default_isa()
    return rep


def write_markdown(r: dict, path: Path) -> None:
    g = lambda v: "n/a" if v is None else f"{v / 1e9:.2f}×10⁹"  # noqa: E731
    lines = [
        "# Phase-scan kernel (bench/bench_scan.py)",
        "",
        f"{r['cpus']}-core machine shared with other jobs while measured (load average "
        f"{', '.join(f'{v:.1f}' for v in r.get('load_average', ()))}: absolute numbers are noisy and low, the "
        f"ratios measured in the same run are the result); default ISA "
        f"`{r['isa_default']}`. Point-steps per second (higher is better); every implementation computes the map, "
        "the divergence test, max loss and min/max sharpness sampled every *k* steps, and agrees with the others "
        "(asserted). The sharpdyn kernel also computes the late-window regime statistics and the convergence step.",
        "",
        "**Wall clock, all threads, on the shared machine** (NumPy is single-threaded; NumPy runs the same points "
        "for fewer steps, see the per-core table):",
        "",
        "| k (sharpness every) | points × steps | sharpdyn | NumPy (in place) | Numba parallel | vs NumPy | vs Numba |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in r["compare"]:
        nb = row["numba"]
        vs_numba = "n/a" if nb is None else f"{row['sharpdyn'] / nb:.1f}×"
        lines.append(
            f"| {row['sharpness_every']} | {row['points']:,} × "
            f"{row['steps']} | {g(row['sharpdyn'])} | {g(row['numpy'])} | {g(nb)} | "
            f"{row['sharpdyn'] / row['numpy']:.0f}× | "
            f"{vs_numba} |"
        )
    cores = r["cpus"]
    lines += [
        "",
        f"**Per core** (one thread each, process CPU time, so the other jobs do not count; same points, NumPy and "
        f"one-thread Numba for {r['compare'][0]['short_steps']} steps), and the idle {cores}-core machine this "
        f"implies (the compiled kernel and Numba use every core, NumPy one):",
        "",
        "| k | sharpdyn / core | NumPy / core | Numba / core | vs NumPy per core | vs NumPy, idle machine | vs Numba |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in r["compare"]:
        nbc = row["numba_core"]
        ratio = row["sharpdyn_core"] / row["numpy_core"]
        vs_numba_core = "n/a" if nbc is None else f"{row['sharpdyn_core'] / nbc:.1f}×"
        lines.append(
            f"| {row['sharpness_every']} | {g(row['sharpdyn_core'])} | {g(row['numpy_core'])} | {g(nbc)} | "
            f"{ratio:.0f}× | {ratio * cores:.0f}× | {vs_numba_core} |"
        )
    lines += ["", "Same kernel, each instruction set forced (k = 16; identical bits on every path, tested). "
              "The per-core rate is one thread timed in process CPU time (insensitive to the other jobs); "
              "× cores is what an idle machine reaches:", "",
              "| ISA | point-steps/s (all threads, wall) | per core (CPU time) | per core × cores |",
              "| --- | --- | --- | --- |"]
    lines += [f"| {k} | {g(v['wall'])} | {g(v['per_core_cpu'])} | {g(v['per_core_cpu'] * r['cpus'])} |"
              for k, v in r["isa"].items()]
    if "isa_every_step" in r:
        lines += ["", "The same with the sharpness every step (k = 1; a square root per point and step):", "",
                  "| ISA | all threads, wall | per core (CPU time) | per core × cores |", "| --- | --- | --- | --- |"]
        lines += [f"| {k} | {g(v['wall'])} | {g(v['per_core_cpu'])} | {g(v['per_core_cpu'] * r['cpus'])} |"
                  for k, v in r["isa_every_step"].items()]
    if "cubic" in r:
        lines += ["", "Cubic-map scan (`scan.cubic`, 2²⁰ points × 2000 steps; no square root in its sharpness):", "",
                  "| k | all threads, wall | per core (CPU time) | per core × cores |", "| --- | --- | --- | --- |"]
        lines += [f"| {k} | {g(v['wall'])} | {g(v['per_core_cpu'])} | {g(v['per_core_cpu'] * r['cpus'])} |"
                  for k, v in r["cubic"].items()]
    for b in r.get("big", []):
        lines += ["", f"**{b['side']} × {b['side']} scan of {b['steps']:,} steps** (`scan.grid` over the normalised "
                  f"(c, Y) plane, k = {b['sharpness_every']}, {b['diverged_fraction']:.0%} of points diverge and stop "
                  f"early): **{b['wall_s']:.1f} s** wall, {g(b['point_steps_per_s'])} point-steps/s."]
    lines.append("")
    if "scaling" in r:
        s = r["scaling"]
        lines += ["Scaling (k = 16; time in seconds):", "",
                  "| grid points (2000 steps) | time | | steps (2^18 points) | time | | threads | time |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for i in range(max(len(s["grid"]), len(s["steps"]), len(s["threads"]))):
            cells = []
            for key in ("grid", "steps", "threads"):
                cells += [f"{s[key][i][0]:,}", f"{s[key][i][1]:.3f}"] if i < len(s[key]) else ["", ""]
            lines.append("| " + " | ".join(cells[:2]) + " | | " + " | ".join(cells[2:4]) + " | | "
                         + " | ".join(cells[4:]) + " |")
        if "threads_cpu" in s:
            lines += ["", "Threads, CPU time (the work done; on the shared machine the wall time of 2 threads only "
                      "drops when the other jobs leave a core free): " + ", ".join(
                          f"{th} thread(s): {c:.3f} s CPU" for th, c in s["threads_cpu"]) + "."]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    result = run(quick=args.quick)
    print(json.dumps(result, indent=2))
    if not args.quick:
        write_markdown(result, Path(__file__).with_name("results_scan.md"))
