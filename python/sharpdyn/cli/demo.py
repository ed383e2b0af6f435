"""``sharpdyn demo``: the library's main job in under a minute on 2 cores.

Writes figures (PNG) and the data behind them (NPZ, JSON) to a folder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import click
import numpy as np


def _uv_section(out: Path) -> dict:
    from .. import uv
    from ..figures.uv import plot_flow, plot_trajectories

    runs = {}
    # Large-width SP runs at normalised learning rates c = lr * ntk0 (Lewkowycz et al.)
    width = 4096
    u0, v0 = uv.init(width, seed=0)
    ntk0 = float(uv.train(u0, v0, lr=1.0, steps=1).ntk[0])
    for name, c in (("lazy_c1.5", 1.5), ("catapult_c3.0", 3.0), ("divergence_c4.5", 4.5)):
        runs[name] = uv.train(u0, v0, lr=c / ntk0, steps=300)
    # Small lr from |f0| < |y|: progressive sharpening (gradient-flow invariant)
    runs["sharpening"] = uv.iterate(0.1, 0.5, lr=0.05, width=10, y=2.0, steps=300)
    # Y = lr sqrt(kappa) y > 1: no reachable stable minimum, edge of stability (period 2)
    lr_e, width_e = 0.5, 64
    y_e = 1.1 / (lr_e / np.sqrt(width_e))
    runs["edge_of_stability_Y1.1"] = uv.iterate(0.2 * y_e, 1.3 / lr_e, lr=lr_e, width=width_e, y=y_e, steps=300)

    summary = {}
    for name, tr in runs.items():
        tr.save(out / f"uv_{name}.npz")
        summary[name] = {
            "regime": str(uv.classify(tr)),
            "lr": float(tr.lr), "width": tr.width, "y": tr.y, "c": float(tr.c),
            "final_lr_sharpness": float(tr.lr * tr.sharpness[np.isfinite(tr.sharpness)][-1]),
            "diverged_at": int(tr.diverged_at),
        }
    labels = [f"{k} → {v['regime']}" for k, v in summary.items()]
    fig = plot_trajectories(list(runs.values()), labels)
    fig.savefig(out / "uv_trajectories.png", dpi=130)
    fig = plot_flow(lr=lr_e, width=width_e, y=y_e, trajectory=runs["edge_of_stability_Y1.1"], z_range=(0.0, 5.0))
    fig.savefig(out / "uv_flow_eos.png", dpi=130)
    lr_c = 3.0 / ntk0
    fig = plot_flow(lr=lr_c, width=width, y=1.0, trajectory=runs["catapult_c3.0"], z_range=(0.0, 5.0))
    fig.savefig(out / "uv_flow_catapult.png", dpi=130)
    return summary


def _phase_section(out: Path) -> dict:
    """The headline picture: regimes over the normalised (c, Y) plane, one picture for every
    width and parameterization (128,000 UV runs of 2,000 steps)."""
    from .. import regimes, scan
    from ..figures.scan import plot_regime_map

    c = np.linspace(0.2, 5.0, 400)
    Y = np.linspace(0.01, 1.6, 320)
    steps = 2000
    t0 = time.perf_counter()
    res = scan.uv_normalized(c[:, None], Y[None, :], steps=steps)
    seconds = time.perf_counter() - t0
    np.savez_compressed(out / "phase_cY.npz", c=c, Y=Y, regime=res.regime, regime_names=np.array(regimes.REGIMES),
                        final_lr_sharpness=res.final_sharpness, max_loss=res.max_loss,
                        diverged_at=res.diverged_at, steps=steps)
    title = f"UV model, normalised plane: {res.regime.size:,} runs x {steps} steps in {seconds:.2f} s"
    plot_regime_map(res.regime, {"c": c, "Y": Y}, title=title).savefig(out / "phase_cY.png", dpi=130)
    return {
        "points": int(res.regime.size), "steps": steps, "seconds": seconds,
        "regime_fractions": {n: float(np.mean(res.regime == i)) for i, n in enumerate(regimes.REGIMES)},
    }


def _chaos_section(out: Path) -> dict:
    """Route to chaos: cubic-map orbit diagram with its Lyapunov exponent, the doubling
    points and Feigenbaum's delta, the UV model's cascade against the learning rate, and
    power spectra of sharpness through the cascade."""
    import warnings

    from .. import chaos
    from ..figures.chaos import VALUE_LABEL, plot_orbit_diagram, plot_power_spectra
    from ..spectra import power_spectrum

    r = np.linspace(1.8, 2.45, 2500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # escaping orbits beyond r = 3 are reported, not needed here
        diagram = chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=5000, n_keep=1000)
        lyap = chaos.lyapunov_spectrum("cubic", r, x0=0.3, n_transient=5000, n_steps=4000)
    doubling = chaos.doubling_points("cubic", 14)
    diagram.save(out / "orbit_cubic.npz")
    np.savez_compressed(out / "lyapunov_cubic.npz", r=lyap.params, exponent=lyap.exponents)
    plot_orbit_diagram(diagram, lyapunov=lyap, doubling=doubling.params[:6]).savefig(out / "orbit_cubic.png", dpi=130)

    width = 64.0
    y = float(np.sqrt(width))  # so that Y = lr
    lr = np.linspace(0.8, 1.7, 1500)  # beyond about 1.69 every run diverges
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        uv_diagram = chaos.uv_orbit_diagram(lr, width=width, y=y, f0=0.9 * y, ntk0=2.2, n_transient=5000,
                                            n_keep=500, observable="sharpness")
    uv_diagram.save(out / "orbit_uv_lr.npz")
    plot_orbit_diagram(uv_diagram).savefig(out / "orbit_uv_lr.png", dpi=130)

    picks = {"period 2 (r = 2.2)": 2.2, "period 4 (r = 2.27)": 2.27, "chaos (r = 2.4)": 2.4}
    spectra = []
    for value in picks.values():
        d = chaos.orbit_diagram("cubic", [value], x0=0.3, n_transient=5000, n_keep=4096, observable="sharpness")
        spectra.append(power_spectrum(d.states[0]))
    observable = VALUE_LABEL[("cubic", "sharpness")]
    plot_power_spectra(spectra, list(picks), observable=f"the sharpness {observable}").savefig(
        out / "spectra_cubic.png", dpi=130)
    return {
        "doubling_points": doubling.params.tolist(),
        "feigenbaum_delta": float(doubling.delta), "feigenbaum_delta_error": float(doubling.delta_error),
        "accumulation_point": float(doubling.accumulation),
        "accumulation_error": float(doubling.accumulation_error),
    }


def _mlp_section(out: Path) -> dict:
    """A real (small) network: a tanh MLP on synthetic teacher data, trained by full-batch GD
    at three learning rates with the exact Hessian's top eigenvalue every 10 steps."""
    from .. import data, mlp, regimes
    from ..figures.mlp import plot_training

    X, Y = data.synthetic(256, d=16, n_out=1, seed=0)
    spec = mlp.MLPSpec((16, 32, 32, 1), activation="tanh", param="sp")
    lam0 = mlp.MLP.from_spec(spec, seed=0).sharpness(X, Y)
    runs = mlp.train(spec, X, Y, c=[0.2, 1.0, 3.0], steps=1000, seeds=[0], sharpness_every=10)
    criteria = regimes.RegimeCriteria(window_fraction=0.5)
    runs.save(out / "mlp_training.npz")
    plot_training(runs, criteria=criteria).savefig(out / "mlp_training.png", dpi=130)
    return {
        "sharpness0": float(lam0), "c": [0.2, 1.0, 3.0],
        "regime": runs.regime(criteria)[0, :, 0].tolist(),
        "final_lr_sharpness_over_2": (runs.lr[0, :, 0] * runs.sharpness[0, :, 0, -1] / 2).tolist(),
    }


SECTIONS: dict[str, Callable[[Path], dict]] = {
    "uv": _uv_section,
    "phase": _phase_section,
    "chaos": _chaos_section,
    "mlp": _mlp_section,
}


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="sharpdyn-demo",
              show_default=True, help="Folder for figures and data.")
@click.option("--only", multiple=True, type=click.Choice(sorted(SECTIONS)), help="Run only these sections.")
def demo(out_dir: Path, only: tuple[str, ...]) -> None:
    """Run the paper's core experiments at small scale and write figures + data."""
    import matplotlib

    matplotlib.use("Agg")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {}
    for name, section in SECTIONS.items():
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        click.echo(f"[demo] {name} ...", nl=False)
        report[name] = section(out_dir)
        click.echo(f" done in {time.perf_counter() - t0:.1f} s")
    (out_dir / "summary.json").write_text(json.dumps(report, indent=2))
    files = sorted(p.name for p in out_dir.iterdir())
    click.echo(f"[demo] wrote {len(files)} files to {out_dir}/: " + ", ".join(files))
