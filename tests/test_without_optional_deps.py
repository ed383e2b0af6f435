"""The core works with the optional dependencies (torch, dask, zarr, xarray, numba, sklearn) hidden."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys
    HIDDEN = {"torch", "dask", "distributed", "zarr", "xarray", "numba", "sklearn"}
    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {name!r} (hidden by test)")
            return None
    sys.meta_path.insert(0, Hide())
    """
)


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300)


def test_core_modules_import_and_run_without_optional_deps(tmp_path):
    res = _run(
        f"""
        import numpy as np
        import sharpdyn
        from sharpdyn import uv, regimes, fixed_points
        from sharpdyn.figures import uv as uv_figures
        u, v = uv.init(64, seed=0)
        tr = uv.train(u, v, lr=0.5, steps=10)
        assert uv.classify(tr) in regimes.REGIMES
        assert len(uv.fixed_points(lr=0.5, width=64)) == 3
        from click.testing import CliRunner
        from sharpdyn.cli import main
        res = CliRunner().invoke(main, ["demo", "--out", {str(tmp_path)!r}])
        assert res.exit_code == 0, res.output
        print("OK")
        """
    )
    assert res.returncode == 0, res.stderr
    assert "OK" in res.stdout
    for name in ("uv_trajectories.png", "phase_cY.png", "orbit_cubic.png", "mlp_training.png"):
        assert (tmp_path / name).stat().st_size > 10_000
