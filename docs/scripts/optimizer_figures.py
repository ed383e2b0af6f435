"""Regenerate the figures of docs/optimizers.md.

    python docs/scripts/optimizer_figures.py momentum           # docs/figures/momentum_phase.png (~10 s)
    python docs/scripts/optimizer_figures.py adam --root DIR    # docs/figures/torch_adam_eos.png (~2-4 min, 1 thread)

The Adam figure is the ``sharpdyn train`` command shown in docs/optimizers.md (1,000 MNIST
examples from the IDX files in DIR); its setting is the acceptance test
tests/test_torch_adam_eos.py.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

FIGURES = Path(__file__).resolve().parents[1] / "figures"


def momentum() -> None:
    from sharpdyn import momentum as M
    from sharpdyn.figures.momentum import plot_momentum_phase

    scan = M.phase_scan(np.linspace(0.2, 6.0, 117), np.linspace(0.0, 0.9, 46), width=1024, steps=1000)
    cubic = M.cubic_boundaries(np.linspace(0.0, 0.9, 91))
    fig = plot_momentum_phase(scan, cubic)
    fig.savefig(FIGURES / "momentum_phase.png", dpi=130)
    bd = M.uv_boundaries(scan)
    for b, s, c, d, e in zip(bd.momentum[::9], bd.spike[::9], bd.catapult[::9], bd.divergence[::9],
                             bd.linear_edge[::9]):
        print(f"b={b:.1f}: spike c={s:.2f}, catapult c={c:.2f}, divergence c={d:.2f}, linear edge c={e:.2f}")
    for b, r2, esc in zip(cubic.momentum[::10], cubic.second_doubling[::10], cubic.escape[::10]):
        print(f"b={b:.1f}: cubic first doubling lr*lambda={2 + 2 * b:.2f}, second {2 * (r2 - 1):.4f}, "
              f"escape {2 * (esc - 1):.2f}")


def adam(root: str) -> None:
    from click.testing import CliRunner

    from sharpdyn.cli import main

    with tempfile.TemporaryDirectory() as out:
        res = CliRunner().invoke(main, [
            "train", "--dataset", "mnist", "--root", root, "--n", "1000", "--arch", "fcn", "--depth", "4",
            "--width", "32", "--init-scale", "0.5", "--optimizer", "adam", "--beta1", "0.9", "--beta2", "0.999",
            "--eps", "1e-8", "--lr", "3e-3", "--lr", "1e-3", "--steps", "2000", "--sharpness-every", "10",
            "--eig-tol", "1e-4", "--dtype", "float64", "--threads", "1", "--out", out])
        if res.exit_code:
            raise SystemExit(res.output)
        print((Path(out) / "summary.json").read_text())
        shutil.copy(Path(out) / "training.png", FIGURES / "torch_adam_eos.png")


if __name__ == "__main__":
    if sys.argv[1:2] == ["momentum"]:
        momentum()
    elif sys.argv[1:2] == ["adam"] and len(sys.argv) == 4 and sys.argv[2] == "--root":
        adam(sys.argv[3])
    else:
        raise SystemExit(__doc__)
