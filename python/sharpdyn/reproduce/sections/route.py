"""Section 3: the route to chaos in the minimal models (cubic map and UV model)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..claims import Claim
from ..config import ReproduceConfig, SectionResult
from ..runner import Task

KEY = "route"
TITLE = "3. Route to chaos in the minimal models"
PAPER = ("On the EoS manifold the dynamics is the cubic map x' = r x(1 − x²), r = 1 + Y for the UV model: the "
         "minimum loses stability at r = 2 (ηλ = 2), the 2-cycle at r = √5, and the doubling points accumulate at "
         "Feigenbaum's rate δ ≈ 4.669 before chaos; the sharpness spectrum shows peaks at 1/2, 1/4, … cycles per step.")

R_CHAOS, R_PERIOD2, R_PERIOD4 = 2.4, 2.2, 2.27


def compute(n_r: int, n_transient: int, n_keep: int, n_doubling: int, n_Y: int) -> dict[str, np.ndarray | float]:
    from ... import chaos
    from ...spectra import power_spectrum

    r = np.linspace(1.8, 2.45, n_r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d = chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=n_transient, n_keep=n_keep, observable="sharpness",
                                threads=1)
        lyap = chaos.lyapunov("cubic", r, x0=0.3, n_transient=n_transient, n_steps=4 * n_keep, threads=1)
    dp = chaos.doubling_points("cubic", n_doubling)
    # UV model along Y: the first doubling must sit at Y = 1 (r = 2)
    Y = np.linspace(0.9, 1.4, n_Y)
    x0 = np.broadcast_to(np.array([0.2 - 1.0, 1.3]), (n_Y, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        uv_p = chaos.period("uv", Y, x0=np.ascontiguousarray(x0), n_transient=20 * n_transient, max_period=64,
                            tol=1e-7, threads=1)
        corr = chaos.uv_cubic_correspondence(np.array([1.1, 1.22, 1.27]), g0=-0.9, z0=0.3, n_transient=n_transient,
                                             n_keep=256, threads=1)
    spectra = {}
    for name, value in (("period2", R_PERIOD2), ("period4", R_PERIOD4), ("chaos", R_CHAOS)):
        s = chaos.orbit_diagram("cubic", [value], x0=0.3, n_transient=n_transient, n_keep=4096,
                                observable="sharpness", threads=1).states[0]
        ps = power_spectrum(s)
        spectra[f"spectrum_{name}_frequency"] = ps.frequency
        spectra[f"spectrum_{name}_power"] = ps.power
        spectra[f"series_{name}"] = s
    return {"r": r, "states": d.states, "lyapunov": np.asarray(lyap), "doubling": dp.params, "delta": dp.delta,
            "delta_error": dp.delta_error, "accumulation": dp.accumulation, "Y": Y, "uv_period": uv_p,
            "corr_Y": corr.Y, "corr_deviation": corr.max_deviation, "corr_line": corr.line_distance,
            "corr_uv_period": corr.uv_period, "corr_cubic_period": corr.cubic_period, **spectra}


def tasks(cfg: ReproduceConfig) -> list[Task]:
    settings = {"n_r": cfg.pick(1500, 8000), "n_transient": cfg.pick(3000, 20000), "n_keep": cfg.pick(400, 2000),
                "n_doubling": 14, "n_Y": cfg.pick(501, 5001)}
    return [Task(f"{__name__}:compute", settings, "route to chaos")]


def build(cfg: ReproduceConfig, results: list[dict], out: Path) -> SectionResult:
    from ... import chaos
    from ...chaos import OrbitDiagram
    from ...figures.chaos import plot_orbit_diagram, plot_power_spectra
    from ...spectra import power_spectrum
    from ..figures import save

    (r,) = results
    sec = SectionResult(KEY, TITLE, PAPER)
    np.savez_compressed(out / "data" / "route_minimal_models.npz", **r)
    sec.data.append("route_minimal_models.npz")
    s = {"orbit_r": [1.8, 2.45, int(r["r"].size)], "x0": 0.3}
    dp = r["doubling"]
    sec.claims += [
        Claim(KEY, "r1", "The minimum of the cubic map loses stability at r = 2 (ηλ = 2).", "first doubling point r₁",
              dp[0], 2.0, 1e-9, "abs", settings=s),
        Claim(KEY, "r2", "The 2-cycle doubles at r = √5.", "second doubling point r₂", dp[1], float(np.sqrt(5.0)), 1e-9,
              "abs", settings=s),
        Claim(KEY, "feigenbaum_delta", "Doubling points accumulate at Feigenbaum's rate δ.",
              f"δ from {dp.size} doubling points", float(r["delta"]), chaos.FEIGENBAUM_DELTA, 1e-3, "abs", settings=s),
    ]
    lam = np.asarray(r["lyapunov"])
    for name, value, sign in (("period2", R_PERIOD2, "at_most"), ("chaos", R_CHAOS, "at_least")):
        i = int(np.argmin(np.abs(r["r"] - value)))
        behaviour = "negative on the 2-cycle" if sign == "at_most" else "positive in chaos"
        sec.claims.append(Claim(
            KEY, f"lyapunov_{name}", f"The Lyapunov exponent is {behaviour}.",
            f"Lyapunov exponent at r = {r['r'][i]:.4f} (per step)", lam[i], 0.0, 0.0, sign, settings=s))
    period2 = np.nonzero(r["uv_period"] == 2)[0]
    Y1 = float(r["Y"][period2[0]]) if period2.size else float("nan")
    dY = float(r["Y"][1] - r["Y"][0])
    sec.claims.append(Claim(KEY, "uv_first_doubling",
                            "The UV model's minimum loses stability at Y = 1 (r = 1 + Y = 2).",
                            f"smallest Y with a 2-cycle (grid step {dY:.2g})", Y1, 1.0, 1.5 * dY, "abs",
                            settings={"Y": [0.9, 1.4, int(r["Y"].size)]}))
    periodic = r["corr_uv_period"] > 0
    sec.claims.append(Claim(KEY, "uv_cubic_correspondence",
                            "On the EoS manifold the UV map is the cubic map with r = 1 + Y.",
                            "max |x_UV − x_cubic| over periodic Y ∈ {1.1, 1.22}",
                            float(np.max(r["corr_deviation"][periodic])) if periodic.any() else float("nan"),
                            0.0, 1e-8, "abs", settings={"Y": r["corr_Y"].tolist()}))
    d = OrbitDiagram(system="cubic", params=r["r"], states=r["states"], observable="sharpness",
                     x0=np.full((r["r"].size, 1), 0.3),
                     n_transient=0, n_keep=r["states"].shape[1], diverged_at=np.full(r["r"].size, -1))
    fig = plot_orbit_diagram(d, lyapunov=lam, doubling=dp[:6], title="cubic map: late-time η·sharpness against r")
    sec.figures.append((save(fig, out, "route_cubic_orbit.png"),
                        "Cubic map: late-time η·sharpness (density) and Lyapunov exponent against r; dashed: doubling "
                        "points."))
    spectra = [power_spectrum(r[f"series_{n}"]) for n in ("period2", "period4", "chaos")]
    fig = plot_power_spectra(spectra, [f"period 2 (r = {R_PERIOD2})", f"period 4 (r = {R_PERIOD4})",
                                       f"chaos (r = {R_CHAOS})"])
    sec.figures.append((save(fig, out, "route_cubic_spectra.png"),
                        "Power spectra of η·sharpness: a peak at 1/2 cycle per step for period 2, at 1/4 and 1/2 for "
                        "period 4, broadband in chaos."))
    return sec
