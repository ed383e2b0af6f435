"""Section 6: the UV correspondence: the UV model (Y = alpha * lr, i.e. the cubic map's
r = 1 + Y) fitted to the real networks' late-time oscillations."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..claims import Claim
from ..config import ReproduceConfig, SectionResult
from ..runner import Task
from . import edge

KEY = "correspondence"
TITLE = "6. The UV correspondence on real networks"
PAPER = ("Near the edge of stability a real network's top-eigendirection behaves like the UV model on its EoS "
         "manifold, i.e. the cubic map with r = 1 + Y: fitting Y to the measured late-time oscillation should predict "
         "the network's attractor, and Y should grow in proportion to η.")


def tasks(cfg: ReproduceConfig) -> list[Task]:
    return edge.tasks(cfg)  # the same runs: computed once, shared through the cache


def build(cfg: ReproduceConfig, results: list[dict], out: Path) -> SectionResult:
    from ...uv_fit import fit_uv_bifurcation
    from ..figures import correspondence_figure, save

    sec = SectionResult(KEY, TITLE, PAPER)
    for name, b in edge.diagrams(cfg, results).items():
        short = edge.SHORT[list(edge.diagrams(cfg, results)).index(name)]
        es = np.asarray(b.eta_sharpness)
        live = ~np.asarray(b.diverged) & np.all(np.isfinite(es), axis=1)
        at_edge = live & (np.max(np.where(np.isfinite(es), es, 0.0), axis=1) >= 1.9)
        s = {k: v for k, v in b.settings.items() if k not in ("lr", "c")}
        if at_edge.sum() < 1:
            sec.notes.append(f"{name}: no run reached the edge of stability at this size; nothing to fit.")
            continue
        try:
            fit = fit_uv_bifurcation(b.lr[at_edge], es[at_edge])
        except ValueError as exc:
            sec.notes.append(f"{name}: the UV fit found no run to fit ({exc}).")
            continue
        np.savez_compressed(out / "data" / f"uv_fit_{short}.npz", lr=fit.lr, alpha=fit.alpha, Y=fit.Y,
                            Y_single=fit.Y_single, used=fit.used, predicted=fit.predicted, rms_error=fit.rms_error,
                            period_measured=fit.period_measured, period_model=fit.period_model)
        sec.data.append(f"uv_fit_{short}.npz")
        sec.claims.append(Claim(KEY, f"{short}_fit_error",
                                "The UV model with Y ∝ η reproduces the late-time oscillation.",
                                f"{name}: mean rms quantile error of the fitted attractor, "
                                "relative to the measured spread",
                                fit.rms_error_mean, 0.0, 0.5, "abs", settings={**s, "c": b.c[at_edge].tolist()},
                                note=f"alpha = {fit.alpha:.4g}, "
                                f"fitted Y from {np.nanmin(fit.Y):.3g} to {np.nanmax(fit.Y):.3g}"))
        sec.claims.append(Claim(KEY, f"{short}_period_agreement",
                                "The fitted UV model has the measured period.",
                                f"{name}: fraction of fitted runs whose model period equals the measured one",
                                float(np.mean(fit.period_model[fit.used] == fit.period_measured[fit.used]))
                                if fit.used.any() else float("nan"), None, 0.0, "report",
                                settings={**s, "c": b.c[at_edge].tolist()}))
        centred = fit_uv_bifurcation(b.lr[at_edge], es[at_edge], centre=True)
        sec.claims.append(Claim(KEY, f"{short}_fit_error_centred",
                                "(shape only) The UV attractor about its own mean matches the real oscillation's.",
                                f"{name}: mean rms quantile error of the fit about each run's mean, relative to the "
                                "measured spread", centred.rms_error_mean, None, 0.0, "report",
                                settings={**s, "c": b.c[at_edge].tolist(), "centre": True},
                                note=f"alpha = {centred.alpha:.4g}"))
        fig = correspondence_figure(b, fit, at_edge, title=name)
        sec.figures.append((save(fig, out, f"uv_fit_{short}.png"),
                            f"{name}: measured late-time η·sharpness (dots) and the fitted UV model's attractor at "
                            "Y = α·η (crosses), against c; right: the same UV diagram over its own Y axis."))
    return sec
