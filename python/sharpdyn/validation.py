"""Argument checks shared by the public API: every failure is a ``ValueError`` that
names the offending argument."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def as_float_array(value: Any, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """Convert to a float64 array, rejecting non-numeric input, NaN and infinities."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (got NaN or infinity)")
    return arr


def finite_float(value: Any, name: str) -> float:
    """A finite Python float."""
    arr = as_float_array(value, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def positive_float(value: Any, name: str) -> float:
    v = finite_float(value, name)
    if v <= 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    return v


def positive_array(value: Any, name: str) -> np.ndarray:
    arr = as_float_array(value, name)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 everywhere")
    return arr


def nonnegative_array(value: Any, name: str) -> np.ndarray:
    arr = as_float_array(value, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 everywhere")
    return arr


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return int(value)


def nonnegative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def threads_arg(value: Any) -> int:
    """``None`` -> 0 (OpenMP default), else a positive integer. Asking for more than one
    thread from a build without OpenMP warns once and runs serially."""
    if value is None:
        return 0
    n = positive_int(value, "threads")
    if n > 1:
        from . import _core

        if not _core.HAS_OPENMP:
            import warnings

            warnings.warn("sharpdyn was built without OpenMP; running serially", RuntimeWarning, stacklevel=3)
    return n


def one_of(value: Any, name: str, choices: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value
