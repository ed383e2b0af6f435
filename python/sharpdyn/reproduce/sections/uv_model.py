"""Section 1: the UV model's trajectories in every regime and its function-space flows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..claims import Claim
from ..config import ReproduceConfig, SectionResult
from ..runner import Task

KEY = "uv_model"
TITLE = "1. The UV model: regimes and function-space flows"
PAPER = ("The two-layer linear UV model on one example shows every regime of real training: lazy training for "
         "c = ηλ₀ < 2, a catapult for 2 < c < 4, divergence beyond; early sharpness reduction when |f₀| > |y|, "
         "progressive sharpening when |f₀| < |y| (the gradient-flow invariant λ² − 4κf² fixes the final NTK), a "
         "plateau when f₀ and y have opposite signs, and for Y > 1 an edge-of-stability 2-cycle whose NTK values "
         "have geometric mean exactly 2/η.")

WIDTH_LARGE = 4096
WIDTH_SMALL = 64


def _gf_prediction(f0: float, ntk0: float, y: float, kappa: float) -> float:
    """Final NTK under gradient flow: lambda^2 - 4 kappa f^2 is conserved, f -> y."""
    return float(np.sqrt(ntk0 ** 2 + 4.0 * kappa * (y ** 2 - f0 ** 2)))


def compute(seed: int, steps: int) -> dict[str, np.ndarray]:
    """Every regime run of the section (function-space map and parameter-space GD)."""
    from ... import uv

    out: dict[str, np.ndarray] = {}
    u0, v0 = uv.init(WIDTH_LARGE, seed=seed)
    ntk0 = float(uv.train(u0, v0, lr=1.0, steps=1).ntk[0])
    runs = {}
    for name, c in (("lazy", 1.5), ("catapult", 3.0), ("divergence", 4.5)):
        runs[name] = uv.train(u0, v0, lr=c / ntk0, steps=steps)
    # the same catapult through the exact function-space map, from the same (f0, ntk0)
    cat = runs["catapult"]
    runs["catapult_function_space"] = uv.iterate(float(cat.f[0]), float(cat.ntk[0]), lr=float(cat.lr),
                                                 width=WIDTH_LARGE, y=1.0, steps=steps)
    sk = 1.0 / np.sqrt(WIDTH_SMALL)  # sqrt(kappa) for SP, x = 1
    y = 8.0
    small = {  # (F0 = lr sqrt(kappa) f0, z0 = lr ntk0, Y = lr sqrt(kappa) y)
        "reduction": (0.05, 0.12, 0.02),    # |f0| > |y|
        "sharpening": (0.03, 0.1, 0.3),     # |f0| < |y|
        "plateau": (-0.01, 0.03, 0.3),      # f0 opposite to y: reduction, saddle, sharpening
        "edge_of_stability": (0.2, 1.3, 1.1),  # Y > 1: no reachable stable minimum
    }
    for name, (F0, z0, Yt) in small.items():
        lr = Yt / (sk * y)
        runs[name] = uv.iterate(F0 / (lr * sk), z0 / lr, lr=lr, width=WIDTH_SMALL, y=y, steps=steps)
    for name, tr in runs.items():
        for field in ("loss", "f", "ntk", "sharpness"):
            out[f"{name}/{field}"] = np.asarray(getattr(tr, field), dtype=np.float64)
        out[f"{name}/lr"] = np.asarray(float(np.asarray(tr.lr)))
        out[f"{name}/width"] = np.asarray(tr.width)
        out[f"{name}/y"] = np.asarray(tr.y)
        out[f"{name}/kappa"] = np.asarray(tr.kappa)
        out[f"{name}/diverged_at"] = np.asarray(int(np.asarray(tr.diverged_at)))
        out[f"{name}/regime"] = np.asarray(str(uv.classify(tr)))
    return out


def tasks(cfg: ReproduceConfig) -> list[Task]:
    return [Task(f"{__name__}:compute", {"seed": cfg.seed, "steps": cfg.pick(300, 1000)}, "UV regimes")]


def _run(res: dict, name: str) -> dict:
    prefix = name + "/"
    return {k[len(prefix):]: v for k, v in res.items() if k.startswith(prefix)}


def build(cfg: ReproduceConfig, results: list[dict], out: Path) -> SectionResult:
    from ... import uv
    from ...figures.uv import plot_flow
    from ..figures import save, uv_regimes_figure

    (res,) = results
    names = sorted({k.split("/")[0] for k in res})
    runs = {n: _run(res, n) for n in names}
    settings = {"seed": cfg.seed, "steps": int(runs["lazy"]["loss"].size - 1), "width_large": WIDTH_LARGE,
                "width_small": WIDTH_SMALL}
    sec = SectionResult(KEY, TITLE, PAPER)
    np.savez_compressed(out / "data" / "uv_model_runs.npz", **{k.replace("/", "__"): v for k, v in res.items()})
    sec.data.append("uv_model_runs.npz")

    def claim(key, statement, quantity, measured, target, tol, comparison, **extra):
        sec.claims.append(Claim(KEY, key, statement, quantity, measured, target, tol, comparison,
                                settings={**settings, **extra}))

    lazy = runs["lazy"]
    c_lazy = float(lazy["lr"] * lazy["ntk"][0])
    claim("lazy_final_ntk", "For c < 2 (large width) training is lazy: ηλ stays at c.",
          "final η·ntk / c (c = 1.5, n = 4096)", lazy["lr"] * lazy["ntk"][-1] / c_lazy, 1.0, 0.05, "rel", c=1.5)
    cat = runs["catapult"]
    claim("catapult_loss_spike", "For 2 < c < 4 the loss first grows (the catapult) ...",
          "max loss / initial loss (c = 3)", np.nanmax(cat["loss"]) / cat["loss"][0], 1.0, 0.0, "at_least", c=3.0)
    claim("catapult_final_ntk", "... and training converges where ηλ < 2.",
          "final η·ntk (c = 3)", cat["lr"] * cat["ntk"][-1], 2.0, 0.0, "at_most", c=3.0)
    div = runs["divergence"]
    claim("divergence", "For c > 4 gradient descent diverges.", "diverged (1 = yes; c = 4.5)",
          float(div["diverged_at"] >= 0), 1.0, 0.0, "abs", c=4.5)
    fs = runs["catapult_function_space"]
    dev = float(np.max(np.abs(fs["f"] - cat["f"]) / (1.0 + np.abs(cat["f"]))))
    claim("function_vs_parameter_space", "The exact function-space map is gradient descent on the weights.",
          "max relative |f| difference, function-space map vs weights (c = 3)", dev, 0.0, 1e-8, "abs", c=3.0)
    for name, sign in (("reduction", -1), ("sharpening", +1)):
        r = runs[name]
        pred = _gf_prediction(float(r["f"][0]), float(r["ntk"][0]), float(r["y"]), float(r["kappa"]))
        claim(f"{name}_invariant",
              f"|f₀| {'>' if sign < 0 else '<'} |y| gives sharpness {'reduction' if sign < 0 else 'growth'}; "
              "the final NTK "
              "follows from the gradient-flow invariant λ² − 4κf².",
              "final ntk / sqrt(λ₀² + 4κ(y² − f₀²)) (small lr: finite-step corrections)", r["ntk"][-1] / pred,
              1.0, 0.02,
              "rel", run=name)
        claim(f"{name}_direction", f"The NTK {'falls' if sign < 0 else 'rises'} over training.",
              "final ntk / initial ntk", r["ntk"][-1] / r["ntk"][0], 1.0, 0.0, "at_most" if sign < 0 else "at_least",
              run=name)
    pl = runs["plateau"]
    z = pl["lr"] * pl["ntk"]
    claim("plateau_dip", "Opposite signs of f₀ and y: the NTK first drops (the flow passes the saddle f ≈ 0) ...",
          "min η·ntk / initial η·ntk", np.min(z) / z[0], 1.0, 0.0, "at_most", run="plateau")
    claim("plateau_rise", "... then sharpens to the gradient-flow value.", "final η·ntk / min η·ntk",
          z[-1] / np.min(z), 1.0, 0.0, "at_least", run="plateau")
    eos = runs["edge_of_stability"]
    ze = eos["lr"] * eos["ntk"]
    claim("eos_geometric_mean", "For Y > 1 GD settles on a 2-cycle whose NTK values have geometric mean 2/η.",
          "sqrt(η·ntk_T · η·ntk_{T-1}) (Y = 1.1)", np.sqrt(ze[-1] * ze[-2]), 2.0, 1e-8, "abs", run="edge_of_stability")
    claim("eos_regime", "... the run is labelled edge of stability.", "label == edge_of_stability (1 = yes)",
          float(str(eos["regime"]) == "edge_of_stability"), 1.0, 0.0, "abs", run="edge_of_stability")

    order = ["lazy", "catapult", "divergence", "reduction", "plateau", "sharpening", "edge_of_stability"]
    fig = uv_regimes_figure({n: runs[n] for n in order})
    sec.figures.append((save(fig, out, "uv_regimes.png"),
                        "UV trajectories: loss, η·ntk and η·sharpness (Hessian) against step, one colour per regime; "
                        "dotted: 2."))
    tr_e = uv.iterate(float(eos["f"][0]), float(eos["ntk"][0]), lr=float(eos["lr"]), width=WIDTH_SMALL,
                      y=float(eos["y"]), steps=200)
    fig = plot_flow(lr=float(eos["lr"]), width=WIDTH_SMALL, y=float(eos["y"]), trajectory=tr_e, z_range=(0.0, 4.0))
    sec.figures.append((save(fig, out, "uv_flow_eos.png"),
                        "Function space at Y = 1.1: one-step displacement field, zero-loss line (unstable everywhere "
                        "reachable), fixed points and the EoS 2-cycle the GD trajectory settles on."))
    tr_c = uv.iterate(float(cat["f"][0]), float(cat["ntk"][0]), lr=float(cat["lr"]), width=WIDTH_LARGE, y=1.0,
                      steps=200)
    span = float(np.nanmax(np.abs(cat["f"]))) * 1.15 + 1.0
    fig = plot_flow(lr=float(cat["lr"]), width=WIDTH_LARGE, y=1.0, trajectory=tr_c,
                    z_range=(0.0, 1.1 * float(np.nanmax(cat["lr"] * cat["ntk"])) + 0.2), f_range=(-span, span))
    sec.figures.append((save(fig, out, "uv_flow_catapult.png"),
                        "Function space of the catapult (c = 3, n = 4096): the run leaves the unstable part of the "
                        "zero-loss line, the loss spikes, and it lands where η·ntk < 2."))
    return sec
