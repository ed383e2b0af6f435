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
from .early import device_settings

KEY = "edge"
TITLE = "5. Real networks at the edge of stability: the route to chaos"
PAPER = ("At the edge of stability the sharpness of a real network hovers at 2/η; raising η drives the late-time "
         "η·sharpness through period doubling (1, 2, 4, …) into chaos, as in the cubic map, with sharpness spectra "
         "peaked at 1/2, 1/4 cycles per step and a positive Lyapunov exponent in the chaotic band.")

SHORT = ("fcn", "fcn_small", "cnn")
FIELDS = ("lr", "c", "sharpness0", "late_step", "eta_sharpness", "loss_late", "period", "lyapunov", "diverged",
          "diverged_at", "loss", "sharpness", "sharpness_steps")


def _arrays(b) -> dict[str, np.ndarray]:
    return {**{f: np.asarray(getattr(b, f)) for f in FIELDS}, "settings": np.asarray(json.dumps(b.settings))}


def to_bifurcation(r: dict):
    from ...bifurcation import Bifurcation

    return Bifurcation(**{f: r[f] for f in FIELDS}, settings=json.loads(str(r["settings"])))


def mlp_diagram(dataset: str, root: str | None, n: int, seed: int, width: int, depth: int, activation: str,
                init_scale: float, c: list, steps: int, n_keep: int, every: int,
                period_rtol: float = 1e-2) -> dict[str, np.ndarray]:
    """Bifurcation diagram of a C++ MLP over c (all runs in one call, one thread)."""
    from ... import mlp
    from ...bifurcation import mlp_bifurcation

    X, Y = load(dataset, root, n, seed, flatten=True)
    X, Y = np.asarray(X), np.asarray(Y)
    spec = mlp.MLPSpec((X.shape[1], *(width,) * (depth - 1), Y.shape[1]), activation=activation, param="sp",
                       init_scale=init_scale)
    b = mlp_bifurcation(spec, X, Y, c=c, steps=steps, n_keep=n_keep, sharpness_every=every, seed=seed, threads=1,
                        period_rtol=period_rtol)
    return _arrays(b)


def synthetic_diagram(n: int, seed: int, widths: list, yscale: float, lr_min: float, lr_max: float, n_lr: int,
                      steps: int, n_keep: int, every: int, period_rtol: float = 1e-2) -> dict[str, np.ndarray]:
    """Bifurcation diagram of an under-parameterised tanh MLP (it cannot interpolate its data) on
    synthetic teacher data with targets scaled by ``yscale`` (strong progressive sharpening, the
    analogue of the UV model's large y): the setting where the cascade into chaos shows."""
    from ... import data, mlp
    from ...bifurcation import mlp_bifurcation

    X, Y = data.synthetic(n, d=int(widths[0]), n_out=int(widths[-1]), seed=seed)
    spec = mlp.MLPSpec(tuple(int(w) for w in widths), activation="tanh")
    b = mlp_bifurcation(spec, X, yscale * Y, lr=np.linspace(lr_min, lr_max, n_lr), steps=steps, n_keep=n_keep,
                        sharpness_every=every, seed=seed, threads=1, period_rtol=period_rtol)
    return _arrays(b)


def model_factory(arch: str, shape: tuple, n_out: int, width: int, norm: str = "none"):
    """A seeded constructor of the torch models of sections 5 and 7 (float64)."""
    import torch

    from ...torch import models

    def make(seed: int):
        torch.manual_seed(seed)
        m: torch.nn.Module
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
                      steps: int, n_keep: int, every: int, norm: str = "none", tol: float = 1e-6,
                      eig_tol: float | None = None, period_rtol: float = 1e-2,
                      device: str | None = "cpu") -> dict[str, np.ndarray]:
    """One learning rate (``lr = c / lambda_0``) of a torch model's bifurcation diagram
    (``tol``/``eig_tol``: Lanczos stopping rules of each sharpness measurement)."""
    import torch

    from ...bifurcation import torch_bifurcation_run
    from ..runner import task_device

    torch.set_num_threads(1)
    X, Y = load(dataset, root, n, seed, flatten=False, as_tensor=True)
    make = model_factory(arch, tuple(X.shape[1:]), int(Y.shape[1]), width, norm)
    b = torch_bifurcation_run(make, (X, Y), None, c=c, device=task_device(device), steps=steps, n_keep=n_keep,
                              sharpness_every=every, seed=seed,
                              tol=tol, eig_tol=eig_tol, period_rtol=period_rtol)
    return _arrays(b)


def _data(cfg: ReproduceConfig) -> dict:
    dataset, root = resolve(cfg)
    return {"dataset": dataset, "root": root, "seed": cfg.seed}


def mlp_settings(cfg: ReproduceConfig) -> dict:
    return {**_data(cfg), "n": cfg.pick(128, 1000), "width": cfg.pick(32, 256), "depth": 3, "activation": "tanh",
            "init_scale": 0.5, "c": [round(float(v), 6) for v in np.linspace(1.5, 5.0, cfg.pick(24, 200))],
            "steps": cfg.pick(1000, 5000), "n_keep": cfg.pick(64, 256), "every": 50, "period_rtol": 1e-2}


def cnn_settings(cfg: ReproduceConfig) -> list[dict]:
    return [{**_data(cfg), "arch": "myrtle", "n": cfg.pick(64, 1000), "width": cfg.pick(4, 32), "c": float(c),
             "steps": cfg.pick(300, 3000), "n_keep": cfg.pick(32, 256), "every": 50, "tol": cfg.pick(1e-4, 1e-6),
             "eig_tol": cfg.pick(1e-4, None), "period_rtol": 1e-2, **device_settings(cfg)}
            for c in np.round(np.linspace(1.5, 4.5, cfg.pick(8, 60)), 4)]


def tasks(cfg: ReproduceConfig) -> list[Task]:
    out = [Task(f"{__name__}:mlp_diagram", mlp_settings(cfg), "FCN bifurcation"),
           Task(f"{__name__}:synthetic_diagram",
                {"n": 256, "seed": cfg.seed, "widths": [16, 4, 1], "yscale": 20.0, "lr_min": 0.02, "lr_max": 1.5,
                 "n_lr": cfg.pick(40, 300), "steps": cfg.pick(2000, 5000), "n_keep": cfg.pick(128, 256),
                 "every": 100, "period_rtol": 1e-2}, "FCN 16-4-1 bifurcation")]
    out += [Task(f"{__name__}:torch_diagram_run", s, f"CNN c={s['c']:g}") for s in cnn_settings(cfg)]
    return out


def diagrams(cfg: ReproduceConfig, results: list[dict]) -> dict:
    """The section's diagrams by name, in the order of :func:`tasks`."""
    from ...bifurcation import Bifurcation

    fcn = to_bifurcation(results[0])
    small = to_bifurcation(results[1])
    cnn = Bifurcation.from_runs([to_bifurcation(r) for r in results[2:]])
    return {"FCN on digits (C++ MLP, tanh)": fcn, "under-parameterised FCN 16-4-1 (synthetic, targets x20)": small,
            "Myrtle CNN on digits (torch)": cnn}


def period_summary(b) -> dict:
    """Counts of detected periods and the doubling levels seen in order of increasing lr."""
    p = np.asarray(b.period)
    levels: list[int] = []
    for v in p:
        if v > 0 and (v & (v - 1)) == 0 and (not levels or v > levels[-1]):
            levels.append(int(v))
    return {"periods": p.tolist(), "levels_in_order": levels, "n_chaotic": int(np.sum(p == 0)),
            "n_diverged": int(np.sum(p == -1))}


def uv_reference(n_Y: int = 300, n_keep: int = 150) -> tuple[np.ndarray, np.ndarray, str]:
    """The UV model's late-time eta*sharpness over Y in [0.8, 1.7] (the minimal-model diagram
    drawn beside a network's, on the axis normalised to its first doubling, Y_1 = 1)."""
    import warnings

    from ... import chaos

    Y = np.linspace(0.8, 1.7, n_Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d = chaos.orbit_diagram("uv", Y, x0=np.ascontiguousarray(np.broadcast_to([-0.8, 1.3], (n_Y, 2))),
                                n_transient=3000, n_keep=n_keep, observable="sharpness", threads=1)
    return Y, d.states, "UV model (Y/Y₁, Y₁ = 1)"


def build(cfg: ReproduceConfig, results: list[dict], out: Path) -> SectionResult:
    from ..figures import bifurcation_figure, save

    sec = SectionResult(KEY, TITLE, PAPER)
    for (name, b), short in zip(diagrams(cfg, results).items(), SHORT):
        b.save(out / "data" / f"bifurcation_{short}.npz")
        sec.data.append(f"bifurcation_{short}.npz")
        s = {k: v for k, v in b.settings.items() if k not in ("lr", "c")}
        ok = ~b.diverged
        es = np.where(np.isfinite(b.eta_sharpness), b.eta_sharpness, 0.0)
        eos = ok & (es.max(axis=1) >= 1.9)  # runs whose sharpness reached 2/eta (within 5 %)
        mean_ratio = es.mean(axis=1) / 2.0
        onset = int(np.argmax(eos)) if eos.any() else -1
        sec.claims.append(Claim(KEY, f"{short}_eos_ratio", "At the edge of stability η·sharpness/2 hovers at 1.",
                                f"{name}: late-time mean of η·sharpness/2 at the onset of EoS (smallest c whose late "
                                "max of η·sharpness ≥ 1.9)", float(mean_ratio[onset]) if onset >= 0 else float("nan"),
                                1.0, 0.10, "rel",
                                settings={**s, "c": float(b.c[onset]) if onset >= 0 else None}))
        sec.claims.append(Claim(KEY, f"{short}_eos_ratio_median", "(all runs at EoS, also far beyond its onset)",
                                f"{name}: median over runs at EoS of the late-time mean of η·sharpness/2",
                                float(np.median(mean_ratio[eos])) if eos.any() else float("nan"), None, 0.0, "report",
                                settings={**s, "c": b.c[eos].tolist()}))
        ps = period_summary(b)
        sec.claims.append(Claim(KEY, f"{short}_doubling_levels",
                                "Raising η gives period 2, then 4, ... (a doubling cascade).",
                                f"{name}: number of successive power-of-two periods seen as c grows (1, 2, 4 → 3)",
                                float(len(ps["levels_in_order"])), 3.0, 0.0, "report",
                                settings={**s, "c": b.c.tolist()},
                                note=f"periods by c: {ps['periods']}"))
        finite = ok & np.isfinite(b.lyapunov)
        sec.claims.append(Claim(KEY, f"{short}_max_lyapunov", "In the chaotic band the Lyapunov exponent is positive.",
                                f"{name}: largest finite-time Lyapunov exponent of GD over non-diverged runs "
                                "(per step)",
                                float(np.max(b.lyapunov[finite])) if finite.any() else float("nan"), None, 0.0,
                                "report", settings={**s, "c": b.c.tolist()}))
        if short == "fcn_small":
            sec.claims.append(Claim(KEY, "fcn_small_period2",
                                    "Just past the edge of stability GD settles on a 2-cycle.",
                                    f"{name}: fraction of non-diverged runs with period 2",
                                    float(np.mean(b.period[ok] == 2)) if ok.any() else float("nan"), 0.2, 0.0,
                                    "at_least", settings={**s, "lr": b.lr.tolist()}))
            sec.claims.append(Claim(KEY, "fcn_small_chaos", "Before divergence the dynamics turn chaotic.",
                                    f"{name}: largest FTLE over non-diverged runs (per step)",
                                    float(np.max(b.lyapunov[finite])) if finite.any() else float("nan"), 0.01, 0.0,
                                    "at_least", settings={**s, "lr": b.lr.tolist()}))
        if not len(ps["levels_in_order"]) >= 2:
            median_ratio = np.median(mean_ratio[eos]) if eos.any() else float("nan")
            sec.notes.append(f"{name}: no clean period-doubling cascade at this size: the late-time η·sharpness is "
                             f"pinned at 2/η (median η·sharpness/2 = {median_ratio:.3f}) "
                             f"with small aperiodic fluctuations (detected periods {sorted(set(ps['periods']))}; 0 = "
                             "aperiodic, -1 = diverged). Reported as measured (see the data files).")
        fig = bifurcation_figure(b, title=name, reference=uv_reference(),
                                 onset=float(b.c[onset]) if onset >= 0 else None)
        sec.figures.append((save(fig, out, f"bifurcation_{short}.png"),
                            f"{name}: late-time η·sharpness against c = ηλ₀ (dots, coloured by detected period), the "
                            "finite-time Lyapunov exponent of GD, and the power spectrum at three c."))
    return sec
