"""Section 2: the UV phase diagram over the normalised plane (c, Y) and its boundaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..claims import Claim
from ..config import ReproduceConfig, SectionResult
from ..runner import Task

KEY = "phase"
TITLE = "2. The UV phase diagram"
PAPER = ("In the normalised plane (c = ηλ₀, Y = η√κ y) the UV model reproduces the catapult picture as Y → 0: lazy "
         "for c < 2, catapult for 2 < c < 4, divergence for c > 4; for Y > 1 no stable minimum is reachable and "
         "GD ends at the edge of stability.")


def compute(c_min: float, c_max: float, n_c: int, Y_min: float, Y_max: float, n_Y: int, steps: int,
            c_columns: list, n_Y_fine: int) -> dict[str, np.ndarray]:
    """Regime labels over the (c, Y) grid, plus fine Y columns at fixed c for the EoS boundary."""
    from ... import scan

    c = np.linspace(c_min, c_max, n_c)
    Y = np.linspace(Y_min, Y_max, n_Y)
    res = scan.uv_normalized(c[:, None], Y[None, :], steps=steps, threads=1)
    Yf = np.linspace(0.5, 1.6, n_Y_fine)
    cols = np.asarray(c_columns, dtype=float)
    fine = scan.uv_normalized(cols[None, :], Yf[:, None], steps=2 * steps, threads=1)
    return {"c": c, "Y": Y, "regime": res.regime, "final_sharpness": res.final_sharpness,
            "max_loss": res.max_loss, "diverged_at": res.diverged_at, "Y_fine": Yf, "c_columns": cols,
            "regime_fine": fine.regime}


def tasks(cfg: ReproduceConfig) -> list[Task]:
    settings = {"c_min": 0.2, "c_max": 5.0, "n_c": cfg.pick(961, 2401), "Y_min": 0.005, "Y_max": 1.6,
                "n_Y": cfg.pick(320, 2048), "steps": cfg.pick(2000, 10000), "c_columns": [0.5, 1.5, 1.9],
                "n_Y_fine": cfg.pick(1101, 11001)}
    return [Task(f"{__name__}:compute", settings, "UV phase diagram")]


def first_c(labels: np.ndarray, c: np.ndarray, code: int) -> float:
    """Smallest c whose label is ``code`` (NaN if none)."""
    hit = np.nonzero(labels == code)[0]
    return float(c[hit[0]]) if hit.size else float("nan")


def build(cfg: ReproduceConfig, results: list[dict], out: Path) -> SectionResult:
    from ... import regimes
    from ...figures.scan import plot_regime_map
    from ..figures import save

    (r,) = results
    code = {n: i for i, n in enumerate(regimes.REGIMES)}
    sec = SectionResult(KEY, TITLE, PAPER)
    settings = {"grid": [int(r["c"].size), int(r["Y"].size)], "steps": int(cfg.pick(2000, 10000)),
                "c_range": [float(r["c"][0]), float(r["c"][-1])], "Y_range": [float(r["Y"][0]), float(r["Y"][-1])]}
    np.savez_compressed(out / "data" / "phase_cY.npz", **r, regime_names=np.array(regimes.REGIMES))
    sec.data.append("phase_cY.npz")
    row = r["regime"][:, 0]  # the smallest Y: the Y -> 0 limit
    dc = float(r["c"][1] - r["c"][0])
    y0 = float(r["Y"][0])
    for key, label, target in (("catapult_boundary", "catapult", 2.0), ("divergence_boundary", "divergence", 4.0)):
        sec.claims.append(Claim(
            KEY, key, f"As Y → 0 the {label} regime starts at c = {target:g} (Lewkowycz et al.).",
            f"smallest c labelled {label} at Y = {y0:g} (grid step {dc:.2g})", first_c(row, r["c"], code[label]),
            target, 0.05, "rel", settings={**settings, "Y": y0}))
    for j, cc in enumerate(r["c_columns"]):
        col = r["regime_fine"][:, j]
        eos = np.nonzero(col == code["edge_of_stability"])[0]
        val = float(r["Y_fine"][eos[0]]) if eos.size else float("nan")
        sec.claims.append(Claim(
            KEY, f"eos_boundary_c{cc:g}", "The edge of stability begins at Y = 1 (no reachable stable minimum beyond).",
            f"smallest Y labelled edge_of_stability at c = {cc:g}", val, 1.0, 0.05, "rel",
            settings={**settings, "c": float(cc), "Y_fine": [0.5, 1.6, int(r["Y_fine"].size)]}))
    title = f"UV model, normalised plane: {r['regime'].size:,} runs"
    fig = plot_regime_map(r["regime"], {"c": r["c"], "Y": r["Y"]}, title=title)
    sec.figures.append((save(fig, out, "phase_cY.png"),
                        "Regime of every (c, Y) start (f₀ = 0); guides at c = 2, c = 4 and Y = 1."))
    return sec
