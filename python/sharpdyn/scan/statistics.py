"""What a scan keeps of each run: per-point statistics and the regime label they decide.

Two sources reduce to the same fields (:class:`ScanStatistics`): the output of a compiled
grid kernel (:func:`labelled_statistics`, used by :mod:`sharpdyn.scan.points`) and recorded
runs (:func:`series_statistics`, used by the parameter-space scans of
:mod:`sharpdyn.scan.grids`). Both are given the learning rate the runs were computed with and
only read it: the late-window edge ratio is ``lr * S / 2`` and the labels are those of
:func:`sharpdyn.regimes.label_codes` (which tests ``lr * S < 2``). Maps run in their own units
(the normalised UV map and the cubic map) have the learning rate :data:`MAP_LR`.

This module imports nothing else of :mod:`sharpdyn.scan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .. import regimes as _regimes

__all__ = ["KERNEL_STATISTICS", "MAP_LR", "RecordedRuns", "ScanStatistics", "criteria_arg", "labelled_statistics",
           "series_statistics"]

MAP_LR = 1.0
"""The learning rate of a map run in its own units (the normalised UV map of
:func:`sharpdyn.scan.uv_normalized`, the cubic map of :func:`sharpdyn.scan.cubic`): its
sharpness is ``lr * S`` and its edge of stability is at 2."""


@dataclass(frozen=True)
class ScanStatistics:
    """Per-point statistics every grid scan keeps (see :class:`sharpdyn.scan.UVScan` for
    their meaning); every array has the scan's shape."""

    diverged: NDArray[np.bool_]
    diverged_at: NDArray[np.int64]
    converged_at: NDArray[np.int64]
    initial_loss: NDArray[np.float64]
    max_loss: NDArray[np.float64]
    final_loss: NDArray[np.float64]
    initial_sharpness: NDArray[np.float64]
    final_sharpness: NDArray[np.float64]
    min_sharpness: NDArray[np.float64]
    max_sharpness: NDArray[np.float64]
    late_edge_ratio: NDArray[np.float64]
    late_loss_increase: NDArray[np.bool_]
    regime: NDArray[np.int8]
    steps: int
    sharpness_every: int
    criteria: _regimes.RegimeCriteria

    @property
    def regime_names(self) -> NDArray[np.str_]:
        """Regime names (array of ``str``, same shape)."""
        return np.asarray(_regimes.names(self.regime))


def criteria_arg(criteria: Any) -> _regimes.RegimeCriteria:
    """``criteria`` if it is a :class:`sharpdyn.regimes.RegimeCriteria`, else ``TypeError``."""
    if not isinstance(criteria, _regimes.RegimeCriteria):
        raise TypeError(f"criteria must be a sharpdyn.regimes.RegimeCriteria, got {type(criteria).__name__}")
    return criteria


KERNEL_STATISTICS: tuple[str, ...] = (
    "diverged_at", "converged_at", "initial_loss", "max_loss", "final_loss",
    "initial_sharpness", "final_sharpness", "min_sharpness", "max_sharpness",
)
"""The statistics a grid kernel returns that a scan keeps as they are."""


def labelled_statistics(raw: dict[str, NDArray[Any]], lr: NDArray[np.float64],
                        criteria: _regimes.RegimeCriteria) -> dict[str, NDArray[Any]]:
    """The :class:`ScanStatistics` fields from a grid kernel's output.

    Parameters
    ----------
    raw:
        The kernel's per-point arrays (shape ``(n,)``): :data:`KERNEL_STATISTICS`,
        ``late_max_sharpness`` (max of the sharpness over the late window) and
        ``late_loss_increase``.
    lr:
        Shape ``(n,)``: the learning rate each point ran at (:data:`MAP_LR` in map units),
        exactly as given to the kernel.
    criteria:
        The regime thresholds.

    Returns
    -------
    dict
        The kernel statistics, ``diverged``, the late values of
        :func:`sharpdyn.regimes.summarize` (``late_edge_ratio = lr * late_max_sharpness / 2``)
        and ``regime``.
    """
    diverged = raw["diverged_at"] >= 0
    late_edge = lr * raw["late_max_sharpness"] / 2.0  # as regimes.summarize
    increase = raw["late_loss_increase"].astype(bool)
    summary = _regimes.RegimeSummary(
        initial_loss=raw["initial_loss"], max_loss=raw["max_loss"], final_loss=raw["final_loss"],
        initial_sharpness=raw["initial_sharpness"], final_sharpness=raw["final_sharpness"],
        late_edge_ratio=late_edge, late_loss_increase=increase, diverged=diverged, lr=lr,
    )
    out = {k: raw[k] for k in KERNEL_STATISTICS}
    out.update(diverged=diverged, late_edge_ratio=late_edge, late_loss_increase=increase,
               regime=_regimes.label_codes(summary, criteria))
    return out


class RecordedRuns(Protocol):
    """Recorded UV runs (as :func:`sharpdyn.uv.train` returns them): per run ``(B,)`` the
    learning rate and divergence, per run and step ``(B, T + 1)`` the rest; ``y`` the target."""

    @property
    def loss(self) -> NDArray[np.float64]: ...
    @property
    def sharpness(self) -> NDArray[np.float64]: ...
    @property
    def f(self) -> NDArray[np.float64]: ...
    @property
    def ntk(self) -> NDArray[np.float64]: ...
    @property
    def y(self) -> float | NDArray[np.float64]: ...
    @property
    def lr(self) -> NDArray[np.float64]: ...
    @property
    def diverged(self) -> NDArray[np.bool_]: ...
    @property
    def diverged_at(self) -> NDArray[np.int64]: ...


def series_statistics(tr: RecordedRuns, *, sharpness_every: int,
                      criteria: _regimes.RegimeCriteria) -> dict[str, NDArray[Any]]:
    """The :class:`ScanStatistics` fields and the final ``f``, ``ntk`` of recorded runs
    ``(B, T + 1)``, in the definitions of the grid kernels (``min_sharpness`` /
    ``max_sharpness`` and ``converged_at`` sampled every ``sharpness_every`` steps and at the
    last step); ``tr.lr`` is the learning rate the runs were made with."""
    summary = _regimes.summarize(tr.loss, tr.sharpness, lr=tr.lr, diverged=tr.diverged, criteria=criteria)
    B, T1 = tr.loss.shape
    last = np.where(tr.diverged, tr.diverged_at - 1, T1 - 1)
    idx = np.arange(B)
    sampled = np.arange(T1) % sharpness_every == 0
    sampled[-1] = True
    with np.errstate(invalid="ignore"):
        S = np.where(sampled & np.isfinite(tr.sharpness), tr.sharpness, np.nan)
        df = np.abs(tr.f - tr.y)
        above = ~(df <= math.sqrt(criteria.converged_rtol) * df[:, :1]) & sampled
    above[:, 0] = df[:, 0] > math.sqrt(criteria.converged_rtol) * df[:, 0]
    last_above = np.where(above.any(axis=1), T1 - 1 - np.argmax(above[:, ::-1], axis=1), -1)
    converged_at = np.where(~tr.diverged & (last_above < T1 - 1), last_above + 1, -1)
    f_last = tr.f[idx, last]
    return {
        "f": np.where(tr.diverged, np.inf, f_last), "ntk": np.where(tr.diverged, np.inf, tr.ntk[idx, last]),
        "diverged": tr.diverged, "diverged_at": tr.diverged_at, "converged_at": converged_at,
        "initial_loss": summary.initial_loss, "max_loss": summary.max_loss, "final_loss": summary.final_loss,
        "initial_sharpness": summary.initial_sharpness, "final_sharpness": summary.final_sharpness,
        "min_sharpness": np.nanmin(S, axis=1), "max_sharpness": np.nanmax(S, axis=1),
        "late_edge_ratio": np.where(tr.diverged, np.nan, summary.late_edge_ratio),
        "late_loss_increase": summary.late_loss_increase & ~tr.diverged,
        "regime": _regimes.label_codes(summary, criteria),
    }
