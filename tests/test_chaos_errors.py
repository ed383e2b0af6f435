"""Bad input to the chaos API raises clear errors naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import chaos

GOOD = dict(x0=0.3, n_transient=10, n_keep=5)


@pytest.mark.parametrize(
    "params, kwargs, match",
    [
        ([], {}, "params must not be empty"),
        ([2.0, np.nan], {}, "params must be finite"),
        ([2.0, np.inf], {}, "params must be finite"),
        (np.ones((2, 2)), {}, "params must be a 1-D"),
        ([2.0], {"n_keep": 0}, "n_keep must be > 0"),
        ([2.0], {"n_keep": -3}, "n_keep must be > 0"),
        ([2.0], {"n_transient": -1}, "n_transient must be >= 0"),
        ([2.0], {"n_transient": 1.5}, "n_transient must be an integer"),
        ([2.0], {"x0": np.nan}, "x0 must be finite"),
        ([2.0, 2.1], {"x0": [0.1, 0.2, 0.3]}, "x0 must be a scalar or have shape"),
        ([2.0], {"observable": "entropy"}, "observable must be one of"),
        ([2.0], {"threads": 0}, "threads must be > 0"),
        ([2.0], {"continuation": "yes"}, "continuation must be a bool"),
    ],
    ids=["empty", "nan", "inf", "2d", "keep0", "keepneg", "transneg", "transfloat", "x0nan", "x0shape",
         "observable", "threads", "continuation"],
)
def test_orbit_diagram_rejects(params, kwargs, match):
    with pytest.raises(ValueError, match=match):
        chaos.orbit_diagram("cubic", params, **{**GOOD, **kwargs})


def test_oversized_result_is_refused_before_allocating():
    with pytest.raises(ValueError, match="n_keep.*TiB.*SHARPDYN_MAX_BYTES"):  # 80 TB: more than any machine
        chaos.orbit_diagram("cubic", np.linspace(2, 3, 100_000), x0=0.3, n_transient=0, n_keep=100_000_000)


def test_unknown_system_and_uv_shapes():
    with pytest.raises(ValueError, match="system must be one of"):
        chaos.orbit_diagram("henon", [1.0], **GOOD)
    with pytest.raises(ValueError, match=r"x0 for the uv system"):
        chaos.orbit_diagram("uv", [1.0, 1.2], x0=0.3, n_transient=1, n_keep=1)
    with pytest.raises(ValueError, match="observable"):
        chaos.orbit_diagram("uv", [1.0], x0=(0.1, 2.0), n_transient=1, n_keep=1, observable="x")


def test_period_lyapunov_and_uv_lr_reject_bad_input():
    with pytest.raises(ValueError, match="max_period must be > 0"):
        chaos.period("cubic", [2.0], x0=0.3, n_transient=10, max_period=0)
    with pytest.raises(ValueError, match="max_period must be <="):
        chaos.period("cubic", [2.0], x0=0.3, n_transient=10, max_period=2**21)
    with pytest.raises(ValueError, match="tol must be > 0"):
        chaos.period("cubic", [2.0], x0=0.3, n_transient=10, tol=0.0)
    with pytest.raises(ValueError, match="n_steps must be > 0"):
        chaos.lyapunov("cubic", [2.0], x0=0.3, n_transient=10, n_steps=0)
    with pytest.raises(ValueError, match="n_transient must be >= 0"):
        chaos.lyapunov("uv", [1.2], x0=(0.1, 2.0), n_transient=-5, n_steps=10)
    with pytest.raises(ValueError, match="lr must be > 0"):
        chaos.uv_orbit_diagram([0.1, -0.2], width=10, f0=0.5, ntk0=1.0, n_transient=1, n_keep=1)
    with pytest.raises(ValueError, match="width must be > 0"):
        chaos.uv_orbit_diagram([0.1], width=0, f0=0.5, ntk0=1.0, n_transient=1, n_keep=1)
    with pytest.raises(ValueError, match="f0 must be finite"):
        chaos.uv_orbit_diagram([0.1], width=4, f0=np.nan, ntk0=1.0, n_transient=1, n_keep=1)
    with pytest.raises(ValueError, match="ntk0 must be >= 0"):
        chaos.uv_orbit_diagram([0.1], width=4, f0=0.5, ntk0=-1.0, n_transient=1, n_keep=1)
    with pytest.raises(ValueError, match="cycle_period must be > 0"):
        chaos.cycle_multipliers("cubic", [2.1], cycle_period=0, x0=0.3, n_transient=10)
