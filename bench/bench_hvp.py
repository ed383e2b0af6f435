"""Benchmark: the cost of one Hessian-vector product (HVP), in seconds and in
gradient-equivalents (HVP time / time of one full-batch gradient), against the peers.

    python -m bench --only hvp [--quick] [--mnist DIR]

On each network of :mod:`nets` (float32, CPU, one torch thread, full batch), measured in one
process with interleaved repeats, each implementation's steady-state product (one-time set-up
such as building a kept gradient graph is done before the timing and reported separately):

- ``gradient``: ``torch.autograd.grad`` of the loss (the unit);
- ``sharpdyn default``: :class:`sharpdyn.torch.HessianOperator` with its defaults (keeps the
  gradient graph when it fits in ``max_graph_bytes``);
- ``sharpdyn recompute`` (``cache_graph=False``) and ``sharpdyn forward-over-reverse``;
- ``PyHessian``: ``pyhessian.utils.hessian_vector_product`` on ``hessian(model, criterion,
  data=(X, Y)).gradsH`` (what ``hessian.eigenvalues`` calls per iteration);
- ``curvlinops``: ``HessianLinearOperator(...) @ v`` (``MSELoss(reduction="mean")`` scaled by
  ``K/2`` to the suite's loss ``(1/2N) sum ||f - y||^2``);
- ``hessian-eigenthings``: ``HessianOperator(...).matvec(v)``.

All products are checked against sharpdyn's default to float32 rounding.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nets  # noqa: E402
from suite import Context, Report, interleaved  # noqa: E402

from sharpdyn.torch import HessianOperator  # noqa: E402
from sharpdyn.torch.losses import mse  # noqa: E402

PEERS = {"PyHessian": "pyhessian", "curvlinops": "curvlinops", "hessian-eigenthings": "hessian_eigenthings"}


def peer_products(model, X, Y, params, unflatten, n_outputs: int) -> tuple[dict, dict, list[str]]:
    """``({name: v -> Hv (flat tensor)}, {name: set-up seconds}, [missing peers])`` for the
    installed peers, each built as its documentation shows."""
    fns, setup, missing = {}, {}, []
    if importlib.util.find_spec("pyhessian") is not None:
        from pyhessian import hessian as pyhessian_hessian
        from pyhessian.utils import hessian_vector_product

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # backward(create_graph=True) reference-cycle warning
            ph = pyhessian_hessian(model, mse, data=(X, Y), cuda=False)
        setup["PyHessian"] = time.perf_counter() - t0
        fns["PyHessian"] = lambda v: torch.cat([h.reshape(-1) for h in
                                                hessian_vector_product(ph.gradsH, ph.params, unflatten(v))])
    else:
        missing.append("PyHessian")
    if importlib.util.find_spec("curvlinops") is not None:
        from curvlinops import HessianLinearOperator

        t0 = time.perf_counter()
        cl = HessianLinearOperator(model, torch.nn.MSELoss(reduction="mean"), params, [(X, Y)],
                                   check_deterministic=False)
        setup["curvlinops"] = time.perf_counter() - t0
        scale = n_outputs / 2.0
        fns["curvlinops"] = lambda v: (cl @ v) * scale
    else:
        missing.append("curvlinops")
    if importlib.util.find_spec("hessian_eigenthings") is not None:
        import hessian_eigenthings as he

        t0 = time.perf_counter()
        he_op = he.HessianOperator(model, [(X, Y)], he.supervised_loss(mse))
        setup["hessian-eigenthings"] = time.perf_counter() - t0
        fns["hessian-eigenthings"] = he_op.matvec
    else:
        missing.append("hessian-eigenthings")
    return fns, setup, missing


def measure(name: str, ctx: Context, rep: Report) -> dict:
    n = nets.examples(name, ctx.quick)
    X, Y, source = nets.load(n, ctx.mnist)
    model, label = nets.build(name, X, quick=ctx.quick)
    params = [p for p in model.parameters() if p.requires_grad]
    row = f"{label}, {n} {source}"
    ops, setup = {}, {}
    for key, kw in (("sharpdyn default", {}), ("sharpdyn recompute", {"cache_graph": False}),
                    ("sharpdyn forward-over-reverse", {"method": "forward_over_reverse"})):
        ops[key] = HessianOperator(model, "mse", (X, Y), device="cpu", **kw)
    v = torch.randn(ops["sharpdyn default"].n_params, generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    reference = ops["sharpdyn default"].matvec(v)  # builds (and keeps) the graph
    setup["sharpdyn default"] = time.perf_counter() - t0
    products = {key: op.matvec for key, op in ops.items()}
    peers, peer_setup, missing = peer_products(model, X, Y, params, ops["sharpdyn default"].unflatten, Y.shape[1])
    products.update(peers)
    setup.update(peer_setup)
    fns = {"gradient": lambda: torch.autograd.grad(mse(model(X), Y), params)}
    fns.update({key: (lambda f=f: f(v)) for key, f in products.items()})
    reps = 3 if ctx.quick else max(8, 2 * ctx.repeats)
    calls: dict[str, int] = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=DeprecationWarning)
        times, out = interleaved(fns, reps, warmup=True, min_sample_s=ctx.min_sample_s, calls=calls)
    for p in params:  # PyHessian leaves graph-attached .grad on the model
        p.grad = None
    scale = float(torch.linalg.vector_norm(reference))
    for key in products:
        err = float(torch.linalg.vector_norm(out[key] - reference)) / scale
        rep.check(f"{name}: HVP of {key} vs sharpdyn default (relative 2-norm)", err, 1e-4)
    figs = rep.add_times("seconds per product (steady state; gradient for scale)", row, times, calls=calls)
    ge_figs = {}
    for key in products:  # per round: the product's time over the gradient's in the same round
        ge_figs[key] = rep.add("gradient-equivalents per HVP (HVP time / gradient time, per round)", row, key,
                               [t / g for t, g in zip(times[key], times["gradient"])], "gradients")
        rep.add("one-time set-up (building the operator; for sharpdyn default: its first product, which "
                "builds the kept graph)", row, key, setup.get(key, 0.0), "s")
    res = {"label": row, "graph_bytes": ops["sharpdyn default"].graph_bytes,
           "graph_kept": bool(ops["sharpdyn default"]._graphs), "missing": missing,
           "gradient_equivalents": {k: ge_figs[k]["median"] for k in products}}
    d = figs["sharpdyn default"]["median"]
    if "PyHessian" in figs:
        r = d / figs["PyHessian"]["median"]
        targeted = name in ("mlp", "cnn")
        rep.headline(f"{name}: time per HVP, sharpdyn default / PyHessian", r, baseline="PyHessian",
                     unit="x (lower is better)", target="<= 1.05" if targeted else None,
                     met=(r <= 1.05) if targeted else None)
    ge = ge_figs["sharpdyn default"]["median"]
    rep.headline(f"{name}: HVP of the default operator in gradient-equivalents", ge, baseline="one gradient",
                 unit=" gradients", target="<= 2.5" if name in ("mlp", "cnn") else None,
                 met=(ge <= 2.5) if name in ("mlp", "cnn") else None)
    return res


def suite(ctx: Context) -> Report:
    rep = Report("hvp", "Cost of one Hessian-vector product, float32 CPU, one torch thread")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name in ctx.nets:
            res = measure(name, ctx, rep)
            rep.extra[name] = res
            rep.notes.append(f"{res['label']}: default operator kept its gradient graph: {res['graph_kept']} "
                             f"({res['graph_bytes'] / 2**20:.1f} MiB of the 1024 MiB default budget)")
        missing = sorted({m for name in ctx.nets for m in rep.extra[name]["missing"]})
        if missing:
            rep.notes.append(f"not installed (pip install '.[bench]'): {', '.join(missing)}")
    finally:
        torch.set_num_threads(threads)
    return rep
