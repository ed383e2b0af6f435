"""Benchmark: exact Hessians and batched training of small MLPs (sharpdyn.mlp, C++) against
PyTorch, measured in one run on the same machine.

    python -m bench --only mlp [--quick]  # in the suite (results.json / results.md)
    python bench/bench_mlp.py            # this area alone (several minutes; JSON on stdout)
    python bench/bench_mlp.py --markdown bench/results_mlp.md

1. Hessian + top eigenvalue of a tanh MLP (MSE, 10 outputs) on 256 scikit-learn digits, at
   about 1,000 and 4,000 parameters: sharpdyn (structured exact Hessian in C++ + Lanczos)
   vs ``torch.autograd.functional.hessian`` + ``torch.linalg.eigvalsh`` and vs
   ``torch.func.hessian`` (vmapped forward-over-reverse) + ``torch.linalg.eigvalsh``;
   JAX (``jax.hessian`` + ``eigh``) when installed.
2. A sweep of 256 training runs (4 widths x 16 normalised learning rates x 4 seeds,
   1,000 full-batch GD steps, sharpness every 10 steps) with ``sharpdyn.mlp.train`` vs the
   same runs done one after another in PyTorch (autograd gradients, sharpness by SciPy's
   Lanczos ``eigsh`` on double-backward HVPs, tol 1e-7 as sharpdyn's, one intra-op thread).
   The torch side times a subset of runs and extrapolates to all 256 (stated in the output).

Every measurement checks that the implementations agree.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh

from sharpdyn import _core, mlp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import Context, Report, interleaved  # noqa: E402
from timing import best_wall  # noqa: E402


def digits(n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.data[:n].astype(np.float64)
    X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    return X, np.eye(10)[d.target[:n]]


def _torch_loss(net: mlp.MLP, X: np.ndarray, Y: np.ndarray):
    module = net.to_torch()
    shapes = [(name, p.shape, p.numel()) for name, p in module.named_parameters()]
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    N = X.shape[0]

    def loss(theta):
        chunks, off = {}, 0
        for name, shape, size in shapes:
            chunks[name] = theta[off:off + size].reshape(shape)
            off += size
        F = torch.func.functional_call(module, chunks, (Xt,))
        return 0.5 * ((F - Yt) ** 2).sum() / N

    return loss


def hessian_bench(hidden: int, n: int, repeat: int) -> dict:
    X, Y = digits(n)
    net = mlp.MLP([64, hidden, 10], activation="tanh", seed=0)
    theta = torch.tensor(net.params)
    loss = _torch_loss(net, X, Y)

    def ours():
        H = net.hessian(X, Y)
        return H, mlp.lanczos(H, 1, tol=1e-10).eigenvalues[0]

    def autograd():
        H = torch.autograd.functional.hessian(loss, theta)
        return H, torch.linalg.eigvalsh(H)[-1].item()

    def func():
        H = torch.func.hessian(loss)(theta)
        return H, torch.linalg.eigvalsh(H)[-1].item()

    # Warm-up: torch.func loads its forward-mode decompositions on first use.
    small = torch.zeros(3, dtype=torch.float64)
    torch.func.hessian(lambda v: (v**3).sum())(small)
    torch.autograd.functional.hessian(lambda v: (v**3).sum(), small)
    t_ours, (H, top) = best_wall(ours, repeat)
    t_hess_only, _ = best_wall(lambda: net.hessian(X, Y), repeat)
    t_auto, (Ha, top_a) = best_wall(autograd, 1)
    t_func, (Hf, top_f) = best_wall(func, 1)
    scale = np.abs(H).max()
    assert np.abs(H - Ha.numpy()).max() <= 1e-10 * scale, "Hessian disagrees with torch.autograd"
    assert np.abs(H - Hf.numpy()).max() <= 1e-10 * scale, "Hessian disagrees with torch.func"
    assert abs(top - top_a) <= 1e-8 * abs(top_a) and abs(top - top_f) <= 1e-8 * abs(top_f)
    out = {
        "params": net.num_params, "examples": n, "sharpdyn_s": t_ours, "sharpdyn_hessian_only_s": t_hess_only,
        "torch_autograd_s": t_auto, "torch_func_s": t_func,
        "speedup_vs_autograd": t_auto / t_ours, "speedup_vs_func": t_func / t_ours, "sharpness": top,
    }
    jax_fn = _jax_hessian(net, X, Y)
    if jax_fn is None:
        out["jax"] = "not installed"
    else:
        t_jax, top_j = best_wall(lambda: float(np.linalg.eigvalsh(jax_fn())[-1]), 1)
        out["jax_s"] = t_jax
        out["speedup_vs_jax"] = t_jax / t_ours
        assert abs(top - top_j) <= 1e-8 * abs(top_j)
    return out


def torch_run(net: mlp.MLP, X: np.ndarray, Y: np.ndarray, lr: float, steps: int, every: int,
              divergence_factor: float = 1e12) -> tuple[np.ndarray, np.ndarray]:
    """One GD run in plain torch: full-batch loss every step, sharpness (SciPy eigsh on
    double-backward HVPs) every ``every`` steps; stops like sharpdyn on divergence."""
    module = net.to_torch()
    params = list(module.parameters())
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    N = X.shape[0]
    P = net.num_params
    losses = np.full(steps + 1, np.nan)
    sharp = np.full(steps // every + 1, np.nan)
    bound = np.inf
    for t in range(steps + 1):
        sample = t % every == 0
        L = 0.5 * ((module(Xt) - Yt) ** 2).sum() / N
        lt = L.item()
        if t == 0:
            bound = divergence_factor * (abs(lt) + 1.0)
        if not np.isfinite(lt) or lt > bound:
            break
        losses[t] = lt
        grads = torch.autograd.grad(L, params, create_graph=sample)
        if sample:
            flat = torch.cat([g.reshape(-1) for g in grads])

            def matvec(v, flat=flat):
                hv = torch.autograd.grad(flat @ torch.as_tensor(np.ravel(v)), params, retain_graph=True)
                return torch.cat([h.reshape(-1) for h in hv]).numpy()

            op = LinearOperator((P, P), matvec=matvec, dtype=np.float64)
            sharp[t // every] = eigsh(op, k=1, which="LA", tol=1e-7, v0=np.ones(P))[0][0]
        if t == steps:
            break
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g.detach()
    return losses, sharp


def sweep_bench(quick: bool, threads: int | None = None) -> dict:
    if quick:
        n, widths, cs, seeds, steps, every, subset = 16, [2, 3], [0.5, 1.5, 3.0], [0, 1], 20, 10, 1
    else:
        n, widths, cs, seeds, steps, every, subset = (64, [4, 8, 12, 16], list(np.linspace(0.25, 4.0, 16)),
                                                      [0, 1, 2, 3], 1000, 10, 8)
    X, Y = digits(n)
    spec = mlp.MLPSpec((64, widths[0], 10), activation="tanh")
    t0 = time.perf_counter()
    runs = mlp.train(spec, X, Y, c=cs, steps=steps, sharpness_every=every, seeds=seeds, widths=widths, threads=threads)
    t_ours = time.perf_counter() - t0
    total = runs.loss.size // runs.loss.shape[-1]
    # Torch: a subset of runs spread over the grid, one after another, on one intra-op thread
    # (faster than several for networks this small, and it avoids oversubscription).
    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    flat_ids = rng.choice(total, size=subset, replace=False)
    t_torch = 0.0
    worst_loss = worst_sharp = 0.0
    compare = min(steps, 100)
    for fid in flat_ids:
        w, r, s = np.unravel_index(fid, runs.lr.shape)
        net = mlp.MLP.from_spec(spec.with_hidden_width(widths[w]), seed=seeds[s])
        t1 = time.perf_counter()
        losses, sharp = torch_run(net, X, Y, float(runs.lr[w, r, s]), steps, every)
        t_torch += time.perf_counter() - t1
        ours_loss = runs.loss[w, r, s]
        # Early steps agree to rounding (long EoS runs are chaotic, so only the start is compared).
        k = compare
        both = np.isfinite(ours_loss[:k]) & np.isfinite(losses[:k])
        assert np.allclose(ours_loss[:k][both], losses[:k][both], rtol=1e-8), "loss differs from torch"
        assert abs(runs.sharpness[w, r, s, 0] - sharp[0]) <= 1e-6 * abs(sharp[0]), "sharpness differs from torch"
        worst_loss = max(worst_loss, float(np.max(np.abs(ours_loss[:k][both] - losses[:k][both])
                                                  / np.abs(losses[:k][both]), initial=0.0)))
        worst_sharp = max(worst_sharp, abs(runs.sharpness[w, r, s, 0] - sharp[0]) / abs(sharp[0]))
    torch.set_num_threads(threads_before)
    per_run = t_torch / subset
    return {
        "runs": int(total), "steps": steps, "sharpness_every": every, "examples": n, "widths": widths,
        "params": [mlp.MLPSpec((64, w, 10)).num_params for w in widths],
        "threads": int(threads or _core.max_threads()), "sharpdyn_s": t_ours,
        "torch_threads": 1, "torch_runs_timed": subset, "torch_per_run_s": per_run,
        "torch_extrapolated_s": per_run * total,
        "speedup": per_run * total / t_ours,
        "regime_counts": {str(k): int(v) for k, v in zip(*np.unique(runs.regime(), return_counts=True))},
        "max_rel_error_loss": worst_loss, "max_rel_error_sharpness": worst_sharp, "compared_steps": compare,
    }


def run(quick: bool = False) -> dict:
    sizes = [(2, 16)] if quick else [(13, 256), (53, 256)]
    threads_before = torch.get_num_threads()
    if quick:  # tiny problems: one torch thread, robust on an oversubscribed CI machine
        torch.set_num_threads(1)
    try:
        return _run(quick, sizes)
    finally:
        torch.set_num_threads(threads_before)


def _run(quick: bool, sizes: list) -> dict:
    return {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, "
                   f"{_core.max_threads()} OpenMP threads",
        "hessian": [hessian_bench(h, n, 1 if quick else 3) for h, n in sizes],
        "sweep": sweep_bench(quick),
    }


JAX_MAX_PARAMS = 2000


def _jax_hessian(net: mlp.MLP, X: np.ndarray, Y: np.ndarray):
    """``jax.jit(jax.hessian(loss))`` of the same MLP, or None when JAX is not installed."""
    if importlib.util.find_spec("jax") is None:
        return None
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)
    w = net.spec.widths

    def jloss(p):
        o = w[0] * w[1]
        W0 = p[:o].reshape(w[1], w[0])
        b0 = p[o:o + w[1]]
        o += w[1]
        W1 = p[o:o + w[1] * w[2]].reshape(w[2], w[1])
        o += w[1] * w[2]
        b1 = p[o:]
        F = jnp.tanh(Xj @ W0.T + b0) @ W1.T + b1
        return 0.5 * jnp.sum((F - Yj) ** 2) / Xj.shape[0]

    hj = jax.jit(jax.hessian(jloss))
    p = jnp.asarray(net.params)
    hj(p).block_until_ready()  # compile outside the timing
    return lambda: np.asarray(hj(p))


def hessian_case(rep: Report, ctx: Context, hidden: int, n: int, omp_threads: int) -> None:
    """Dense Hessian and its top eigenvalue for the 64-``hidden``-10 MLP on ``n`` digits: figures,
    checks and headlines into ``rep``."""
    X, Y = digits(n)
    net = mlp.MLP([64, hidden, 10], activation="tanh", seed=0)
    theta = torch.tensor(net.params)
    loss = _torch_loss(net, X, Y)
    fns = {"sharpdyn mlp.hessian": lambda: net.hessian(X, Y, threads=omp_threads),
           "sharpdyn mlp.hessian, 1 thread": lambda: net.hessian(X, Y, threads=1),
           "torch.autograd.functional.hessian": lambda: torch.autograd.functional.hessian(loss, theta).numpy(),
           "torch.func.hessian": lambda: torch.func.hessian(loss)(theta).numpy()}
    jax_fn = _jax_hessian(net, X, Y) if net.num_params <= JAX_MAX_PARAMS else None
    if jax_fn is None and importlib.util.find_spec("jax") is not None:
        rep.notes.append(f"P = {net.num_params}: jax.hessian not timed (above {JAX_MAX_PARAMS} parameters; "
                         "with it a full run of this area took 10 minutes instead of 2 on a 2-core machine)")
    if jax_fn is not None:
        fns["jax.hessian (jit)"] = jax_fn
    calls: dict[str, int] = {}
    times, out = interleaved(fns, ctx.repeats, warmup=True, min_sample_s=ctx.min_sample_s, calls=calls)
    H = out["sharpdyn mlp.hessian"]
    eig_times, eig_out = interleaved({"numpy.linalg.eigvalsh": lambda: np.linalg.eigvalsh(H)[-1],
                                      "sharpdyn mlp.lanczos (tol 1e-10)":
                                          lambda: mlp.lanczos(H, 1, tol=1e-10).eigenvalues[0]},
                                     ctx.repeats, warmup=True, min_sample_s=ctx.min_sample_s, calls=calls)
    top = float(eig_out["numpy.linalg.eigvalsh"])
    rep.check(f"P={net.num_params}: top eigenvalue, sharpdyn mlp.lanczos vs numpy eigvalsh",
              abs(eig_out["sharpdyn mlp.lanczos (tol 1e-10)"] - top) / abs(top), 1e-8)
    for name, other in out.items():
        if name == "sharpdyn mlp.hessian":
            continue
        rep.check(f"P={net.num_params}: Hessian, sharpdyn vs {name} (max abs / max |H|)",
                  np.abs(H - other).max() / np.abs(H).max(), 1e-10)
        # Weyl: |lambda_max(H) - lambda_max(H')| <= ||H - H'||_2 <= ||H - H'||_F
        rep.check(f"P={net.num_params}: top eigenvalue, sharpdyn vs {name} (bound ||H - H'||_F / "
                  "lambda_max, Weyl)", np.linalg.norm(H - other) / abs(top), 1e-8)
    row = f"P = {net.num_params}, {n} digits"
    figs = rep.add_times("dense Hessian: wall time", row, times, calls=calls)
    eig_figs = rep.add_times("top eigenvalue of the dense Hessian: wall time", row, eig_times, calls=calls)
    eig = eig_figs["numpy.linalg.eigvalsh"]["median"]
    ours, ours1 = figs["sharpdyn mlp.hessian"]["median"], figs["sharpdyn mlp.hessian, 1 thread"]["median"]
    for name in fns:
        if not name.startswith("sharpdyn"):
            rep.headline(f"dense Hessian (P = {net.num_params}) vs {name}", figs[name]["median"] / ours,
                         baseline=name)
            rep.headline(f"dense Hessian (P = {net.num_params}), sharpdyn on one thread vs {name}",
                         figs[name]["median"] / ours1, baseline=name)
            rep.headline(f"dense Hessian + top eigenvalue by eigvalsh (P = {net.num_params}) vs {name}",
                         (figs[name]["median"] + eig) / (ours + eig), baseline=name)


def suite(ctx: Context) -> Report:
    """Suite area ``mlp``: dense Hessian (sharpdyn.mlp vs torch.autograd.functional, torch.func and
    JAX, interleaved), the top eigenvalue of that Hessian (the same ``eigvalsh`` for every side,
    timed once per repeat; and sharpdyn's Lanczos), then the batched training sweep vs sequential
    torch."""
    rep = Report("mlp", "Exact Hessians of small tanh MLPs (64-h-10, MSE, digits) and batched training sweeps")
    sizes = [(2, 16)] if ctx.quick else [(13, 256), (53, 256)]
    # torch.set_num_threads also sets the OpenMP default that sharpdyn's kernels read (the two share
    # libgomp's thread-count setting), so sharpdyn's thread count is read first and passed explicitly.
    omp_threads = int(_core.max_threads())
    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    rep.notes.append(f"torch runs on one intra-op thread (fastest for these sizes); sharpdyn on {omp_threads} OpenMP "
                     "threads (passed explicitly: torch.set_num_threads(1) would also set sharpdyn's default to 1) "
                     "and on one thread")
    rep.notes.append("The dense Hessians are timed alone, interleaved; the top eigenvalue of the P x P Hessian "
                     "(numpy.linalg.eigvalsh, the same call and cost whatever made the matrix) is timed on its own "
                     "and added to every side for the 'Hessian + top eigenvalue' ratios. Timed with it in every "
                     "sample, its run-to-run noise (multi-threaded LAPACK, seconds at P = 3,985) swamped the "
                     "differences between the Hessians: 0.65x-1.69x between runs.")
    try:
        small = torch.zeros(3, dtype=torch.float64)  # torch.func loads its decompositions on first use
        torch.func.hessian(lambda v: (v**3).sum())(small)
        torch.autograd.functional.hessian(lambda v: (v**3).sum(), small)
        for hidden, n in sizes:
            hessian_case(rep, ctx, hidden, n, omp_threads)
        if importlib.util.find_spec("jax") is None:
            rep.notes.append("JAX not installed: no jax.hessian column")
        sw = sweep_bench(ctx.quick, threads=omp_threads)
    finally:
        torch.set_num_threads(threads_before)
    rep.check("sweep: loss of the first steps, sharpdyn vs torch (sampled runs)", sw["max_rel_error_loss"], 1e-8)
    rep.check("sweep: first sharpness, sharpdyn vs torch eigsh (sampled runs)", sw["max_rel_error_sharpness"], 1e-6)
    row = f"{sw['runs']} runs x {sw['steps']} steps, sharpness every {sw['sharpness_every']}"
    rep.add("training sweep: wall time (one run; torch extrapolated from the timed runs)", row,
            "sharpdyn.mlp.train (all runs at once)", sw["sharpdyn_s"], "s")
    rep.add("training sweep: wall time (one run; torch extrapolated from the timed runs)", row,
            f"torch + eigsh, sequential ({sw['torch_runs_timed']} runs timed)", sw["torch_extrapolated_s"], "s")
    rep.headline("training sweep vs sequential torch + SciPy eigsh", sw["speedup"], baseline="torch")
    rep.extra["sweep"] = sw
    return rep


def markdown(res: dict) -> str:
    lines = ["# MLP benchmark (bench/bench_mlp.py)", "", f"Machine: {res['machine']}.", "",
             "## Hessian + top eigenvalue (tanh MLP 64-h-10, MSE, 256 digits)", "",
             "| P | sharpdyn (Hessian + Lanczos) | Hessian only | torch.autograd.functional.hessian + eigvalsh | "
             "torch.func.hessian + eigvalsh | speedup vs autograd | speedup vs func |",
             "|---|---|---|---|---|---|---|"]
    for h in res["hessian"]:
        lines.append(f"| {h['params']} | {h['sharpdyn_s']:.3f} s | {h['sharpdyn_hessian_only_s']:.3f} s | "
                     f"{h['torch_autograd_s']:.2f} s | {h['torch_func_s']:.2f} s | "
                     f"{h['speedup_vs_autograd']:.1f}x | {h['speedup_vs_func']:.1f}x |")
    jax = res["hessian"][0].get("jax", None)
    lines += ["", f"JAX: {jax if jax else 'see jax_s'}.", "", "## Sweep of training runs", ""]
    s = res["sweep"]
    lines += [
        f"{s['runs']} runs (hidden widths {s['widths']} = {s['params']} parameters, x 16 normalised learning "
        f"rates c in [0.25, 4] x 4 seeds), {s['steps']} full-batch GD steps on {s['examples']} digits, "
        f"sharpness (Lanczos on exact HVPs) every {s['sharpness_every']} steps.", "",
        f"| sharpdyn.mlp.train (all runs, {s['threads']} OpenMP threads) | torch, sequential, 1 thread (extrapolated) "
        "| speedup |", "|---|---|---|",
        f"| {s['sharpdyn_s']:.1f} s | {s['torch_extrapolated_s']:.0f} s "
        f"({s['torch_runs_timed']} runs timed, {s['torch_per_run_s']:.2f} s each) | {s['speedup']:.0f}x |", "",
        f"Regimes found: {s['regime_counts']}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--markdown", default=None, help="also write a markdown table to this path")
    args = p.parse_args()
    result = run(quick=args.quick)
    print(json.dumps(result, indent=2))
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(markdown(result))
