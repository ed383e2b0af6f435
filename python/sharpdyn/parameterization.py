"""Width scalings of the two-layer (UV) model.

``f = gamma * v^T (u x)`` with initial weights ``N(0, sigma^2 / n^s)`` and
``gamma = n^{-(1-s)/2}``: ``s = 0`` is standard / NTK scaling (``"sp"``), ``s = 1`` the
maximal-update scaling (``"mup"``); any ``s`` in [0, 1] interpolates.

Names: here ``"sp"``, ``"standard"`` and ``"ntk"`` are one scaling, ``s = 0``
(``f = v^T u x / sqrt(n)`` with O(1) weights, the paper's "neural-tangent / standard"
scaling). :mod:`sharpdyn.mlp` uses ``"sp"`` and ``"ntk"`` for two *different* MLP
parameterizations (per-layer multipliers against fan-in initial variances); the UV model's
``s = 0`` is the MLP's ``"ntk"``.
"""

from __future__ import annotations

from typing import Union

import numpy as np

from .validation import finite_float

Param = Union[str, float]

NAMED = {"sp": 0.0, "ntk": 0.0, "standard": 0.0, "mup": 1.0, "mu_p": 1.0}


def exponent(param: Param) -> float:
    """The exponent ``s`` of a parameterization given by name or as a float in [0, 1]."""
    if isinstance(param, str):
        key = param.lower()
        if key not in NAMED:
            raise ValueError(f"param must be one of {sorted(NAMED)} or a float in [0, 1], got {param!r}")
        return NAMED[key]
    if isinstance(param, bool):
        raise ValueError(f"param must be a name or a float in [0, 1], got {param!r}")
    s = finite_float(param, "param")
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"param as a float must lie in [0, 1], got {s}")
    return s


def gamma(width: float | np.ndarray, param: Param) -> np.ndarray:
    """Output multiplier ``gamma = n^{-(1-s)/2}``."""
    s = exponent(param)
    return np.asarray(width, dtype=np.float64) ** (-(1.0 - s) / 2.0)


def init_std(width: float | np.ndarray, param: Param, sigma: float = 1.0) -> np.ndarray:
    """Standard deviation ``sigma / n^{s/2}`` of the initial weights."""
    s = exponent(param)
    return sigma * np.asarray(width, dtype=np.float64) ** (-s / 2.0)


def kappa(width: float | np.ndarray, x_norm2: float | np.ndarray, param: Param) -> np.ndarray:
    """``kappa = gamma^2 |x|^2``, the curvature scale of the function-space map."""
    return gamma(width, param) ** 2 * np.asarray(x_norm2, dtype=np.float64)
