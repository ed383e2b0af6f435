"""``sharpdyn orbit`` and ``sharpdyn lyapunov``: orbit diagrams, Lyapunov exponents,
doubling points and power spectra of the cubic and UV maps, as data (NPZ/JSON) and figures (PNG)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

SYSTEM_CHOICES = ("cubic", "uv", "uv-lr")


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise click.BadParameter(f"{name}: comma-separated numbers expected, got {text!r}") from exc


def _initial(system: str, x0: str):
    vals = _floats(x0, "--x0")
    if system == "cubic":
        if len(vals) != 1:
            raise click.BadParameter("--x0: one value (x0) for the cubic map")
        return vals[0]
    if len(vals) != 2:
        raise click.BadParameter("--x0: two values g0,z0 for the uv map")
    return tuple(vals)


def _common(f):
    opts = [
        click.option("--system", type=click.Choice(SYSTEM_CHOICES), default="cubic", show_default=True,
                     help="cubic: parameter r; uv: parameter Y (normalised UV map); uv-lr: finite-width UV "
                          "model against the learning rate."),
        click.option("--min", "pmin", type=float, default=None,
                     help="Smallest parameter [cubic 1.8, uv 0.8, uv-lr 0.8]."),
        click.option("--max", "pmax", type=float, default=None,
                     help="Largest parameter [cubic 3.0, uv 2.0, uv-lr 2.0]."),
        click.option("--num", type=click.IntRange(min=1), default=2000, show_default=True, help="Parameter values."),
        click.option("--transient", type=click.IntRange(min=0), default=5000, show_default=True,
                     help="Steps discarded first."),
        click.option("--x0", default=None, help="Initial condition: x0 (cubic) or g0,z0 (uv) [0.3 / 0.3,2.5]."),
        click.option("--width", type=float, default=64.0, show_default=True, help="uv-lr: network width n."),
        click.option("--y", "target", type=float, default=None,
                     help="uv-lr: target y [default 8 = √n, so Y = η]."),
        click.option("--f0", type=float, default=None, help="uv-lr: initial output [default 0.9 y]."),
        click.option("--ntk0", type=float, default=None, help="uv-lr: initial NTK [default 2.2 √κ y]."),
        click.option("--threads", type=click.IntRange(min=1), default=None, help="OpenMP threads."),
        click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="sharpdyn-chaos",
                     show_default=True, help="Folder for data and figures."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


DEFAULT_RANGE = {"cubic": (1.8, 3.0), "uv": (0.8, 2.0), "uv-lr": (0.8, 2.0)}


def _setup(system, pmin, pmax, num, x0, width, target, f0, ntk0):
    lo, hi = DEFAULT_RANGE[system]
    lo = lo if pmin is None else pmin
    hi = hi if pmax is None else pmax
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
        raise click.BadParameter(f"parameter range [{lo}, {hi}] is empty or not finite")
    params = np.linspace(lo, hi, num)
    if system == "uv-lr":
        y = float(np.sqrt(width)) if target is None else target
        sk = 1.0 / np.sqrt(width)
        return params, {"width": width, "y": y, "f0": 0.9 * y if f0 is None else f0,
                        "ntk0": 2.2 * sk * y if ntk0 is None else ntk0}
    default = "0.3" if system == "cubic" else "0.3,2.5"
    return params, {"x0": _initial(system, x0 or default)}


def _quiet_divergence():
    import warnings

    from ..uv import DivergenceWarning

    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore", DivergenceWarning)
    return ctx


@click.command()
@_common
@click.option("--keep", type=click.IntRange(min=1), default=500, show_default=True, help="States kept per parameter.")
@click.option("--observable", default=None,
              help="cubic: state|sharpness|loss; uv: state|sharpness|loss|ntk; uv-lr: sharpness|loss|ntk "
                   "[cubic/uv: state, uv-lr: sharpness].")
@click.option("--continuation", is_flag=True, help="Start each parameter from the previous one's last state.")
@click.option("--lyapunov/--no-lyapunov", "with_lyapunov", default=True, show_default=True,
              help="Add the largest Lyapunov exponent below the diagram (cubic, uv).")
def orbit(system, pmin, pmax, num, transient, x0, width, target, f0, ntk0, threads, out_dir, keep, observable,
          continuation, with_lyapunov):
    """Orbit (bifurcation) diagram: data (NPZ) and a density-image figure (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from .. import chaos
    from ..figures.chaos import plot_orbit_diagram

    try:  # refuse a result that cannot fit before writing or allocating anything
        chaos.check_orbit_diagram_size("uv" if system == "uv-lr" else system, num, keep,
                                       observable=observable or ("sharpness" if system == "uv-lr" else "state"))
    except ValueError as exc:
        raise click.BadParameter(str(exc).replace("n_keep", "--num x --keep", 1)) from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    params, setup = _setup(system, pmin, pmax, num, x0, width, target, f0, ntk0)
    t0 = time.perf_counter()
    ctx = _quiet_divergence()
    try:
        if system == "uv-lr":
            obs = observable or "sharpness"
            d = chaos.uv_orbit_diagram(params, n_transient=transient, n_keep=keep, observable=obs, threads=threads,
                                       **setup)
            lam = None
        else:
            obs = observable or "state"
            d = chaos.orbit_diagram(system, params, x0=setup["x0"], n_transient=transient, n_keep=keep,
                                    observable=obs, continuation=continuation, threads=threads)
            lam = (chaos.lyapunov_spectrum(system, params, x0=setup["x0"], n_transient=transient,
                                           n_steps=max(keep, 2000), threads=threads) if with_lyapunov else None)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    finally:
        ctx.__exit__(None, None, None)
    elapsed = time.perf_counter() - t0
    name = f"orbit_{system.replace('-', '_')}_{obs}"
    d.save(out_dir / f"{name}.npz")
    if lam is not None:
        np.savez_compressed(out_dir / f"{name}_lyapunov.npz", params=lam.params, exponents=lam.exponents,
                            diverged_at=lam.diverged_at)
    log_values = system == "uv-lr" and obs == "loss"
    fig = plot_orbit_diagram(d, lyapunov=lam, log_values=log_values)
    fig.savefig(out_dir / f"{name}.png", dpi=140)
    click.echo(f"[orbit] {params.size} parameters x {keep} states in {elapsed:.2f} s; "
               f"{int(np.count_nonzero(d.diverged))} diverged; wrote {name}.npz/.png to {out_dir}/")


@click.command()
@_common
@click.option("--steps", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Steps averaged after the transient.")
@click.option("--doublings", type=click.IntRange(min=0, max=19), default=14, show_default=True,
              help="Period-doubling points to locate (cubic, uv); 0 to skip.")
@click.option("--spectra", default=None,
              help="Parameters (comma-separated) whose power spectra to draw [cubic 2.1,2.27,2.296,2.9].")
def lyapunov(system, pmin, pmax, num, transient, x0, width, target, f0, ntk0, threads, out_dir, steps, doublings,
             spectra):
    """Lyapunov exponents vs parameter, period-doubling points with Feigenbaum estimates, and power
    spectra of the sharpness: data (NPZ, JSON) and figures (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from .. import chaos
    from ..figures.chaos import VALUE_LABEL, plot_orbit_diagram, plot_power_spectra
    from ..spectra import power_spectrum

    if system == "uv-lr":
        raise click.BadParameter("lyapunov supports --system cubic or uv (use uv: Y = η√κ y)")
    try:  # the orbit diagram drawn beside the exponents keeps min(steps, 1000) states per parameter
        chaos.check_orbit_diagram_size(system, num, min(steps, 1000), observable="sharpness")
    except ValueError as exc:
        raise click.BadParameter(str(exc).replace("n_keep", "--num", 1)) from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    params, setup = _setup(system, pmin, pmax, num, x0, width, target, f0, ntk0)
    ctx = _quiet_divergence()
    try:
        lam = chaos.lyapunov_spectrum(system, params, x0=setup["x0"], n_transient=transient, n_steps=steps,
                                      threads=threads)
        d = chaos.orbit_diagram(system, params, x0=setup["x0"], n_transient=transient, n_keep=min(steps, 1000),
                                observable="sharpness", threads=threads)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    finally:
        ctx.__exit__(None, None, None)
    name = f"lyapunov_{system}"
    np.savez_compressed(out_dir / f"{name}.npz", params=lam.params, exponents=lam.exponents,
                        diverged_at=lam.diverged_at, n_transient=transient, n_steps=steps)
    summary: dict = {"system": system, "params": [float(params[0]), float(params[-1]), int(params.size)]}
    marks: list[float] = []
    if doublings:
        dp = chaos.doubling_points(system, doublings)
        marks = [float(v) for v in dp.params if params[0] <= v <= params[-1]]
        summary["doubling_points"] = {
            "params": dp.params.tolist(), "uncertainty": dp.uncertainty.tolist(), "periods": dp.periods.tolist(),
            "delta_estimates": dp.delta_estimates.tolist(), "delta": dp.delta, "delta_error": dp.delta_error,
            "feigenbaum_delta": chaos.FEIGENBAUM_DELTA, "accumulation": dp.accumulation,
            "accumulation_error": dp.accumulation_error,
        }
    fig = plot_orbit_diagram(d, lyapunov=lam, doubling=marks)
    fig.savefig(out_dir / f"{name}.png", dpi=140)
    default_spectra = "2.1,2.27,2.296,2.9" if system == "cubic" else "1.1,1.27,1.296,1.9"
    sp_params = _floats(spectra or default_spectra, "--spectra")
    if not all(np.isfinite(sp_params)):
        raise click.BadParameter(f"--spectra: finite parameters expected, got {spectra!r}")
    ctx = _quiet_divergence()  # a diverged orbit is reported below, by name
    try:
        orbits = chaos.orbit_diagram(system, sp_params, x0=setup["x0"], n_transient=max(transient, 20000),
                                     n_keep=4096, observable="sharpness", threads=threads)
    except ValueError as exc:
        raise click.BadParameter(f"--spectra: {exc}") from exc
    finally:
        ctx.__exit__(None, None, None)
    pname = "r" if system == "cubic" else "Y"
    spec_list, labels, diverged = [], [], []
    for p, s, at in zip(sp_params, orbits.states, orbits.diverged_at):
        if at >= 0 or not np.all(np.isfinite(s)):
            diverged.append(f"{pname} = {p:g} (at step {int(at)})")
            continue
        sp = power_spectrum(s)
        spec_list.append(sp)
        labels.append(f"{pname} = {p:g}: peaks at {np.round(sp.peaks(3), 4).tolist()} cycles/step")
    if spec_list:
        observable = VALUE_LABEL[(system, "sharpness")]
        plot_power_spectra(spec_list, labels, observable=f"the sharpness {observable}").savefig(
            out_dir / f"spectra_{system}.png", dpi=140)
        summary["spectra_peaks"] = {lab.split(":")[0]: sp.peaks(4).tolist() for lab, sp in zip(labels, spec_list)}
    if diverged:
        summary["spectra_diverged"] = diverged
    (out_dir / f"{name}.json").write_text(json.dumps(summary, indent=2))
    click.echo(f"[lyapunov] {params.size} parameters; wrote {name}.npz/.json/.png"
               + (f", spectra_{system}.png" if spec_list else "") + f" to {out_dir}/")
    if diverged:
        raise click.ClickException(
            f"--spectra: the orbit diverged at {', '.join(diverged)}, so it has no spectrum"
            + (f"; spectra_{system}.png shows the other {len(spec_list)}" if spec_list
               else "; no spectra figure written")
            + " (choose parameters where the map stays bounded" + (", r < 3)" if system == "cubic" else ")"))
