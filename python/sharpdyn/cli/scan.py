"""``sharpdyn scan``: a phase scan of the UV model from the command line.

Each input is a number (fixed), ``START:STOP:NUM`` (a linspace axis) or a comma list (an
axis of those values); axes appear in the order ``--c/--lr, --Y, --f0, --g0, --ntk0, --y,
--width, --param``. Writes the data (Zarr group or NPZ), the phase diagram and heat maps
(PNG) and a JSON summary to a folder."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

AXIS_OPTIONS = ("c", "lr", "Y", "f0", "g0", "ntk0", "y", "width", "param", "r", "x0")


def parse_values(text: str, name: str):
    """``"1.5"`` -> 1.5 (fixed); ``"0.5:5:100"`` -> linspace axis; ``"1,2,4"`` -> axis."""
    text = text.strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
            if num < 1:
                raise click.BadParameter(f"--{name}: NUM must be >= 1 in START:STOP:NUM, got {num}")
            return np.linspace(start, stop, num)
        if "," in text:
            items = [t.strip() for t in text.split(",") if t.strip()]
            return items if name == "param" else np.array([float(t) for t in items])
        return text if name == "param" else float(text)
    except ValueError as exc:
        raise click.BadParameter(f"--{name}: expected a number, START:STOP:NUM or a comma list, got {text!r}") from exc


@click.command()
@click.option("--c", "c", help="Normalised learning rate c = lr * ntk0 (value, START:STOP:NUM or list).")
@click.option("--lr", "lr", help="Learning rate (instead of --c).")
@click.option("--Y", "Y", help="Normalised target Y = lr sqrt(kappa) y: selects the normalised (c, Y) plane.")
@click.option("--f0", "f0", help="Initial output f0 (physical scans; default 0).")
@click.option("--g0", "g0", help="Normalised initial error (normalised scans; default -Y, i.e. f0 = 0).")
@click.option("--ntk0", "ntk0", help="Initial NTK (default 1).")
@click.option("--y", "y", help="Target y (default 1).")
@click.option("--width", "width", help="Width n (physical scans).")
@click.option("--param", "param", help="Parameterization: sp, mup or s in [0, 1] (default sp).")
@click.option("--r", "r", help="Cubic-map parameter r (with --model cubic).")
@click.option("--x0", "x0", help="Cubic-map initial state (with --model cubic; default 0.5).")
@click.option("--steps", type=click.IntRange(min=1), default=1000, show_default=True, help="GD steps per point.")
@click.option("--model", type=click.Choice(["function", "weights", "cubic"]), default="function", show_default=True,
              help="UV function-space map, GD on random (u, v) weights, or the cubic map.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Base seed (--model weights).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None, help="Points per chunk.")
@click.option("--format", "fmt", type=click.Choice(["zarr", "npz"]), default="zarr", show_default=True,
              help="Data format; zarr is resumable (rerun the same command to continue).")
@click.option("--heatmap", "heatmaps", multiple=True,
              default=("lr_final_sharpness", "peak_loss_ratio", "time_to_converge"), show_default=True,
              help="Quantities to draw as heat maps (scan variables or derived names).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="OpenMP threads.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="sharpdyn-scan",
              show_default=True, help="Output folder.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def scan(c, lr, Y, f0, g0, ntk0, y, width, param, r, x0, steps, model, seed, chunk_size, fmt, heatmaps, threads, out_dir,
         progress) -> None:
    """Phase scan of the UV model: regimes over a grid of learning rates and initialisations.

    Example (the normalised plane, one picture for every width):

        sharpdyn scan --c 0.2:5:400 --Y 0.005:1.6:320 --steps 2000

    Example (SP at width 4096, learning rate vs initial output):

        sharpdyn scan --c 0.5:5:300 --f0 -2:2:200 --width 4096 --steps 1000

    Example (the cubic map, GD on a sub-quadratic loss):

        sharpdyn scan --model cubic --r 1.5:3.2:400 --x0 -1.2:1.2:300 --steps 2000
    """
    import matplotlib

    matplotlib.use("Agg")
    from .. import regimes
    from .. import scan as _scan
    from ..figures.scan import plot_heatmap, plot_phase_diagram

    given = dict(c=c, lr=lr, Y=Y, f0=f0, g0=g0, ntk0=ntk0, y=y, width=width, param=param, r=r, x0=x0)
    parsed = {k: parse_values(v, k) for k, v in given.items() if v is not None}
    axes = {k: v for k, v in parsed.items() if isinstance(v, (np.ndarray, list))}
    fixed = {k: v for k, v in parsed.items() if k not in axes}
    if not axes:
        raise click.UsageError("give at least one axis (START:STOP:NUM or a comma list), e.g. --c 0.5:5:200")
    out_dir.mkdir(parents=True, exist_ok=True)
    store = out_dir / "scan.zarr" if fmt == "zarr" else None
    t0 = time.perf_counter()
    try:
        ds = _scan.grid(axes, steps=steps, model=model, seed=seed, chunk_size=chunk_size, store=store,
                        progress=progress, threads=threads, **fixed)
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc)) from exc
    elapsed = time.perf_counter() - t0
    if fmt == "npz":
        np.savez_compressed(out_dir / "scan.npz", **{k: ds[k].values for k in ds.data_vars},
                            **{f"coord_{k}": ds[k].values for k in ds.dims})
    files = []
    if ds["regime"].ndim <= 2:
        plot_phase_diagram(ds).savefig(out_dir / "phase_diagram.png", dpi=130)
        files.append("phase_diagram.png")
        for q in heatmaps:
            try:
                fig = plot_heatmap(ds, q, log=q in ("peak_loss_ratio", "time_to_converge"))
            except ValueError as exc:
                raise click.UsageError(str(exc)) from exc
            fig.savefig(out_dir / f"heatmap_{q}.png", dpi=130)
            files.append(f"heatmap_{q}.png")
    codes = ds["regime"].values
    summary = {
        "points": int(codes.size), "steps": steps, "model": model, "seconds": elapsed,
        "point_steps_per_second": codes.size * steps / max(elapsed, 1e-12),
        "axes": {k: [float(np.min(ds[k])), float(np.max(ds[k])), int(ds.sizes[k])] for k in ds["regime"].dims},
        "fixed": {k: (v if isinstance(v, str) else float(v)) for k, v in fixed.items()},
        "regime_fractions": {name: float(np.mean(codes == i)) for i, name in enumerate(regimes.REGIMES)},
        "data": "scan.zarr" if fmt == "zarr" else "scan.npz", "figures": files,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    click.echo(f"[scan] {codes.size:,} points x {steps} steps in {elapsed:.2f} s; wrote {summary['data']}, "
               + ", ".join(files) + f", summary.json to {out_dir}/")
