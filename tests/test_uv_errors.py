"""Bad input raises ValueError naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import uv

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(width=0), "width"),
        (dict(width=-3), "width"),
        (dict(x=NAN), "x"),
        (dict(y=INF), "y"),
        (dict(lr=NAN), "lr"),
        (dict(lr=-0.1), "lr"),
        (dict(lr=0.0), "lr"),
        (dict(param="ntk2"), "param"),
        (dict(param="ntk"), "param"),  # "ntk" is only the MLP's NTK parameterization, not s = 0
        (dict(param=1.5), "param"),
        (dict(steps=-1), "steps"),
        (dict(steps=2.5), "steps"),
    ],
)
def test_function_map_rejects(kwargs, name):
    base = dict(lr=0.1, width=10, x=1.0, y=1.0, param="sp", steps=1)
    base.update(kwargs)
    with pytest.raises(ValueError, match=name):
        uv.function_map(0.0, 1.0, **base)


def test_function_map_rejects_nan_state_and_bad_broadcast():
    with pytest.raises(ValueError, match="f"):
        uv.function_map(NAN, 1.0, lr=0.1, width=10)
    with pytest.raises(ValueError, match="broadcast"):
        uv.function_map(np.zeros(3), np.ones(4), lr=0.1, width=10)


@pytest.mark.parametrize(
    "u0,v0,kwargs,name",
    [
        (np.ones(5), np.ones(4), {}, "u0"),
        (np.ones((5, 2)), np.ones(5), {}, "u0"),  # scalar x needs u0 of shape (n,)
        (np.ones((5, 2)), np.ones(5), dict(x=[1.0, 2.0, 3.0]), "u0"),
        (np.ones(5), np.ones((1, 2, 5)), {}, "v0"),
        (np.ones(5), np.ones(5), dict(lr=-1.0), "lr"),
        (np.ones(5), np.ones(5), dict(lr=[0.1, 0.2]), "lr"),
        (np.ones(5), np.ones(5), dict(steps=0), "steps"),
        (np.ones(5), np.ones(5), dict(x=NAN), "x"),
        (np.ones(5), np.ones(5), dict(y=NAN), "y"),
        (np.full(5, NAN), np.ones(5), {}, "u0"),
        (np.ones(5), np.ones(5), dict(param="bogus"), "param"),
        (np.ones(0), np.ones(0), {}, "u0"),
    ],
)
def test_train_rejects(u0, v0, kwargs, name):
    base = dict(lr=0.1, steps=3)
    base.update(kwargs)
    with pytest.raises(ValueError, match=name):
        uv.train(u0, v0, **base)


def test_fixed_points_reject():
    with pytest.raises(ValueError, match="width"):
        uv.fixed_points(lr=0.1, width=0)
    with pytest.raises(ValueError, match="lr"):
        uv.fixed_points(lr=-0.1, width=10)
    with pytest.raises(ValueError, match="period"):
        uv.fixed_points(lr=0.1, width=10, period=0)
    with pytest.raises(ValueError, match="y"):
        uv.fixed_points(lr=0.1, width=10, y=NAN)


def test_init_rejects():
    with pytest.raises(ValueError, match="width"):
        uv.init(0)
    with pytest.raises(ValueError, match="batch"):
        uv.init(4, batch=0)
