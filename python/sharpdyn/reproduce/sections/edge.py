"""Section 5: real networks at the edge of stability: bifurcation diagrams of late-time
eta*sharpness against the learning rate, periods, spectra and Lyapunov exponents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..claims import Claim
from ..config import ReproduceConfig, SectionResult
from ..datasets import load, resolve
from ..runner import Task

KEY = "edge"
TITLE = "5. Real networks at the edge of stability: the route to chaos"
PAPER = ("At the edge of stability the sharpness of a real network hovers at 2/η; raising η drives the late-time "
         "η·sharpness through period doubling (1, 2, 4, …) into chaos, as in the cubic map, with sharpness spectra "
         "peaked at 1/2, 1/4 cycles per step and a positive Lyapunov exponent in the chaotic band.")

FIELDS = ("lr", "c", "sharpness0", "late_step", "eta_sharpness", "loss_late", "period", "lyapunov", "diverged",
          "diverged_at", "loss", "sharpness", "sharpness_steps")


def _arrays(b) -> dict[str, np.ndarray]:
    return {**{f: np.asarray(getattr(b, f)) for f in FIELDS}, "settings": np.asarray(json.dumps(b.settings))}


def to_bifurcation(r: dict):
    from ...bifurcation import Bifurcation

    return Bifurcation(**{f: r[f] for f in FIELDS}, settings=json.loads(str(r["settings"])))


def mlp_diagram(dataset: str, root: str | None, n: int, seed: int, width: int, depth: int, activation: str,
                init_scale: float, c: list, steps: int, n_keep: int, every: int) -> dict[str, np.ndarray]:
    """Bifurcation diagram of a C++ MLP over c (all runs in one call, one thread)."""
    from ... import mlp
    from ...bifurcation import mlp_bifurcation

    X, Y = load(dataset, root, n, seed, flatten=True)
    X, Y = np.asarray(X), np.asarray(Y)
    spec = mlp.MLPSpec((X.shape[1], *(width,) * (depth - 1), Y.shape[1]), activation=activation, param="sp",
                       init_scale=init_scale)
    b = mlp_bifurcation(spec, X, Y, c=c, steps=steps, n_keep=n_keep, sharpness_every=every, seed=seed, threads=1)
    return _arrays(b)


def model_factory(arch: str, shape: tuple, n_out: int, width: int, norm: str = "none"):
    """A seeded constructor of the torch models of sections 5 and 7 (float64)."""
    import torch

    from ...torch import models

    def make(seed: int):
        torch.manual_seed(seed)
        if arch == "myrtle":
            m = models.myrtle_cnn(shape[0], n_out, width=width, depth=5, activation="relu")
        elif arch == "resnet":
            m = models.resnet(shape[0], n_out, width=width, norm=norm, activation="relu")
        elif arch == "transformer":
            m = models.transformer(int(np.prod(shape)), n_out, token_size=int(shape[-1]), width=width, depth=1)
        elif arch == "fcn":
            m = models.fcn(int(np.prod(shape)), n_out, depth=3, width=width, activation="tanh")
        else:
            raise ValueError(f"unknown arch {arch!r}")
        return m.double()

    return make


def torch_diagram_run(arch: str, dataset: str, root: str | None, n: int, seed: int, width: int, c: float,
                      steps: int, n_keep: int, every: int, norm: str = "none") -> dict[str, np.ndarray]:
    """One learning rate (``lr = c / lambda_0``) of a torch model's bifurcation diagram."""
    import torch

    from ...bifurcation import torch_bifurcation_run

    torch.set_num_threads(1)
    X, Y = load(dataset, root, n, seed, flatten=False, as_tensor=True)
    make = model_factory(arch, tuple(X.shape[1:]), int(Y.shape[1]), width, norm)
    b = torch_bifurcation_run(make, (X, Y), None, c=c, steps=steps, n_keep=n_keep, sharpness_every=every, seed=seed)
    return _arrays(b)


def _data(cfg: ReproduceConfig) -> dict:
    dataset, root = resolve(cfg)
    return {"dataset": dataset, "root": root, "seed": cfg.seed}


def mlp_settings(cfg: ReproduceConfig) -> dict:
    return {**_data(cfg), "n": cfg.pick(128, 1000), "width": cfg.pick(32, 256), "depth": 3, "activation": "tanh",
            "init_scale": 0.5, "c": [round(float(v), 6) for v in np.linspace(1.5, 5.0, cfg.pick(24, 200))],
            "steps": cfg.pick(1000, 5000), "n_keep": cfg.pick(64, 256), "every": 50}


def cnn_settings(cfg: ReproduceConfig) -> list[dict]:
    return [{**_data(cfg), "arch": "myrtle", "n": cfg.pick(64, 1000), "width": cfg.pick(4, 32), "c": float(c),
             "steps": cfg.pick(300, 3000), "n_keep": cfg.pick(32, 256), "every": 50}
            for c in np.round(np.linspace(1.5, 4.5, cfg.pick(8, 60)), 4)]


def tasks(cfg: ReproduceConfig) -> list[Task]:
    out = [Task(f"{__name__}:mlp_diagram", mlp_settings(cfg), "FCN bifurcation")]
    out += [Task(f"{__name__}:torch_diagram_run", s, f"CNN c={s['c']:g}") for s in cnn_settings(cfg)]
    return out


def diagrams(cfg: ReproduceConfig, results: list[dict]) -> dict:
    """``{"FCN": Bifurcation, "CNN": Bifurcation}`` from this section's results."""
    from ...bifurcation import Bifurcation

    fcn = to_bifurcation(results[0])
    cnn = Bifurcation.from_runs([to_bifurcation(r) for r in results[1:]])
    return {"FCN (C++ MLP, tanh)": fcn, "Myrtle CNN (torch)": cnn}


def period_summary(b) -> dict:
    """Counts of detected periods and the doubling levels seen in order of increasing lr."""
    p = np.asarray(b.period)
    levels = []
    for v in p:
        if v > 0 and (v & (v - 1)) == 0 and (not levels or v > levels[-1]):
            levels.append(int(v))
    return {"periods": p.tolist(), "levels_in_order": levels, "n_chaotic": int(np.sum(p == 0)),
            "n_diverged": int(np.sum(p == -1))}


def build(cfg: ReproduceConfig, results: list[dict], out: Path) -> SectionResult:
    from ..figures import bifurcation_figure, save

    sec = SectionResult(KEY, TITLE, PAPER)
    for (name, b), short in zip(diagrams(cfg, results).items(), ("fcn", "cnn")):
        b.save(out / "data" / f"bifurcation_{short}.npz")
        sec.data.append(f"bifurcation_{short}.npz")
        s = {k: v for k, v in b.settings.items() if k not in ("lr", "c")}
        ok = ~b.diverged
        es = np.where(np.isfinite(b.eta_sharpness), b.eta_sharpness, 0.0)
        eos = ok & (es.max(axis=1) >= 1.9)  # runs whose sharpness reached 2/eta (within 5 %)
        mean_ratio = es.mean(axis=1) / 2.0
        sec.claims.append(Claim(KEY, f"{short}_eos_ratio", "At the edge of stability η·sharpness/2 hovers at 1.",
                                f"{name}: median over runs at EoS (late max of η·sharpness ≥ 1.9) of the late-time mean of η·sharpness/2",
                                float(np.median(mean_ratio[eos])) if eos.any() else float("nan"), 1.0, 0.10, "rel",
                                settings={**s, "c": b.c.tolist()}))
        ps = period_summary(b)
        sec.claims.append(Claim(KEY, f"{short}_doubling_levels",
                                "Raising η gives period 2, then 4, ... (a doubling cascade).",
                                f"{name}: number of successive power-of-two periods seen as c grows (1, 2, 4 → 3)",
                                float(len(ps["levels_in_order"])), 3.0, 0.0, "report",
                                settings={**s, "c": b.c.tolist()},
                                note=f"periods by c: {ps['periods']}"))
        finite = ok & np.isfinite(b.lyapunov)
        sec.claims.append(Claim(KEY, f"{short}_max_lyapunov", "In the chaotic band the Lyapunov exponent is positive.",
                                f"{name}: largest finite-time Lyapunov exponent of GD over non-diverged runs (per step)",
                                float(np.max(b.lyapunov[finite])) if finite.any() else float("nan"), None, 0.0,
                                "report", settings={**s, "c": b.c.tolist()}))
        if not len(ps["levels_in_order"]) >= 2:
            sec.notes.append(f"{name}: no clean period-doubling cascade at this size: the late-time η·sharpness is "
                             f"pinned at 2/η (median η·sharpness/2 = {np.median(mean_ratio[eos]) if eos.any() else float('nan'):.3f}) "
                             f"with small aperiodic fluctuations (detected periods {sorted(set(ps['periods']))}; 0 = "
                             "aperiodic, -1 = diverged). Reported as measured (see the data files).")
        fig = bifurcation_figure(b, title=name)
        sec.figures.append((save(fig, out, f"bifurcation_{short}.png"),
                            f"{name}: late-time η·sharpness against c = ηλ₀ (dots, coloured by detected period), the "
                            "finite-time Lyapunov exponent of GD, and the power spectrum at three c."))
    return sec
