"""``sharpdyn scan``: a phase scan of the UV model from the command line.

Each input is a number (fixed), ``START:STOP:NUM`` (a linspace axis) or a comma list (an
axis of those values); axes appear in the order ``--c/--lr, --Y, --f0, --g0, --ntk0, --y,
--width, --param``. Writes the data (Zarr group or NPZ), the phase diagram and heat maps
(PNG) and a JSON summary to a folder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

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
            _finite([start, stop], name, text)
            if num < 1:
                raise click.BadParameter(f"--{name}: NUM must be >= 1 in START:STOP:NUM, got {num}")
            return np.linspace(start, stop, num)
        if "," in text:
            items = [t.strip() for t in text.split(",") if t.strip()]
            return items if name == "param" else np.array(_finite([float(t) for t in items], name, text))
        return text if name == "param" else _finite([float(text)], name, text)[0]
    except ValueError as exc:
        raise click.BadParameter(f"--{name}: expected a number, START:STOP:NUM or a comma list, got {text!r}") from exc


def _finite(values: list[float], name: str, text: str) -> list[float]:
    """``values`` if all are finite, else a BadParameter naming the option and NaN / infinity."""
    for v in values:
        if not np.isfinite(v):
            what = "NaN" if np.isnan(v) else "infinity"
            raise click.BadParameter(f"--{name}: {what} is not a valid value (got {text!r}); give finite numbers")
    return values


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
@click.option("--overwrite", is_flag=True,
              help="Replace the data of a different scan already in --out (without it such a folder is refused; "
                   "the same scan resumes).")
@click.option("--progress/--no-progress", default=True, show_default=True)
def scan(c, lr, Y, f0, g0, ntk0, y, width, param, r, x0, steps, model, seed, chunk_size, fmt, heatmaps, threads,
         out_dir, overwrite, progress) -> None:
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
    store = out_dir / "scan.zarr" if fmt == "zarr" else None  # the folders are made once the scan is accepted
    if overwrite and store is not None and store.exists():
        _remove_store(store)
    t0 = time.perf_counter()
    timings: dict = {}
    try:
        ds = _scan.grid(axes, steps=steps, model=model, seed=seed, chunk_size=chunk_size, store=store,
                        progress=progress, threads=threads, timings=timings, **fixed)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if "holds a different scan" in message or "holds no sharpdyn scan" in message:
            message += " (or pass --overwrite to replace it)"
        raise click.UsageError(message) from exc
    elapsed = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    t_out = time.perf_counter()
    if fmt == "npz":
        arrays: dict[str, Any] = {str(k): ds[k].values for k in ds.data_vars}
        arrays.update({f"coord_{k}": ds[k].values for k in ds.dims})
        np.savez_compressed(out_dir / "scan.npz", **arrays)
    npz_seconds = time.perf_counter() - t_out
    t_fig = time.perf_counter()
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
    figures_seconds = time.perf_counter() - t_fig
    codes = ds["regime"].values
    lr_run = np.asarray(_scan.learning_rate(ds), dtype=np.float64)  # as the scan computed and ran it
    computed = int(timings["computed_points"])
    compute_s = float(timings["compute_seconds"])
    summary = {
        "points": int(codes.size), "steps": steps, "model": model,
        # compute: inside the model's kernels only; io: Zarr store (open/write/read/metadata) and the
        # NPZ file; figures: drawing and saving the PNGs; wall: the whole scan call
        "timing": {
            "computed_points": computed,
            "resumed_points": int(codes.size) - computed,
            "compute_seconds": compute_s,
            "io_seconds": float(timings["store_seconds"]) + npz_seconds,
            "figures_seconds": figures_seconds,
            "scan_wall_seconds": elapsed,
            "compute_point_steps_per_second": computed * steps / compute_s if computed and compute_s > 0 else None,
            "wall_point_steps_per_second": computed * steps / elapsed if computed and elapsed > 0 else None,
        },
        "axes": {k: [float(np.min(ds[k])), float(np.max(ds[k])), int(ds.sizes[k])] for k in ds["regime"].dims},
        "fixed": {k: (v if isinstance(v, str) else float(v)) for k, v in fixed.items()},
        "lr": [float(np.min(lr_run)), float(np.max(lr_run))],  # the learning rates run (lr = c / ntk0 from --c)
        "regime_fractions": {name: float(np.mean(codes == i)) for i, name in enumerate(regimes.REGIMES)},
        "data": "scan.zarr" if fmt == "zarr" else "scan.npz", "figures": files,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    rate = summary["timing"]["compute_point_steps_per_second"]
    click.echo(f"[scan] {codes.size:,} points x {steps} steps in {elapsed:.2f} s "
               f"(computed {computed:,}: {compute_s:.2f} s in the kernels"
               + (f", {rate:.3g} point-steps/s" if rate else "") + f"; {timings['store_seconds']:.2f} s store I/O); "
               f"wrote {summary['data']}, " + ", ".join(files) + f", summary.json to {out_dir}/")


def _remove_store(store: Path) -> None:
    """Delete ``store`` (--overwrite), refusing anything that is not a Zarr group."""
    import shutil

    if not store.is_dir() or not ((store / "zarr.json").exists() or (store / ".zgroup").exists()):
        raise click.UsageError(f"--overwrite: {store} is not a Zarr group; remove it yourself")
    shutil.rmtree(store)
