"""Section 7: beyond the paper: a small transformer and networks with BatchNorm and LayerNorm,
measured the same way (early reduction, late-time sharpness at the edge of stability)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..claims import Claim
from ..config import ReproduceConfig, SectionResult
from ..datasets import resolve
from ..runner import Task
from . import edge
from .early import device_settings

KEY = "beyond"
TITLE = "7. Beyond the paper: transformers and normalisation layers"
PAPER = ("The paper leaves open whether transformers and networks with normalisation layers follow the same "
         "fixed-point story. These are measurements, not checks: the same early-reduction and late-time statistics "
         "as sections 4 and 5, reported as found.")

MODELS = (("transformer", "none"), ("resnet", "batchnorm"), ("resnet", "layernorm"))


def _label(arch: str, norm: str) -> str:
    return arch if norm == "none" else f"{arch}+{norm}"


def tasks(cfg: ReproduceConfig) -> list[Task]:
    dataset, root = resolve(cfg)
    out = []
    for arch, norm in MODELS:
        for c in cfg.pick([1.0, 3.0], [0.5, 1.0, 2.0, 3.0, 4.0]):
            out.append(Task(f"{edge.__name__}:torch_diagram_run",
                            {"arch": arch, "norm": norm, "dataset": dataset, "root": root, "n": cfg.pick(64, 1000),
                             "seed": cfg.seed, "width": cfg.pick(8, 32), "c": float(c), "steps": cfg.pick(150, 3000),
                             "n_keep": cfg.pick(24, 256), "every": cfg.pick(10, 5), "tol": cfg.pick(1e-4, 1e-6),
                             "eig_tol": cfg.pick(1e-4, None), "period_rtol": 1e-2,
                             **device_settings(cfg)}, f"{_label(arch, norm)} c={c:g}"))
    return out


def build(cfg: ReproduceConfig, results: list[dict], out: Path) -> SectionResult:
    from ...bifurcation import Bifurcation
    from ...early import early_reduction
    from ..figures import save, series_figure

    sec = SectionResult(KEY, TITLE, PAPER)
    planned = tasks(cfg)
    groups: dict[str, list] = {}
    for t, r in zip(planned, results):
        groups.setdefault(_label(t.settings["arch"], t.settings["norm"]), []).append(edge.to_bifurcation(r))
    curves = []
    for label, runs in groups.items():
        b = Bifurcation.from_runs(runs)
        b.save(out / "data" / f"beyond_{label.replace('+', '_')}.npz")
        sec.data.append(f"beyond_{label.replace('+', '_')}.npz")
        s = {k: v for k, v in b.settings.items() if k not in ("lr", "c")}
        red = early_reduction(b.sharpness, steps=b.sharpness_steps)
        for i, c in enumerate(b.c):
            sec.claims.append(Claim(KEY, f"{label}_reduction_c{c:g}", "(open question) early sharpness reduction",
                                    f"{label}: λ_min/λ₀ at c = {c:g}", float(red.ratio[i]), None, 0.0, "report",
                                    settings={**s, "c": float(c)}))
            es = b.eta_sharpness[i]
            sec.claims.append(Claim(KEY, f"{label}_edge_ratio_c{c:g}",
                                    "(open question) sharpness at the edge of stability",
                                    f"{label}: late-time mean of η·sharpness/2 at c = {c:g}",
                                    float(np.mean(es) / 2.0) if np.all(np.isfinite(es)) else float("nan"), None, 0.0,
                                    "report", settings={**s, "c": float(c)},
                                    note=f"period {int(b.period[i])}, FTLE {float(b.lyapunov[i]):.3g}"))
            full = np.concatenate([b.lr[i] * b.sharpness[i], es])
            steps = np.concatenate([b.sharpness_steps, b.late_step])
            curves.append((f"{label}, c = {c:g}", steps, full))
    fig = series_figure(curves, ylabel="η · sharpness", title="transformer, BatchNorm and LayerNorm ResNets",
                        hline=(2.0, "2 (edge of stability)"))
    sec.figures.append((save(fig, out, "beyond_trajectories.png"),
                        "η·sharpness through training for each model at two c (coarse samples, then every step)."))
    return sec
