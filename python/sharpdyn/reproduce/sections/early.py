"""Section 4: real networks in early training: sharpness reduction, progressive sharpening and
the edge of stability, against c, depth and width, in SP and muP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...bifurcation import require_complete
from ..claims import Claim
from ..config import ReproduceConfig, SectionResult
from ..datasets import load, resolve
from ..runner import Task, task_device

KEY = "early"
TITLE = "4. Real networks, early training"
PAPER = ("Real networks show the UV model's regimes: at small c the sharpness first drops (early sharpness reduction), "
         "then rises (progressive sharpening) until it reaches 2/η (edge of stability). The early reduction is larger "
         "at larger c, depth and width and differs between SP and μP; the regime map over c mirrors the UV phase "
         "diagram (catapult beyond c ≈ 2, divergence beyond c ≈ 4 in the wide limit).")

COMBOS = (("tanh", "sp"), ("tanh", "mup"), ("relu", "sp"), ("relu", "mup"))


def _c_grid(cfg: ReproduceConfig) -> list[float]:
    x = np.arange(-1.0, 2.51, cfg.pick(0.5, 0.1))
    return [round(float(v), 6) for v in 2.0 ** x]


def fcn_sweep(dataset: str, root: str | None, n: int, seed: int, activation: str, param: str, depth: int,
              widths: list, c: list, steps: int, every: int) -> dict[str, np.ndarray]:
    """C++ MLPs (``depth`` weight layers) over hidden width x c, full-batch GD on MSE."""
    from ... import mlp

    X, Y = load(dataset, root, n, seed, flatten=True)
    X, Y = np.asarray(X), np.asarray(Y)
    hidden = (int(widths[0]),) * (depth - 1)
    spec = mlp.MLPSpec((X.shape[1], *hidden, Y.shape[1]), activation=activation, param=param)
    runs = require_complete(mlp.train(spec, X, Y, c=c, steps=steps, seeds=[seed], widths=widths,
                                      sharpness_every=every, threads=1))
    return {"loss": runs.loss[:, :, 0], "sharpness": runs.sharpness[:, :, 0], "lr": runs.lr[:, :, 0],
            "sharpness_steps": runs.sharpness_steps, "width": runs.width, "c": np.asarray(c),
            "diverged": runs.diverged[:, :, 0], "regime": runs.regime()[:, :, 0].astype("U32")}


def fcn_trajectories(dataset: str, root: str | None, n: int, seed: int, c: list, steps: int, every: int,
                     width: int) -> dict[str, np.ndarray]:
    """Long tanh-MLP runs (SP) showing reduction, progressive sharpening and EoS."""
    from ... import mlp

    X, Y = load(dataset, root, n, seed, flatten=True)
    X, Y = np.asarray(X), np.asarray(Y)
    spec = mlp.MLPSpec((X.shape[1], width, width, Y.shape[1]), activation="tanh", param="sp", init_scale=0.5)
    runs = require_complete(mlp.train(spec, X, Y, c=c, steps=steps, seeds=[seed], sharpness_every=every, threads=1))
    return {"loss": runs.loss[0, :, 0], "sharpness": runs.sharpness[0, :, 0], "lr": runs.lr[0, :, 0],
            "sharpness_steps": runs.sharpness_steps, "c": np.asarray(c), "diverged": runs.diverged[0, :, 0]}


def _torch_model(arch: str, in_channels: int, n_out: int, width: int, param: str, norm: str = "none",
                 d_in: int = 0, token_size: int = 0):
    from ...torch import models

    if arch == "myrtle":
        return models.myrtle_cnn(in_channels, n_out, width=width, depth=5, activation="relu", param=param)
    if arch == "resnet":
        return models.resnet(in_channels, n_out, width=width, norm=norm, activation="relu", param=param)
    if arch == "fcn_layernorm":
        return models.fcn(d_in, n_out, depth=3, width=width, activation="tanh", param=param)
    if arch == "transformer":
        return models.transformer(d_in, n_out, token_size=token_size, width=width, depth=1, param=param)
    raise ValueError(f"unknown arch {arch!r}")


def torch_run(arch: str, dataset: str, root: str | None, n: int, seed: int, c: float, steps: int, every: int,
              width: int, param: str = "sp", norm: str = "none", device: str | None = "cpu") -> dict[str, np.ndarray]:
    """One full-batch GD run of a torch model at ``lr = c / sharpness_0`` (float64, 1 CPU thread;
    ``device``: see :func:`..runner.task_device`)."""
    import torch

    from ...torch import hessian_eigenvalues, train

    torch.set_num_threads(1)
    X, Y = load(dataset, root, n, seed, flatten=False, as_tensor=True)
    X = X.reshape(X.shape[0], -1) if arch == "transformer" else X
    dev = task_device(device)
    X, Y = X.to(dev), Y.to(dev)
    torch.manual_seed(seed)
    model = _torch_model(arch, X.shape[1], Y.shape[1], width, param, norm, d_in=int(np.prod(X.shape[1:])),
                         token_size=int(X.shape[-1]) if arch == "transformer" else 0).double().to(dev)
    s0 = float(hessian_eigenvalues(model, "mse", (X, Y), tol=1e-6, seed=seed).eigenvalues[0])
    tr = require_complete(train(model, (X, Y), lr=c / s0, steps=steps, sharpness_every=every, seed=seed, tol=1e-5))
    return {"loss": tr.loss, "sharpness": tr.sharpness, "sharpness_steps": tr.sharpness_steps, "lr": c / s0,
            "sharpness0": s0, "c": c, "diverged": tr.diverged, "regime": tr.regime()}


def _data_settings(cfg: ReproduceConfig) -> dict:
    dataset, root = resolve(cfg)
    return {"dataset": dataset, "root": root, "seed": cfg.seed}


def device_settings(cfg: ReproduceConfig) -> dict:
    """``{"device": ...}`` for torch tasks: the CPU unless ``cfg.device`` names another device
    (part of the settings, so a GPU run is cached apart from a CPU run)."""
    return {} if cfg.device in (None, "cpu") else {"device": cfg.device}


def tasks(cfg: ReproduceConfig) -> list[Task]:
    d = _data_settings(cfg)
    n = cfg.pick(128, 2048)
    steps, every = cfg.pick(150, 1000), cfg.pick(3, 5)
    widths = cfg.pick([16, 32, 64], [64, 128, 256, 512])
    depths = cfg.pick([2, 4], [2, 4, 6, 8])
    mid = cfg.pick(32, 128)
    c = _c_grid(cfg)
    out = []
    for act, param in COMBOS:
        common = {**d, "n": n, "activation": act, "param": param, "c": c, "steps": steps, "every": every}
        out.append(Task(f"{__name__}:fcn_sweep", {**common, "depth": 3, "widths": widths}, f"FCN {act} {param} width"))
        for depth in depths:
            out.append(Task(f"{__name__}:fcn_sweep", {**common, "depth": depth, "widths": [mid]},
                            f"FCN {act} {param} depth {depth}"))
    out.append(Task(f"{__name__}:fcn_trajectories",
                    {**d, "n": cfg.pick(256, 2048), "c": [0.3, 1.0, 3.0], "steps": cfg.pick(1500, 5000),
                     "every": 10, "width": cfg.pick(32, 256)}, "FCN trajectories"))
    for arch in ("myrtle", "resnet"):
        for cc in cfg.pick([0.5, 1.0, 2.0, 3.0], [0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 3.5]):
            out.append(Task(f"{__name__}:torch_run",
                            {**d, "arch": arch, "n": cfg.pick(128, 2048), "c": cc, "steps": cfg.pick(100, 1000),
                             "every": cfg.pick(5, 5), "width": cfg.pick(8, 32), **device_settings(cfg)},
                            f"{arch} c={cc:g}"))
    return out


def _reduction(sharpness: np.ndarray, steps: np.ndarray):
    from ...early import early_reduction

    return early_reduction(sharpness, steps=steps)


def _mean_reduction(ratio: np.ndarray, c: np.ndarray, lo: float = 1.0, hi: float = 4.0) -> float:
    """Mean of 1 - ratio over the c in [lo, hi] (finite entries only)."""
    sel = (c >= lo) & (c <= hi)
    vals = 1.0 - ratio[..., sel]
    return float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")


def build(cfg: ReproduceConfig, results: list[dict], out: Path) -> SectionResult:
    from scipy.stats import spearmanr

    from ... import regimes
    from ..figures import regime_map_figure, save

    sec = SectionResult(KEY, TITLE, PAPER)
    planned = tasks(cfg)
    d = _data_settings(cfg)
    by = {}
    for t, r in zip(planned, results):
        by[t.label] = (t, r)
    code = {name: i for i, name in enumerate(regimes.REGIMES)}
    rows = []  # for the figure of reductions
    np.savez_compressed(out / "data" / "early_fcn.npz",
                        **{f"{lab.replace(' ', '_')}__{k}": v
                           for lab, (t, r) in by.items() if t.func.endswith("fcn_sweep")
                           for k, v in r.items()})
    sec.data.append("early_fcn.npz")
    # (act, param, "width") -> (widths, reduction); (act, param, "depth") -> {depth: (run, reduction)}
    summary: dict[tuple[str, str, str], Any] = {}
    for act, param in COMBOS:
        t, r = by[f"FCN {act} {param} width"]
        red = _reduction(r["sharpness"], r["sharpness_steps"])
        c = np.asarray(r["c"])
        summary[act, param, "width"] = (r["width"], red)
        depth_rows = {}
        for lab, (tt, rr) in by.items():
            if lab.startswith(f"FCN {act} {param} depth"):
                depth_rows[tt.settings["depth"]] = (rr, _reduction(rr["sharpness"], rr["sharpness_steps"]))
        mid_key = next(k for k in by if k == f"FCN {act} {param} width")
        summary[act, param, "depth"] = depth_rows
        rows.append((act, param, c, r["width"], red, depth_rows))
        _ = mid_key
    # claims on tanh SP (the paper's main setting) and on all combos as reports
    t, r = by["FCN tanh sp width"]
    c = np.asarray(r["c"])
    red = summary["tanh", "sp", "width"][1]
    rhos = []
    for w in range(red.ratio.shape[0]):
        ok = np.isfinite(red.ratio[w]) & ~r["diverged"][w]
        if ok.sum() >= 3:
            rhos.append(spearmanr(c[ok], 1.0 - red.ratio[w][ok]).statistic)
    s_base = {**d, "n": t.settings["n"], "steps": t.settings["steps"], "every": t.settings["every"], "c": c.tolist()}
    sec.claims.append(Claim(KEY, "reduction_grows_with_c", "The early sharpness reduction grows with c.",
                            "Spearman correlation of c and 1 − λ_min/λ₀ (tanh FCN, SP, mean over widths, runs that "
                            "did not diverge)", float(np.mean(rhos)) if rhos else float("nan"), 0.5, 0.0, "at_least",
                            settings={**s_base, "widths": r["width"].tolist()}))
    wide, narrow = red.ratio[-1], red.ratio[0]
    sec.claims.append(Claim(KEY, "reduction_grows_with_width", "The early sharpness reduction grows with width.",
                            f"mean(1 − λ_min/λ₀) at width {int(r['width'][-1])} minus at width {int(r['width'][0])}, "
                            "c ∈ [1, 4] (tanh FCN, SP)", _mean_reduction(wide, c) - _mean_reduction(narrow, c),
                            0.0, 0.0, "at_least", settings={**s_base, "widths": r["width"].tolist()}))
    depth_rows = summary["tanh", "sp", "depth"]
    dmin, dmax = min(depth_rows), max(depth_rows)
    sec.claims.append(Claim(KEY, "reduction_grows_with_depth", "The early sharpness reduction grows with depth.",
                            f"mean(1 − λ_min/λ₀) at depth {dmax} minus at depth {dmin}, c ∈ [1, 4] (tanh FCN, SP)",
                            _mean_reduction(depth_rows[dmax][1].ratio[0], c)
                            - _mean_reduction(depth_rows[dmin][1].ratio[0], c), 0.0, 0.0, "at_least",
                            settings={**s_base, "depths": [dmin, dmax]}))
    for act in ("tanh", "relu"):
        sp = _mean_reduction(summary[act, "sp", "width"][1].ratio, c)
        mup = _mean_reduction(summary[act, "mup", "width"][1].ratio, c)
        sec.claims.append(Claim(KEY, f"sp_vs_mup_{act}", "The early reduction differs between SP and μP.",
                                f"mean(1 − λ_min/λ₀) in SP minus in μP, {act} FCN, c ∈ [1, 4], all widths", sp - mup,
                                None, 0.0, "report", settings=s_base))
    # trajectories: progressive sharpening and EoS
    t, r = by["FCN trajectories"]
    es = r["lr"][:, None] * r["sharpness"]
    late = es[:, -max(3, es.shape[1] // 10):]
    st = {**d, **{k: t.settings[k] for k in ("n", "steps", "every", "width")}, "init_scale": 0.5}
    sec.claims.append(Claim(KEY, "progressive_sharpening", "At small c the sharpness rises during training.",
                            "final sharpness / min sharpness (tanh FCN, c = 0.3)",
                            r["sharpness"][0, -1] / np.nanmin(r["sharpness"][0]), 1.05, 0.0, "at_least",
                            settings={**st, "c": 0.3}))
    sec.claims.append(Claim(KEY, "eos_at_2_over_eta", "Sharpness rises to and then hovers at 2/η (edge of stability).",
                            "mean of η·sharpness/2 over the last 10 % of the run (tanh FCN, c = 3)",
                            float(np.nanmean(late[2])) / 2.0, 1.0, 0.10, "rel", settings={**st, "c": 3.0}))
    # CNN / ResNet
    torch_runs: dict[str, list[tuple[Task, dict]]] = {}
    for tt, rr in by.values():
        if tt.func.endswith("torch_run"):
            torch_runs.setdefault(tt.settings["arch"], []).append((tt, rr))
    for arch, lst in torch_runs.items():
        lst.sort(key=lambda p: p[0].settings["c"])
        ratios = [float(_reduction(rr["sharpness"], rr["sharpness_steps"]).ratio) for _, rr in lst]
        cs = [tt.settings["c"] for tt, _ in lst]
        sec.claims.append(Claim(KEY, f"{arch}_reduction", f"A {arch} also shows early sharpness reduction at large c.",
                                f"λ_min/λ₀ at c = {cs[-1]:g}", ratios[-1], 1.0, 0.0, "at_most",
                                settings={**d, **{k: lst[-1][0].settings[k] for k in ("n", "steps", "every", "width")},
                                          "c": cs[-1]}))
        sec.claims.append(Claim(KEY, f"{arch}_reduction_vs_c",
                                f"{arch}: the reduction at the largest c exceeds the one at the smallest.",
                                f"(λ_min/λ₀ at c = {cs[0]:g}) − (λ_min/λ₀ at c = {cs[-1]:g})",
                                ratios[0] - ratios[-1], 0.0, 0.0, "at_least", settings={**d, "c": cs}))
        np.savez_compressed(out / "data" / f"early_{arch}.npz",
                            **{f"c{tt.settings['c']:g}__{k}": v for tt, rr in lst for k, v in rr.items()})
        sec.data.append(f"early_{arch}.npz")
    # figures
    sec.figures.append((save(_trajectory_figure(r, torch_runs), out, "early_trajectories.png"),
                        "Sharpness trajectories: a tanh FCN at c = 0.3, 1, 3 (left: η·sharpness, dotted 2) and the "
                        "CNN/ResNet at several c (right: sharpness / λ₀)."))
    sec.figures.append((save(_reduction_figure(rows, "step"), out, "early_reduction_step.png"),
                        "Step of the sharpness minimum (the end of the early reduction) against c, per width and "
                        "depth, for tanh/ReLU in SP and μP; a step equal to the run's length means the sharpness "
                        "was still falling when the run ended."))
    sec.figures.append((save(_reduction_figure(rows), out, "early_reduction.png"),
                        "Early reduction 1 − λ_min/λ₀ against c: per width (solid) and per depth (dashed), "
                        "for tanh/ReLU in SP and μP."))
    t, r = by["FCN tanh sp width"]
    codes = np.vectorize(code.get)(r["regime"])
    fig = regime_map_figure(codes.T, np.asarray(r["c"]), r["width"].astype(float), xlabel="c = ηλ₀", ylabel="width",
                            title="tanh FCN (SP): regime over (c, width)", log_x=True,
                            lines=[("x", 2.0, "UV: catapult"), ("x", 4.0, "UV: divergence")])
    sec.figures.append((save(fig, out, "early_regimes_width.png"),
                        "Regime of each run over (c, width) with the UV model's boundaries c = 2 and c = 4."))
    dr = summary["tanh", "sp", "depth"]
    depths = sorted(dr)
    grid = np.stack([np.vectorize(code.get)(dr[k][0]["regime"][0]) for k in depths])
    fig = regime_map_figure(grid.T, np.asarray(r["c"]), np.asarray(depths, dtype=float), xlabel="c = ηλ₀",
                            ylabel="depth (weight layers)", title="tanh FCN (SP): regime over (c, depth)", log_x=True,
                            lines=[("x", 2.0, "UV: catapult"), ("x", 4.0, "UV: divergence")])
    sec.figures.append((save(fig, out, "early_regimes_depth.png"),
                        "Regime of each run over (c, depth) with the UV model's boundaries c = 2 and c = 4."))
    return sec


def _trajectory_figure(fcn: dict, torch_runs: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    steps = fcn["sharpness_steps"]
    for i, c in enumerate(fcn["c"]):
        es = fcn["lr"][i] * fcn["sharpness"][i]
        ok = np.isfinite(es)
        ax1.plot(steps[ok], es[ok], label=f"FCN c = {c:g}")
    ax1.axhline(2.0, color="k", ls=":", lw=1, label="2 (η·sharpness at EoS)")
    ax1.set(xlabel="step", ylabel="η · sharpness", title="tanh FCN, full-batch GD")
    ax1.legend(fontsize=7)
    for arch, lst in torch_runs.items():
        for tt, rr in lst:
            s = rr["sharpness"] / rr["sharpness"][0]
            ok = np.isfinite(s)
            ax2.plot(rr["sharpness_steps"][ok], s[ok], ls="-" if arch == "myrtle" else "--",
                     label=f"{arch} c = {tt.settings['c']:g}")
    ax2.axhline(1.0, color="k", ls=":", lw=1, label="λ₀")
    ax2.set(xlabel="step", ylabel="sharpness / λ₀", title="Myrtle CNN (solid) and ResNet (dashed)", yscale="log")
    ax2.legend(fontsize=6, ncol=2)
    return fig


def _reduction_figure(rows: list, quantity: str = "ratio"):
    """``1 - lambda_min / lambda_0`` (``quantity="ratio"``) or the step of the minimum
    (``"step"``) against c, per width (solid) and depth (dashed), one panel per combination."""
    from matplotlib.figure import Figure

    def value(red, i=None):
        v = red.ratio if quantity == "ratio" else red.step.astype(float)
        v = v if i is None else v[i]
        return 1.0 - v if quantity == "ratio" else np.where(v >= 0, v, np.nan)

    fig = Figure(figsize=(12, 7), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True, sharey=True).ravel()
    for ax, (act, param, c, widths, red, depth_rows) in zip(axes, rows):
        for i, w in enumerate(widths):
            ax.plot(c, value(red, i), "-o", ms=3, label=f"width {int(w)}")
        for depth, (rr, dred) in sorted(depth_rows.items()):
            ax.plot(c, value(dred, 0), "--s", ms=3, label=f"depth {depth} (width {int(rr['width'][0])})")
        ax.set(xscale="log", title=f"{act}, {param.upper() if param == 'sp' else 'μP'}", xlabel="c = ηλ₀",
               ylabel="1 − λ_min/λ₀" if quantity == "ratio" else "step of λ_min")
        ax.legend(fontsize=6)
    return fig
