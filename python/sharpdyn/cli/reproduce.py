"""``sharpdyn reproduce``: regenerate the evidence of arXiv 2311.02076 into one folder
(index.html, claims.json, figures, data)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..reproduce.sections import ORDER


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="sharpdyn-reproduce",
              show_default=True, help="Output folder: index.html, claims.json, figures/, data/, cache/.")
@click.option("--quick", "mode", flag_value="quick", default=True,
              help="Small grids and subsets: minutes on 2 CPU cores (default).")
@click.option("--full", "mode", flag_value="full",
              help="The paper's resolution: hours on a CPU, minutes per section on a GPU or cluster.")
@click.option("--data-root", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder with MNIST (mnist/ or the IDX files), fashion-mnist/ or cifar10/ (default: bundled digits).")
@click.option("--dataset", type=click.Choice(["auto", "digits", "mnist", "fashion-mnist", "cifar10"]), default="auto",
              show_default=True, help="Dataset of the real-network sections (auto: MNIST if --data-root holds it).")
@click.option("--scheduler", default="local", show_default=True,
              help="'local' (a Dask LocalCluster), 'sync' (this process) or a Dask scheduler address tcp://HOST:PORT.")
@click.option("--resume", is_flag=True, help="Reuse every finished run cached in OUT/cache (after an interrupt).")
@click.option("--sections", "only", multiple=True, type=click.Choice(ORDER),
              help="Run only these sections (repeat the option); default all.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--device", default=None,
              help="torch device of the torch-model runs: cpu (default) or cuda (one GPU per Dask worker).")
def reproduce(out_dir: Path, mode: str, data_root: Path | None, dataset: str, scheduler: str, resume: bool,
              only: tuple[str, ...], seed: int, device: str | None) -> None:
    """Reproduce the paper (arXiv 2311.02076): UV model, phase diagram, route to chaos, real networks."""
    import matplotlib

    matplotlib.use("Agg")
    from ..reproduce import reproduce as _reproduce

    try:
        report = _reproduce(out_dir, mode=mode, sections=only or None, seed=seed, data_root=data_root,
                            dataset=dataset, scheduler=scheduler, resume=resume, device=device,
                            log=click.echo)
    except KeyboardInterrupt:
        click.echo(f"\n[reproduce] interrupted: every finished run is cached in {out_dir / 'cache'}; "
                   f"rerun with --resume to continue", err=True)
        sys.exit(130)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    n_checked = sum(1 for c in report.claims if c.passed is not None)
    click.echo(f"[reproduce] {n_checked - len(report.failed)}/{n_checked} claims pass; "
               f"open {out_dir / 'index.html'}")
    for c in report.failed:
        click.echo(f"[reproduce]   FAILED {c.section}/{c.key}: measured {c.measured:.6g}, target {c.describe_target()}")
