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
    fig = plot_flow(lr=lr_c, width=width, y=1.0, trajectory=runs["catapult_c3.0"], z_range=(0.0, 5.0),
                    f_range=(-15.0, 15.0))
    fig.savefig(out / "uv_flow_catapult.png", dpi=130)
    return summary


SECTIONS: dict[str, Callable[[Path], dict]] = {
    "uv": _uv_section,
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
