"""Benchmark: top-1 and top-3 Hessian eigenvalues at matched accuracy against the real peers.

    python -m bench --only eig [--quick] [--mnist DIR] [--seeds S]

On each network of :mod:`nets` (float32, CPU, one torch thread, MSE, full batch), at
initialisation and after GD at lr = 1.9/lambda_0 (edge of stability), against the float64
reference (Lanczos, residual 1e-9), for each accuracy 1e-3, 1e-4, 1e-6 of the top-1 and the
top-3 eigenvalues (largest relative error of the three): the HVPs, wall time and peak memory
(resident set above the start, Linux) each method needs, per random start (seed), as their
users call them:

- ``sharpdyn``: ``lanczos(HessianOperator(model, "mse", (X, Y)), k=k, eig_tol=accuracy,
  tol=min(1e-6, accuracy))``
  (the requested accuracy is the argument; ``eig_tol`` stops on an error *estimate*, so where that
  run misses the accuracy, eig_tol/10 and /100 with ``max_iter=400``, then the residual rule alone
  (``tol=accuracy``, no estimate) are tried and counted, and a note says so);
- ``PyHessian``: ``hessian(model, criterion, data=(X, Y)).eigenvalues(top_n=k, tol, maxIter)``
  with its defaults (tol 1e-3, maxIter 100) and tightened tol 1e-4, 1e-6, 1e-8 (maxIter 300);
- ``eigenthings Lanczos`` / ``eigenthings power``: ``hessian_eigenthings.lanczos`` (runs exactly
  ``max_iter`` steps: default 2k, then 5 ... 80) and ``deflated_power_iteration`` (default tol
  1e-4 and max_iter 100, then tol 1e-6 and 1e-8 with max_iter 300) on its ``HessianOperator``;
- ``curvlinops + eigsh``: ``scipy.sparse.linalg.eigsh(HessianLinearOperator(...).to_scipy(),
  k, which="LA", tol)`` for tol 1e-2 ... 1e-6 and 0 (machine precision, SciPy's default).

For every peer the cheapest of its settings that reaches the accuracy is reported (an oracle
choice in the peer's favour); "not reached" where none does. ``--quick`` tries fewer settings.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nets  # noqa: E402
from suite import Context, Report, peak_rss_reset, peak_rss_since  # noqa: E402

from sharpdyn.torch import HessianOperator, lanczos  # noqa: E402
from sharpdyn.torch.losses import mse  # noqa: E402

TARGETS = (1e-3, 1e-4, 1e-6)
PEERS = ("PyHessian", "eigenthings Lanczos", "eigenthings power", "curvlinops + eigsh")
LANCZOS_PEERS = ("eigenthings Lanczos", "curvlinops + eigsh")  # algebraically largest: must agree


def _case(name: str, quick: bool, cnn_width: int = 8, mnist: Path | None = None):
    """(model, X, Y, label) as the older benchmarks used (bench_tracking imports it)."""
    n = nets.examples(name, quick)
    X, Y, source = nets.load(n, mnist)
    model, label = nets.build(name, X, quick=quick)
    return model, X, Y, f"{label}, {n} {source} examples"


def sharpdyn_run(model, X, Y, k: int, eig_tol: float | None, seed: int, max_iter: int | None = None,
                 tol: float = 1e-6):
    op = HessianOperator(model, "mse", (X, Y), device="cpu")
    res = lanczos(op, k=k, tol=tol, eig_tol=eig_tol, seed=seed, max_iter=max_iter)
    return np.sort(np.asarray(res.eigenvalues, dtype=float))[::-1], res.n_matvec


@contextlib.contextmanager
def _counted_pyhessian(counter: list[int]):
    import pyhessian  # noqa: F401  (the package exports the class under the module's name)

    ph_mod = sys.modules["pyhessian.hessian"]
    original = ph_mod.hessian_vector_product

    def counted(*a, **kw):
        counter[0] += 1
        return original(*a, **kw)

    ph_mod.hessian_vector_product = counted
    try:
        yield
    finally:
        ph_mod.hessian_vector_product = original


def pyhessian_run(model, X, Y, k: int, tol: float, max_iter: int, seed: int):
    from pyhessian import hessian

    for p in model.parameters():  # PyHessian accumulates into .grad: start clean, as a fresh script would
        p.grad = None
    counter = [0]
    torch.manual_seed(seed)
    with _counted_pyhessian(counter), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # backward(create_graph=True) reference-cycle warning
        h = hessian(model, mse, data=(X, Y), cuda=False)
        values, _ = h.eigenvalues(maxIter=max_iter, tol=tol, top_n=k)
    for p in model.parameters():
        p.grad = None
    return np.sort(np.asarray(values, dtype=float))[::-1], counter[0]


def _counted(fn: Callable, counter: list[int]) -> Callable:
    def wrapped(v):
        counter[0] += 1
        return fn(v)

    return wrapped


def eigenthings_run(model, X, Y, k: int, seed: int, *, lanczos_steps: int | None = None, tol: float | None = None,
                    max_iter: int = 100):
    import hessian_eigenthings as he

    op = he.HessianOperator(model, [(X, Y)], he.supervised_loss(mse))
    counter = [0]
    op.matvec = _counted(op.matvec, counter)
    if lanczos_steps is not None:
        res = he.lanczos(op, k=k, max_iter=lanczos_steps, which="LA", seed=seed)
    else:
        res = he.deflated_power_iteration(op, k=k, tol=tol, max_iter=max_iter, seed=seed)
    return np.sort(res.eigenvalues.double().numpy())[::-1], counter[0]


def curvlinops_run(model, X, Y, k: int, tol: float, seed: int):
    from curvlinops import HessianLinearOperator
    from scipy.sparse.linalg import LinearOperator, eigsh

    params = [p for p in model.parameters() if p.requires_grad]
    H = HessianLinearOperator(model, torch.nn.MSELoss(reduction="mean"), params, [(X, Y)],
                              check_deterministic=False).to_scipy()
    counter = [0]
    op = LinearOperator(H.shape, matvec=_counted(H.matvec, counter), dtype=H.dtype)
    v0 = np.random.default_rng(seed).standard_normal(H.shape[0]).astype(H.dtype)
    values = eigsh(op, k=k, which="LA", tol=tol, v0=v0, return_eigenvectors=False)
    scale = Y.shape[1] / 2.0  # MSELoss(mean) = (2/K) x the suite's (1/2N) sum ||f - y||^2
    return np.sort(values.astype(float) * scale)[::-1], counter[0]


def power_cap(quick: bool) -> int:
    """The iteration cap of the tightened power-iteration settings (per eigenvalue)."""
    return 200 if quick else 300


def peer_grids(k: int, quick: bool) -> dict[str, list[tuple[str, Callable]]]:
    """Each installed peer's settings, loosest first: name -> [(setting, run(model, X, Y, seed))]."""
    grids: dict[str, list] = {}
    power_max = power_cap(quick)
    power_tols = (1e-5,) if quick else (1e-4, 1e-6, 1e-8)
    if importlib.util.find_spec("pyhessian") is not None:
        grids["PyHessian"] = [("defaults (tol 1e-3, maxIter 100)",
                               lambda m, X, Y, s: pyhessian_run(m, X, Y, k, 1e-3, 100, s))]
        grids["PyHessian"] += [(f"tol {t:g}, maxIter {power_max}",
                                (lambda m, X, Y, s, t=t: pyhessian_run(m, X, Y, k, t, power_max, s)))
                               for t in power_tols]
    if importlib.util.find_spec("hessian_eigenthings") is not None:
        grid = (10, 20) if quick else (5, 10, 15, 20, 30, 40, 60, 80)
        steps = sorted({2 * k, *(s for s in grid if s > 2 * k)})
        grids["eigenthings Lanczos"] = [(f"max_iter {s}" + (" (default)" if s == 2 * k else ""),
                                         (lambda m, X, Y, sd, s=s: eigenthings_run(m, X, Y, k, sd, lanczos_steps=s)))
                                        for s in steps]
        grids["eigenthings power"] = [("defaults (tol 1e-4, max_iter 100)",
                                       lambda m, X, Y, sd: eigenthings_run(m, X, Y, k, sd, tol=1e-4))]
        grids["eigenthings power"] += [(f"tol {t:g}, max_iter {power_max}",
                                        (lambda m, X, Y, sd, t=t: eigenthings_run(m, X, Y, k, sd, tol=t,
                                                                                  max_iter=power_max)))
                                       for t in ((), (1e-6, 1e-8))[not quick]]
    if importlib.util.find_spec("curvlinops") is not None:
        grids["curvlinops + eigsh"] = [(f"tol {t:g}" + (" (default)" if t == 0 else ""),
                                        (lambda m, X, Y, s, t=t: curvlinops_run(m, X, Y, k, t, s)))
                                       for t in ((1e-3, 0.0) if quick else (1e-2, 1e-3, 1e-4, 1e-6, 0.0))]
    return grids


def float32_floor(model, X, Y, k: int, ref: np.ndarray, seeds: int) -> float:
    """Largest relative error against the float64 reference of the top-``k`` eigenvalues of the
    float32 operator itself, converged as far as float32 allows (Lanczos, relative residual 1e-7,
    up to 400 steps), over the benchmark's starts and one more: the accuracy below which no method on
    that operator can be trusted (the converged values move with the start by float32 rounding of
    the products, most for the smaller eigenvalues)."""
    op = HessianOperator(model, "mse", (X, Y), device="cpu")
    worst = 0.0
    for seed in [*range(seeds), 12345]:
        res = lanczos(op, k=k, tol=1e-7, max_iter=400, seed=seed)
        values = np.sort(np.asarray(res.eigenvalues, dtype=float))[::-1][:k]
        worst = max(worst, float(np.max(np.abs(values - ref[:k]) / np.abs(ref[:k]))))
    return worst


def timed(fn: Callable[[], tuple[np.ndarray, int]], ref: np.ndarray) -> dict:
    gc.collect()
    base = peak_rss_reset()
    t0 = time.perf_counter()
    values, n_hvp = fn()
    seconds = time.perf_counter() - t0
    peak = peak_rss_since(base)
    k = min(len(values), len(ref))
    err = float(np.max(np.abs(values[:k] - ref[:k]) / np.abs(ref[:k])))
    return {"error": err, "n_hvp": int(n_hvp), "seconds": seconds, "peak_bytes": peak}


def one_case(name: str, state: str, ctx: Context, rep: Report) -> dict:
    n = nets.examples(name, ctx.quick)
    X, Y, source = nets.load(n, ctx.mnist)
    model, label = nets.build(name, X, quick=ctx.quick)
    ref0 = nets.reference(model, X, Y, k=3).numpy()
    if state == "trained":
        steps = 10 if ctx.quick else 100
        nets.train_to_eos(model, X, Y, steps, float(ref0[0]))
        ref = nets.reference(model, X, Y, k=3).numpy()
        row = f"{label}, {n} {source}, after {steps} GD steps at lr = 1.9/λ₀"
    else:
        ref = ref0
        row = f"{label}, {n} {source}, at initialisation"
    short = f"{name} {state}"
    case = {"row": row, "reference": ref.tolist(), "results": {}}
    for k in (1, 3):
        refk = ref[:k]
        grids = peer_grids(k, ctx.quick)
        # per method, per target: the cheapest run of each seed that reaches it
        best: dict[str, dict[float, list]] = {m: {t: [] for t in TARGETS} for m in ["sharpdyn", *grids]}
        runs: dict[str, list] = {}
        floors: dict[int, float] = {}
        for seed in range(ctx.seeds):
            for target in TARGETS:  # sharpdyn: the accuracy is the argument (eig_tol: an error estimate,
                # so where that run misses the accuracy the next tighter setting is tried, as for the peers)
                # eig_tol = target, then /10 and /100, then the residual rule alone (tol = target, no
                # estimate: in float32 the residual^2/gap estimate can claim more than it delivers). A
                # tightened run may use a 400-vector Krylov space (as the reference) instead of the default
                # max(100, 10k + 50): the same iterates, it only stops later if it has not converged.
                settings = [(target / t, min(1e-6, target / t), None if t == 1 else 400) for t in (1, 10, 100)]
                settings.append((None, target, 400))
                for eig_tol, tol, max_iter in settings:
                    r = timed(lambda k=k, e=eig_tol, t=tol, seed=seed, mi=max_iter:
                              sharpdyn_run(model, X, Y, k, e, seed, mi, tol=t), refk)
                    label = f"eig_tol {eig_tol:g}" if eig_tol is not None else f"residual tol {tol:g}"
                    r.update(setting=label + (f", max_iter {max_iter}" if max_iter else ""), seed=seed)
                    runs.setdefault("sharpdyn", []).append(r)
                    if r["error"] <= target:
                        break
                    rep.notes.append(f"{row}: sharpdyn top-{k} with {label} (seed {seed}) "
                                     f"reached {r['error']:.2g}, not {target:g}: tightened")
                if r["error"] <= target:
                    rep.check(f"{short}: sharpdyn top-{k} to {target:g} (seed {seed}; {r['setting']}) "
                              "vs float64 reference", r["error"], target)
                    best["sharpdyn"][target].append(r)
                    continue
                # Missed even at eig_tol / 100: only acceptable where the float32 operator itself cannot
                # resolve the target (its converged eigenvalues differ from float64 by more).
                if k not in floors:
                    floors[k] = float32_floor(model, X, Y, k, refk, ctx.seeds)
                rep.check(f"{short}: sharpdyn top-{k} (seed {seed}; {r['setting']}) vs float64 reference, within "
                          f"twice the float32 floor {floors[k]:.2g} where {target:g} is below it", r["error"],
                          max(target, 2.0 * floors[k]))
                rep.notes.append(f"{row}: top-{k} to {target:g} is below what the float32 operator resolves (its "
                                 f"converged eigenvalues differ from the float64 reference by {floors[k]:.2g}); "
                                 f"sharpdyn reached {r['error']:.2g} (seed {seed}): not reached")
                best["sharpdyn"][target].append(None)
            for peer, grid in grids.items():
                tried = []
                for setting, run in grid:  # loosest first; stop once the finest accuracy is reached
                    r = timed(lambda run=run, seed=seed: run(model, X, Y, seed), refk)
                    r.update(setting=setting, seed=seed)
                    tried.append(r)
                    if r["error"] <= TARGETS[-1] or r["n_hvp"] >= k * power_cap(ctx.quick):
                        break  # finest accuracy reached, or a power iteration hit its cap (tighter: the same)
                runs.setdefault(peer, []).extend(tried)
                for target in TARGETS:
                    ok = [r for r in tried if r["error"] <= target]
                    best[peer][target].append(min(ok, key=lambda r: r["seconds"]) if ok else None)
                best_error = min(r["error"] for r in tried)
                if peer in LANCZOS_PEERS:  # sanity: the peer computes the same Hessian
                    rep.check(f"{short}: {peer} top-{k}, best of its settings (seed {seed}) vs float64 reference",
                              best_error, 1e-2)
                elif best_error > TARGETS[0]:
                    rep.notes.append(f"{row}: {peer} top-{k} (seed {seed}) reaches no better than {best_error:.2g} "
                                     "relative error with any setting (power iteration converges to the "
                                     "eigenvalues largest in magnitude, which may be negative, and slowly "
                                     "when they are close)")
        case["results"][k] = {"runs": runs, "best": {m: {str(t): v for t, v in b.items()} for m, b in best.items()}}
        for target in TARGETS:
            for metric, unit, key, scale in (("HVPs", "HVPs", "n_hvp", 1.0), ("wall time", "s", "seconds", 1.0),
                                             ("peak memory above start", "MiB", "peak_bytes", 2.0**-20)):
                table = f"top-{k} eigenvalue{'s' if k > 1 else ''} to {target:g} relative error: {metric}"
                for method, per_target in best.items():
                    got = per_target[target]
                    if any(g is None for g in got):
                        rep.add(table, row, method, float("nan"), unit, reached=False,
                                reached_seeds=sum(g is not None for g in got))
                    elif key == "peak_bytes" and any(g[key] is None for g in got):
                        continue
                    else:
                        rep.add(table, row, method, [g[key] * scale for g in got], unit, reached=True,
                                settings=[g["setting"] for g in got])
        # headline ratios at 1e-4
        med = {m: _median_or_none(best[m][1e-4], "seconds") for m in best}
        hv = {m: _median_or_none(best[m][1e-4], "n_hvp") for m in best}
        peers = {m: t for m, t in med.items() if m != "sharpdyn" and t is not None}
        if k == 1 and peers:
            fastest = min(peers, key=peers.get)
            r = med["sharpdyn"] / peers[fastest]
            rep.headline(f"{short}: top-1 to 1e-4, time of sharpdyn / fastest peer ({fastest})", r, baseline=fastest,
                         unit="x (lower is better)", target="<= 0.6", met=r <= 0.6)
        if k == 3 and hv.get("PyHessian") is not None:
            r = hv["PyHessian"] / hv["sharpdyn"]
            rep.headline(f"{short}: top-3 to 1e-4, HVPs of PyHessian / sharpdyn", r, baseline="PyHessian",
                         target=">= 2", met=r >= 2)
        elif k == 3 and "PyHessian" in grids:
            rep.notes.append(f"{row}: PyHessian did not reach 1e-4 on the top-3 with any setting")
        if k == 3 and med.get("curvlinops + eigsh") is not None:
            r = med["curvlinops + eigsh"] / med["sharpdyn"]
            rep.headline(f"{short}: top-3 to 1e-4, time of curvlinops + eigsh / sharpdyn", r,
                         baseline="curvlinops + eigsh", target=">= 1.5", met=r >= 1.5)
    return case


def _median_or_none(runs: list, key: str):
    if not runs or any(r is None for r in runs):
        return None
    return float(np.median([r[key] for r in runs]))


def cases(ctx: Context) -> list[tuple[str, str]]:
    if ctx.quick:
        return [c for c in (("mlp", "init"), ("mlp", "trained"), ("cnn", "init")) if c[0] in ctx.nets]
    return [(n, s) for n in ctx.nets for s in ("init", "trained")]


def suite(ctx: Context, only: list[tuple[str, str]] | None = None) -> Report:
    rep = Report("eig", "Top-1 / top-3 Hessian eigenvalues at matched accuracy, float32 CPU, one torch thread")
    rep.notes.append(f"{ctx.seeds} random start(s) per method; each cell: median (min–max) over the starts of "
                     "the cheapest setting that reaches the accuracy; peers' settings chosen by an oracle in their "
                     "favour, sharpdyn's is the accuracy itself (eig_tol).")
    missing = [p for p, mod in (("PyHessian", "pyhessian"), ("hessian-eigenthings", "hessian_eigenthings"),
                                ("curvlinops", "curvlinops")) if importlib.util.find_spec(mod) is None]
    if missing:
        rep.notes.append(f"not installed (pip install '.[bench]'): {', '.join(missing)}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name, state in (only or cases(ctx)):
            t0 = time.perf_counter()
            rep.extra[f"{name} {state}"] = one_case(name, state, ctx, rep)
            print(f"[bench]   eig {name} {state}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    finally:
        torch.set_num_threads(threads)
    return rep
