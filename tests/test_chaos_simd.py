"""Every instruction-set path of the orbit and Lyapunov kernels gives the same bits (FMA
contraction is off)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from sharpdyn import _core, chaos
from sharpdyn.uv import DivergenceWarning

SCRIPT = """
import sys, numpy as np
from sharpdyn import _core, chaos
r = np.concatenate([np.linspace(0.5, 3.0, 150), 3 + np.logspace(-7, -3, 7)])
out = [chaos.orbit_diagram("cubic", r, x0=0.31, n_transient=777, n_keep=333, observable=o).states
       for o in ("state", "sharpness", "loss")]
out.append(np.repeat(chaos.lyapunov("cubic", r, x0=0.31, n_transient=100, n_steps=1003)[:, None], 333, axis=1))
np.save(sys.argv[1], np.stack(out))
print(_core.cubic_simd_path())
"""


@pytest.mark.parametrize("path", ["sse2", "avx2"])
def test_simd_paths_agree_bitwise(tmp_path, path):
    if _core.cubic_simd_path() == "scalar":
        pytest.skip("not an x86-64 GCC build: there is only one path")  # pragma: no cover
    target = tmp_path / "orbits.npy"
    env = {**os.environ, "SHARPDYN_SIMD": path, "PYTHONWARNINGS": "ignore"}
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(target)], env=env, capture_output=True, text=True,
                         check=True)
    used = res.stdout.strip().splitlines()[-1]
    assert used in (path, "sse2")  # avx2 falls back to sse2 only on a CPU without it
    other = np.load(target)
    r = np.concatenate([np.linspace(0.5, 3.0, 150), 3 + np.logspace(-7, -3, 7)])
    with pytest.warns(DivergenceWarning):
        here = [chaos.orbit_diagram("cubic", r, x0=0.31, n_transient=777, n_keep=333, observable=o).states
                for o in ("state", "sharpness", "loss")]
    with pytest.warns(DivergenceWarning):
        lam = chaos.lyapunov("cubic", r, x0=0.31, n_transient=100, n_steps=1003)
    here = np.stack(here + [np.repeat(lam[:, None], 333, axis=1)])
    np.testing.assert_array_equal(here, other)
