"""``sharpdyn mlp``: train small tanh MLPs on scikit-learn's bundled digits with exact
sharpness tracking; write the training figure (progressive sharpening, edge of stability),
a regime phase diagram over (c, width), and the data (NPZ, JSON). A progress bar (stderr)
follows each training; Ctrl-C stops it within a second, saves what is done and exits with
status 130."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np


def digits_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    """First ``n`` digits: per-sample standardised 64-pixel inputs, one-hot targets."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise click.ClickException(
            "sharpdyn mlp needs scikit-learn for its bundled digits: pip install scikit-learn"
        ) from exc
    d = load_digits()
    X = d.data[:n].astype(np.float64)
    X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    return X, np.eye(10)[d.target[:n]]


def _train_with_bar(train, desc: str, total: int, **kwargs):
    """``sharpdyn.mlp.train(**kwargs)`` with a tqdm bar over its run-steps."""
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="step", unit_scale=True, leave=False) as bar:
        return train(progress=lambda done: bar.update(done - bar.n), **kwargs)


def _stop_if_interrupted(runs, path: Path) -> None:
    """After Ctrl-C: keep the finished steps in ``path`` and exit with status 130."""
    if not runs.interrupted:
        return
    runs.save(path)
    stopped = runs.interrupted_at[runs.interrupted_at >= 0]
    click.echo(f"[mlp] interrupted (runs stopped at steps {int(stopped.min())}..{int(stopped.max())}); "
               f"finished steps saved to {path}", err=True)
    raise SystemExit(130)


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("sharpdyn-mlp"),
              show_default=True, help="Output folder.")
@click.option("--examples", type=click.IntRange(16, 1797), default=256, show_default=True)
@click.option("--steps", type=click.IntRange(1), default=1500, show_default=True,
              help="GD steps of the training figure.")
@click.option("--sweep-steps", type=click.IntRange(1), default=300, show_default=True,
              help="GD steps of each phase-diagram run.")
@click.option("--threads", type=click.IntRange(1), default=None, help="OpenMP threads (default: all).")
@click.option("--momentum", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True,
              help="Heavy-ball momentum b of every training (torch.optim.SGD's convention); the edge of "
                   "stability moves from 2/lr to (2 + 2b)/lr.")
def mlp(out: Path, examples: int, steps: int, sweep_steps: int, threads: int | None, momentum: float) -> None:
    """Progressive sharpening, edge of stability and a regime phase diagram of real MLPs."""
    import matplotlib

    matplotlib.use("Agg")
    from .. import mlp as _mlp
    from .. import regimes
    from ..figures.mlp import plot_phase_diagram, plot_training

    out.mkdir(parents=True, exist_ok=True)
    X, Y = digits_data(examples)
    spec = _mlp.MLPSpec((64, 32, 32, 10), activation="tanh", param="sp", init_scale=0.5)
    t0 = time.perf_counter()
    lam0 = _mlp.MLP.from_spec(spec).sharpness(X, Y)
    lrs = [0.2 / lam0, 1.0 / lam0, 2.0 / lam0 * 1.5]
    runs = _train_with_bar(_mlp.train, "training", len(lrs) * steps, spec=spec, X=X, Y=Y, lr=lrs, steps=steps,
                           sharpness_every=10, threads=threads, momentum=momentum)
    _stop_if_interrupted(runs, out / "mlp_digits_training.npz")
    criteria = regimes.RegimeCriteria(window_fraction=0.5)
    runs.save(out / "mlp_digits_training.npz")
    plot_training(runs, criteria=criteria).savefig(out / "mlp_digits_eos.png", dpi=130)
    sweep_spec = _mlp.MLPSpec((64, 16, 10), activation="tanh", param="sp")
    cs, widths = np.round(2.0 ** np.linspace(-1.0, 3.0, 17), 3), [8, 16, 32]
    sweep = _train_with_bar(_mlp.train, "phase diagram", len(cs) * len(widths) * sweep_steps, spec=sweep_spec,
                            X=X[:128], Y=Y[:128], c=cs, steps=sweep_steps, sharpness_every=5, widths=widths,
                            seeds=[0], threads=threads, momentum=momentum)
    _stop_if_interrupted(sweep, out / "mlp_digits_phase.npz")
    sweep.save(out / "mlp_digits_phase.npz")
    plot_phase_diagram(sweep).savefig(out / "mlp_digits_phase.png", dpi=130)
    summary = {
        "training": {
            "lambda0": lam0, "lr": runs.lr[0, :, 0].tolist(), "momentum": momentum,
            "threshold": runs.threshold[0, :, 0].tolist(),
            "final_sharpness_over_threshold": runs.edge_ratio[0, :, 0, -1].tolist(),
            "regime_window_half": runs.regime(criteria)[0, :, 0].tolist(),
            "final_sharpness_times_lr_over_2": (runs.lr[0, :, 0] * runs.sharpness[0, :, 0, -1] / 2).tolist(),
        },
        "phase_diagram": {"c": sweep.lr_axis.tolist(), "width": sweep.width.tolist(),
                          "regime": sweep.regime()[:, :, 0].tolist()},
        "seconds": time.perf_counter() - t0,
    }
    (out / "mlp_summary.json").write_text(json.dumps(summary, indent=2))
    click.echo(f"wrote {out}/mlp_digits_eos.png, mlp_digits_phase.png, *.npz, mlp_summary.json "
               f"in {summary['seconds']:.1f} s")
