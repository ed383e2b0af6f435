"""Every instruction-set path of the orbit and Lyapunov kernels gives the same bits (FMA
contraction is off), and each path is forced with the same ``isa=`` keyword as the scan."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import chaos, simd
from sharpdyn.uv import DivergenceWarning

R = np.concatenate([np.linspace(0.5, 3.0, 150), 3 + np.logspace(-7, -3, 7)])  # periodic, chaotic, escaping


def _cubic_outputs(isa: str, n_transient: int, n_keep: int) -> np.ndarray:
    with pytest.warns(DivergenceWarning):
        out = [chaos.orbit_diagram("cubic", R, x0=0.31, n_transient=n_transient, n_keep=n_keep, observable=o,
                                   isa=isa).states for o in ("state", "sharpness", "loss")]
    with pytest.warns(DivergenceWarning):
        lam = chaos.lyapunov("cubic", R, x0=0.31, n_transient=100, n_steps=1003, isa=isa)
    return np.stack(out + [np.repeat(lam[:, None], n_keep, axis=1)])


@pytest.mark.parametrize("n_transient, n_keep", [(777, 333), (40, 1500)])  # pipelined / direct output
@pytest.mark.parametrize("isa", [i for i in simd.ISAS if i != "baseline"])
def test_cubic_paths_agree_bitwise(isa, n_transient, n_keep):
    if isa not in simd.available_isas() and isa != "auto":
        pytest.skip(f"this CPU cannot run {isa}")  # pragma: no cover
    np.testing.assert_array_equal(_cubic_outputs(isa, n_transient, n_keep),
                                  _cubic_outputs("baseline", n_transient, n_keep))


def test_cubic_baseline_matches_a_numpy_loop():
    """The forced baseline path is the map itself (so the comparisons above are against it)."""
    with pytest.warns(DivergenceWarning):
        d = chaos.orbit_diagram("cubic", R, x0=0.31, n_transient=50, n_keep=20, isa="baseline")
    x = np.full(R.size, 0.31)
    rows = []
    with np.errstate(all="ignore"):
        for t in range(70):
            if t >= 50:
                rows.append(x.copy())
            x = R * x * (1.0 - x * x)
    ok = d.diverged_at < 0
    np.testing.assert_array_equal(d.states[ok], np.stack(rows, axis=1)[ok])


@pytest.mark.parametrize("observable", ["state", "sharpness", "loss", "ntk"])
def test_uv_paths_agree_bitwise(observable):
    Y = np.linspace(0.05, 2.2, 203)
    x0 = np.stack([np.full(Y.size, 0.3), np.full(Y.size, 1.1)], axis=1)
    runs = {}
    for isa in simd.available_isas():
        with pytest.warns(DivergenceWarning):
            runs[isa] = chaos.orbit_diagram("uv", Y, x0=x0, n_transient=300, n_keep=70, observable=observable,
                                            isa=isa)
    for isa, d in runs.items():
        np.testing.assert_array_equal(d.states, runs["baseline"].states, err_msg=isa)
        np.testing.assert_array_equal(d.diverged_at, runs["baseline"].diverged_at, err_msg=isa)


@pytest.mark.parametrize("bad", ["sse2", "AVX2", "", None, 2])
def test_unknown_isa_is_refused(bad):
    with pytest.raises(ValueError, match="isa"):
        chaos.orbit_diagram("cubic", R, x0=0.31, n_transient=1, n_keep=1, isa=bad)
    with pytest.raises(ValueError, match="isa"):
        chaos.lyapunov_spectrum("uv", [0.5], x0=(0.1, 0.5), n_transient=1, n_steps=2, isa=bad)


def test_default_isa_is_the_widest_available():
    order = ("baseline", "avx2", "avx512")
    assert simd.default_isa() == max(simd.available_isas(), key=order.index)
