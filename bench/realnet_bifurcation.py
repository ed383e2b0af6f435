"""Regenerate the real-network route-to-chaos experiment of docs/realnet.md.

Bifurcation diagrams (late-time lr * sharpness against the learning rate, detected periods,
finite-time Lyapunov exponents, sharpness spectra) of

* ``mlp``: a tanh MLP 16-4-1 (73 parameters, C++ :mod:`sharpdyn.mlp`) on 256 synthetic teacher
  examples with targets scaled by 20 (an under-parameterised network that cannot interpolate, so
  no flat minimum below 2/lr exists; see docs/realnet.md for why);
* ``mlp_mild``: the same network and data with targets scaled by 5;
* ``cnn``: a Myrtle-5 CNN of width 4 (tanh, 489 parameters, :mod:`sharpdyn.torch`) on 64 sklearn
  digits 0/1 (8x8, one output, targets +-10);

plus the UV fit (:func:`sharpdyn.uv_fit.fit_uv_bifurcation` and :func:`~sharpdyn.uv_fit.fit_uv`
on representative runs). Writes ``<out>/<name>.npz`` (the :class:`~sharpdyn.bifurcation.Bifurcation`),
``<out>/summary.json`` and small PNG figures.

    python bench/realnet_bifurcation.py --out realnet-out            # MLPs ~35 s each, CNN ~2-3 min (one core)
    python bench/realnet_bifurcation.py --out realnet-out --only mlp --n-lr 120
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sharpdyn import data, mlp
from sharpdyn.bifurcation import Bifurcation, mlp_bifurcation, torch_bifurcation
from sharpdyn.uv_fit import fit_uv, fit_uv_bifurcation

SETTINGS = {
    "mlp": dict(kind="mlp", widths=(16, 4, 1), yscale=20.0, n=256, lr=(0.02, 1.5), steps=3000, n_keep=128),
    "mlp_mild": dict(kind="mlp", widths=(16, 4, 1), yscale=5.0, n=256, lr=(0.05, 2.0), steps=3000, n_keep=128),
    "cnn": dict(kind="cnn", width=4, yscale=10.0, n=64, c=(2.0, 3.4), steps=600, n_keep=64),
}


def run_mlp(s: dict, n_lr: int) -> Bifurcation:
    X, Y = data.synthetic(s["n"], d=s["widths"][0], n_out=1, seed=0)
    spec = mlp.MLPSpec(s["widths"], activation="tanh")
    return mlp_bifurcation(spec, X, s["yscale"] * Y, lr=np.linspace(*s["lr"], n_lr), steps=s["steps"],
                           n_keep=s["n_keep"], sharpness_every=100, period_rtol=1e-2, threads=1)


def run_cnn(s: dict, n_lr: int) -> Bifurcation:
    import torch

    from sharpdyn.torch import models

    torch.set_num_threads(1)
    X, lab = data.load("digits", n=s["n"], dtype=np.float64, classes=2, targets="labels")
    X = torch.tensor(X.reshape(s["n"], 1, 8, 8))
    Y = torch.tensor(s["yscale"] * (2.0 * lab - 1.0)[:, None])

    def myrtle(seed: int):
        torch.manual_seed(seed)
        return models.myrtle_cnn(1, 1, width=s["width"], depth=5, activation="tanh").double()

    return torch_bifurcation(myrtle, (X, Y), c=np.linspace(*s["c"], n_lr), steps=s["steps"], n_keep=s["n_keep"],
                             sharpness_every=100, eig_tol=1e-5, period_rtol=1e-2)


def summarise(b: Bifurcation) -> dict:
    ok = ~b.diverged
    eos = ok & (b.period != 1)
    out = {
        "lr": b.lr.tolist(), "c": b.c.tolist(), "period": b.period.tolist(),
        "lyapunov": [None if not np.isfinite(v) else float(v) for v in b.lyapunov],
        "eta_sharpness_mean": [None if not np.all(np.isfinite(r)) else float(r.mean()) for r in b.eta_sharpness],
        "eta_sharpness_min": [None if not np.all(np.isfinite(r)) else float(r.min()) for r in b.eta_sharpness],
        "eta_sharpness_max": [None if not np.all(np.isfinite(r)) else float(r.max()) for r in b.eta_sharpness],
        "first_divergence_lr": float(b.lr[b.diverged][0]) if b.diverged.any() else None,
        "n_eos": int(eos.sum()),
    }
    if eos.any():
        half = b.eta_sharpness[eos].mean(axis=1) / 2
        out["eos_mean_eta_sharpness_over_2"] = [float(half.min()), float(half.max())]
        out["eos_within_10pct"] = float(np.mean(np.abs(half - 1) < 0.1))
    chaotic = ok & (b.period == 0) & (b.lyapunov > 0)
    out["chaotic_lr"] = b.lr[chaotic].tolist()
    if eos.any():
        try:
            fit = fit_uv_bifurcation(b.lr, np.where(ok[:, None], b.eta_sharpness, np.nan))
            out["uv_alpha"] = fit.alpha
            out["uv_rms_error"] = [None if not np.isfinite(v) else float(v) for v in fit.rms_error]
            out["uv_rms_error_mean"] = fit.rms_error_mean
            out["uv_rms_error_level"] = [None if not np.isfinite(v) else float(v) for v in fit.rms_error_level]
            out["uv_Y_single"] = [None if not np.isfinite(v) else float(v) for v in fit.Y_single]
            out["uv_period_model"] = fit.period_model.tolist()
            cf = fit_uv_bifurcation(b.lr, np.where(ok[:, None], b.eta_sharpness, np.nan), centre=True)
            out["uv_centred_alpha"] = cf.alpha
            out["uv_centred_rms_error"] = [None if not np.isfinite(v) else float(v) for v in cf.rms_error]
            single = {int(i): fit_uv(b.eta_sharpness[i], centre=True) for i in np.flatnonzero(cf.used)}
            out["uv_centred_single"] = {str(i): {"Y": f.Y, "rms_error": f.rms_error, "period_model": f.period_model}
                                        for i, f in single.items()}
        except ValueError as exc:
            out["uv_fit_error"] = str(exc)
    return out


def figure(b: Bifurcation, name: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    ok = ~b.diverged
    fig = Figure(figsize=(9, 6.2), dpi=80)
    ax1, ax2, ax3, ax4 = fig.subplots(2, 2).ravel()
    x = np.repeat(b.lr[ok], b.eta_sharpness.shape[1])
    ax1.plot(x, b.eta_sharpness[ok].ravel(), ",", color="k", alpha=0.6)
    ax1.axhline(2.0, color="r", lw=0.6)
    for i in np.flatnonzero(b.diverged):
        ax1.axvline(b.lr[i], color="0.85", lw=1.5, zorder=-1)
    eos = ok & (b.period != 1)
    if eos.any():
        try:
            fit = fit_uv_bifurcation(b.lr, np.where(ok[:, None], b.eta_sharpness, np.nan))
            xm = np.repeat(b.lr, fit.predicted.shape[1])
            ax1.plot(xm, fit.predicted.ravel(), ",", color="tab:orange", alpha=0.4)
            ax1.set_title(f"{name}: lr*sharpness (black), UV Y={fit.alpha:.3g}*lr (orange)", fontsize=8)
        except ValueError:
            ax1.set_title(f"{name}: late lr*sharpness", fontsize=8)
    ax1.set_xlabel("learning rate")
    ax1.set_ylabel("lr * sharpness (late)")
    ax2.plot(b.lr, b.lyapunov, "o-", ms=2, lw=0.8)
    ax2.axhline(0, color="0.5", lw=0.6)
    ax2.set_xlabel("learning rate")
    ax2.set_ylabel("FTLE (per step)")
    for j, p in enumerate(b.period):
        ax2.annotate(str(p), (b.lr[j], np.nan_to_num(b.lyapunov[j])), fontsize=5, color="tab:blue")
    # spectra at representative runs: a period-2, the longest periodic, a chaotic one
    reps = []
    for want in (2, 4, 0):
        idx = np.flatnonzero(ok & (b.period == want))
        if idx.size:
            reps.append(int(idx[len(idx) // 2]))
    for i in reps:
        ps = b.power_spectrum(i)
        ax3.semilogy(ps.frequency, ps.power + 1e-30, lw=0.8, label=f"lr={b.lr[i]:.3g}, period {b.period[i]}")
        ax4.plot(b.late_step, b.eta_sharpness[i], ".-", ms=2, lw=0.5, label=f"lr={b.lr[i]:.3g}")
    ax3.set_xlabel("cycles per step")
    ax3.set_ylabel("power of lr*sharpness")
    ax3.legend(fontsize=6)
    ax4.set_xlabel("step")
    ax4.set_ylabel("lr * sharpness")
    ax4.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out / f"{name}.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="realnet-out")
    ap.add_argument("--only", choices=sorted(SETTINGS), action="append")
    ap.add_argument("--n-lr", type=int, default=None, help="learning rates per diagram (default 60 MLP, 12 CNN)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {}
    for name in args.only or list(SETTINGS):
        s = SETTINGS[name]
        t0 = time.perf_counter()
        if s["kind"] == "mlp":
            b = run_mlp(s, args.n_lr or 60)
        else:
            b = run_cnn(s, args.n_lr or 12)
        elapsed = time.perf_counter() - t0
        b.save(out / f"{name}.npz")
        summary[name] = dict(settings={k: v for k, v in s.items()}, seconds=elapsed, **summarise(b))
        figure(b, name, out)
        print(f"{name}: {elapsed:.1f} s; periods {b.period.tolist()}")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=list))


if __name__ == "__main__":
    main()
