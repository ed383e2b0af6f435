"""Section 8: beyond plain GD: momentum and Adam at their own edges of stability."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...bifurcation import require_complete
from ..claims import Claim
from ..config import ReproduceConfig, SectionResult
from ..datasets import load, resolve
from ..runner import Task
from .early import device_settings

KEY = "optimizers"
TITLE = "8. Adaptive optimizers and momentum at their own edges"
PAPER = ("(Beyond the paper) The edge of stability moves with the optimizer: a quadratic is stable under heavy-ball "
         "momentum up to ηλ = 2 + 2β, under Nesterov up to 2(1 + β)/(1 + 2β), and Adam's preconditioned sharpness "
         "λ_max(P⁻¹H) is driven to (2 + 2β₁)/((1 − β₁)η) = 38/η at β₁ = 0.9.")

BETAS = (0.0, 0.5, 0.9)


def _stability_edge(momentum: float, nesterov: bool, n_c: int) -> float:
    """Largest ηλ on a grid at which momentum GD on a quadratic does not grow (measured)."""
    from ... import momentum as _m

    c = np.linspace(0.5, 5.0, n_c)
    x = _m.quadratic_map(c, momentum, steps=4000, nesterov=nesterov)
    stable = np.abs(x[:, -1]) <= 1.0
    return float(c[stable][-1]) if stable.any() else float("nan")


def minimal(n_c: int, n_r: int) -> dict[str, np.ndarray]:
    """Measured stability edges of the quadratic and first doubling of the cubic map, per beta."""
    from ... import momentum as _m

    hb = [_stability_edge(b, False, n_c) for b in BETAS]
    nest = [_stability_edge(b, True, n_c) for b in BETAS]
    r = np.linspace(1.5, 3.5, n_r)
    first = []
    for b in BETAS:
        p = _m.cubic_period(r, b, x0=np.sqrt(1.0 - 1.0 / r) + 1e-3, n_transient=20000)  # just off the minimum
        two = np.nonzero(p == 2)[0]
        first.append(float(r[two[0]]) if two.size else float("nan"))
    return {"beta": np.asarray(BETAS), "heavy_ball_edge": np.asarray(hb), "nesterov_edge": np.asarray(nest),
            "cubic_first_doubling": np.asarray(first), "c_step": np.asarray(4.5 / (n_c - 1)),
            "r_step": np.asarray(2.0 / (n_r - 1))}


def adam_run(dataset: str, root: str | None, n: int, seed: int, lr: float, steps: int, width: int,
             device: str | None = "cpu") -> dict:
    """Full-batch Adam on a tanh FCN, recording the preconditioned sharpness and its threshold."""
    import torch

    from ...torch import models, train

    torch.set_num_threads(1)
    from ..runner import task_device

    dev = task_device(device)
    X, Y = load(dataset, root, n, seed, flatten=True, as_tensor=True)
    X, Y = X.to(dev), Y.to(dev)
    torch.manual_seed(seed)
    model = models.fcn(X.shape[1], Y.shape[1], depth=3, width=width, activation="tanh", init_scale=0.5).double()
    model = model.to(dev)
    tr = require_complete(train(model, (X, Y), lr=lr, steps=steps, sharpness_every=10, eig_tol=1e-4, seed=seed,
                                optimizer="adam", optimizer_options={"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}))
    return {"loss": tr.loss, "sharpness": tr.sharpness, "sharpness_steps": tr.sharpness_steps,
            "threshold": np.asarray(tr.threshold), "edge_ratio": tr.edge_ratio, "regime": tr.regime()}


def tasks(cfg: ReproduceConfig) -> list[Task]:
    dataset, root = resolve(cfg)
    return [Task(f"{__name__}:minimal", {"n_c": cfg.pick(901, 9001), "n_r": cfg.pick(401, 4001)}, "momentum maps"),
            Task(f"{__name__}:adam_run", {"dataset": dataset, "root": root, "n": cfg.pick(256, 1000), "seed": cfg.seed,
                                          "lr": 1e-2, "steps": cfg.pick(600, 3000), "width": cfg.pick(32, 256),
                                          **device_settings(cfg)},
                 "Adam")]


def build(cfg: ReproduceConfig, results: list[dict], out: Path) -> SectionResult:
    from ..figures import save, series_figure

    sec = SectionResult(KEY, TITLE, PAPER)
    m, a = results
    np.savez_compressed(out / "data" / "optimizers.npz", **{f"minimal__{k}": v for k, v in m.items()},
                        **{f"adam__{k}": v for k, v in a.items()})
    sec.data.append("optimizers.npz")
    step = float(m["c_step"])
    for i, b in enumerate(m["beta"]):
        sec.claims.append(Claim(KEY, f"heavy_ball_edge_b{b:g}",
                                "Heavy ball is stable on a quadratic up to ηλ = 2 + 2β.",
                                f"largest stable ηλ on the grid (step {step:.2g}), β = {b:g}",
                                float(m["heavy_ball_edge"][i]), 2.0 + 2.0 * b, 1.5 * step, "abs",
                                settings={"beta": float(b), "steps": 4000}))
        sec.claims.append(Claim(KEY, f"nesterov_edge_b{b:g}", "Nesterov is stable up to ηλ = 2(1 + β)/(1 + 2β).",
                                f"largest stable ηλ on the grid (step {step:.2g}), β = {b:g}",
                                float(m["nesterov_edge"][i]), 2.0 * (1 + b) / (1 + 2 * b), 1.5 * step, "abs",
                                settings={"beta": float(b), "steps": 4000}))
        sec.claims.append(Claim(KEY, f"cubic_doubling_b{b:g}",
                                "With momentum the cubic map first doubles at r = 2 + β.",
                                f"smallest r with period 2 (grid step {float(m['r_step']):.2g}), β = {b:g}",
                                float(m["cubic_first_doubling"][i]), 2.0 + b, 1.5 * float(m["r_step"]), "abs",
                                settings={"beta": float(b), "n_transient": 20000}))
    er = np.asarray(a["edge_ratio"])
    late = er[er.size // 2:]
    settings = {"optimizer": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "lr": 1e-2, "width": 32}
    sec.claims.append(Claim(KEY, "adam_edge", "Adam's preconditioned sharpness hovers at 38/η.",
                            "median of λ_max(P⁻¹H)/(38/η) over the second half of the run (tanh FCN, full batch)",
                            float(np.median(late)), 1.0, 0.05, "rel", settings=settings))
    sec.claims.append(Claim(KEY, "adam_regime", "... and the run is labelled edge of stability against that threshold.",
                            "label == edge_of_stability (1 = yes)", float(str(a["regime"]) == "edge_of_stability"),
                            1.0, 0.0, "abs", settings=settings))
    fig = series_figure([("Adam: λ_max(P⁻¹H) / (38/η)", a["sharpness_steps"], er)],
                        ylabel="preconditioned sharpness / threshold",
                        title="full-batch Adam (β₁ = 0.9): the preconditioned edge of stability",
                        hline=(1.0, "threshold 38/η"), log_y=True)
    sec.figures.append((save(fig, out, "optimizers_adam.png"),
                        "Adam's preconditioned sharpness relative to its threshold (2 + 2β₁)/((1 − β₁)η)."))
    return sec
