"""Point-wise phase scans: millions of independent runs per call, kept as per-point statistics.

:func:`uv` runs the exact function-space map of :mod:`sharpdyn.uv` from every point of
broadcast arrays ``(lr, ntk0, f0)`` (plus ``width``, ``x``, ``y``) in a compiled, blocked,
SIMD and OpenMP kernel that keeps only per-point statistics, never the orbit, and labels
each point with the regimes of :mod:`sharpdyn.regimes`. The arithmetic is that of
:func:`sharpdyn.uv.iterate` operation for operation, so a scan point's regime, final state
and divergence step equal those of a single recorded run from the same inputs, bit for
bit, whatever the thread count, chunking or instruction set. :func:`uv_normalized` runs the
one-parameter normalised map, :func:`cubic` the cubic map of :mod:`sharpdyn.cubic`.

:func:`run_flat` and :func:`run_cubic_flat` are the kernels on validated flat arrays, which
the grid scans of :mod:`sharpdyn.scan.grids` call chunk by chunk. This module imports
:mod:`sharpdyn.scan.statistics` and nothing else of :mod:`sharpdyn.scan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _core
from .. import parameterization as _param
from .. import regimes as _regimes
from ..simd import isa_arg
from ..validation import (
    as_float_array,
    check_allocation,
    nonnegative_array,
    positive_array,
    positive_int,
    product,
    threads_arg,
)
from .statistics import MAP_LR, ScanStatistics, criteria_arg, labelled_statistics

__all__ = ["SCAN_BYTES_PER_POINT", "CubicScan", "UVScan", "check_scan_size", "cubic", "run_cubic_flat", "run_flat",
           "uv", "uv_normalized"]


@dataclass(frozen=True)
class UVScan(ScanStatistics):
    """Per-point results of a function-space UV scan; every array has the broadcast shape.

    Attributes
    ----------
    f, ntk:
        Final output and NTK after ``steps`` steps; ``+-inf`` / ``+inf`` where diverged.
    diverged, diverged_at:
        Divergence flag and the first out-of-bound step (-1 if none), as
        :func:`sharpdyn.uv.iterate`.
    converged_at:
        First sampled step (a multiple of ``sharpness_every``, or ``steps``) from which
        ``|f - y| <= sqrt(converged_rtol) |f0 - y|`` (i.e. ``L <= converged_rtol * L0``) holds
        at every later sampled step; -1 if not converged (or diverged). Exact to the step
        for ``sharpness_every=1``.
    initial_loss, max_loss, final_loss:
        ``L_0``; ``max_{t >= 1} L_t`` over in-bound steps (``-inf`` if the first step
        diverged); the loss of the last in-bound step. ``L = (f - y)^2 / 2``.
    initial_sharpness, final_sharpness, min_sharpness, max_sharpness:
        Exact top Hessian eigenvalue (units of 1/lr) at step 0, at the last in-bound step,
        and its min/max over in-bound steps ``t % sharpness_every == 0`` and ``t = steps``.
    late_edge_ratio:
        ``lr * max S / 2`` over the late window (NaN where diverged).
    late_loss_increase:
        Whether the loss rose in the late window.
    regime:
        Codes into :data:`sharpdyn.regimes.REGIMES` (int8); see :attr:`regime_names`.
    lr, ntk0, f0, kappa, y:
        The inputs, broadcast to the result shape (``kappa = width^-(1-s) x^2``). ``lr`` is
        the learning rate the kernel ran with (:data:`~sharpdyn.scan.statistics.MAP_LR` for
        :func:`uv_normalized`); ``late_edge_ratio`` and the labels were computed from it, and
        so should anything derived from this result (e.g. ``lr * final_sharpness``).
    steps, sharpness_every, criteria:
        Run length, sharpness sampling and the regime criteria used.
    """

    f: NDArray[np.float64]
    ntk: NDArray[np.float64]
    lr: NDArray[np.float64]
    ntk0: NDArray[np.float64]
    f0: NDArray[np.float64]
    kappa: NDArray[np.float64]
    y: NDArray[np.float64]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.f.shape

    @property
    def c(self) -> NDArray[np.float64]:
        """Normalised learning rate ``c = lr * ntk0``."""
        return self.lr * self.ntk0

    def summary(self) -> _regimes.RegimeSummary:
        """The :class:`sharpdyn.regimes.RegimeSummary` the labels were computed from."""
        return _regimes.RegimeSummary(
            initial_loss=self.initial_loss, max_loss=self.max_loss, final_loss=self.final_loss,
            initial_sharpness=self.initial_sharpness, final_sharpness=self.final_sharpness,
            late_edge_ratio=self.late_edge_ratio, late_loss_increase=self.late_loss_increase,
            diverged=self.diverged, lr=self.lr,
        )


SCAN_BYTES_PER_POINT = 176
"""Memory one point of :func:`uv` / :func:`cubic` needs (contiguous inputs, kernel outputs,
labels and the inputs kept in the result; measured 163 bytes)."""


def check_scan_size(shape: tuple[int, ...], names: str) -> None:
    """Refuse a scan whose points would not fit in memory (see
    :func:`sharpdyn.validation.check_allocation`)."""
    check_allocation(SCAN_BYTES_PER_POINT * product(*shape), names,
                     hint=f"{product(*shape):,} points ({' x '.join(map(str, shape))}); scan fewer points per call")


def run_flat(
    lr: NDArray[np.float64],
    ntk0: NDArray[np.float64],
    f0: NDArray[np.float64],
    kappa: NDArray[np.float64],
    y: NDArray[np.float64],
    *,
    steps: int,
    sharpness_every: int = 1,
    criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA,
    threads: int = 0,
    isa: str = "auto",
) -> dict[str, NDArray[Any]]:
    """The kernel on validated 1-D float64 arrays of equal length; a dict of per-point
    arrays with the fields of :class:`UVScan` (no inputs). The statistics and labels are
    computed with the ``lr`` given here, the one the kernel ran with. Used by :func:`uv`
    and by the chunked grid scans."""
    flat_lr, flat_ntk0, flat_f0, flat_kappa, flat_y = (
        np.ascontiguousarray(a, dtype=np.float64).ravel() for a in (lr, ntk0, f0, kappa, y))
    window = _regimes.late_window(steps + 1, criteria)
    raw = _core.uv_scan(flat_f0, flat_ntk0, flat_lr, flat_kappa, flat_y, steps, window, sharpness_every,
                        criteria.converged_rtol, _regimes.LOSS_INCREASE_RTOL, threads, isa)
    return {"f": raw["f"], "ntk": raw["ntk"], **labelled_statistics(raw, flat_lr, criteria)}


def uv(
    lr: ArrayLike,
    ntk0: ArrayLike,
    f0: ArrayLike,
    *,
    width: ArrayLike,
    x: ArrayLike = 1.0,
    y: ArrayLike = 1.0,
    param: _param.Param = "sp",
    steps: int,
    threads: int | None = None,
    sharpness_every: int = 1,
    criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA,
    isa: str = "auto",
) -> UVScan:
    """Run the UV function-space map independently from every point of the broadcast arrays.

    Parameters
    ----------
    lr:
        Learning rate ``eta > 0``.
    ntk0, f0:
        Initial NTK ``lambda_0 >= 0`` and output ``f_0``.
    width, x, y, param:
        Width ``n > 0``, input (a scalar; pass ``|x|`` for a vector), target and
        parameterization (``"sp"``, ``"mup"`` or ``s`` in [0, 1]); they set
        ``kappa = n^-(1-s) x^2`` exactly as :func:`sharpdyn.uv.function_map` does.
        ``width``, ``x`` and ``y`` broadcast with the other arrays.
    steps:
        Number of GD steps (>= 1).
    threads:
        OpenMP threads (None: OpenMP's default). Results never depend on it.
    sharpness_every:
        ``min_sharpness`` / ``max_sharpness`` and ``converged_at`` sample every this many
        steps (and the last step). 1 (default) samples every step; larger values skip a
        square root and a convergence test per step and point. The regime label never
        depends on it (it uses every step of the late window).
    criteria:
        Regime thresholds (:class:`sharpdyn.regimes.RegimeCriteria`).
    isa:
        ``"auto"`` (the widest SIMD the CPU has), ``"baseline"``, ``"avx2"`` or ``"avx512"``.
        Every choice gives the same bits.

    Returns
    -------
    UVScan
        Per-point arrays of the broadcast shape (0-d for scalar inputs).
    """
    steps = positive_int(steps, "steps")
    sharpness_every = positive_int(sharpness_every, "sharpness_every")
    criteria = criteria_arg(criteria)
    isa = isa_arg(isa)
    eta = positive_array(lr, "lr")
    lam = nonnegative_array(ntk0, "ntk0")
    f = as_float_array(f0, "f0")
    yy = as_float_array(y, "y")
    w = positive_array(width, "width")
    xx = as_float_array(x, "x")
    k = _param.kappa(w, xx * xx, param)
    try:
        shape = np.broadcast_shapes(eta.shape, lam.shape, f.shape, k.shape, yy.shape)
    except ValueError as exc:
        raise ValueError(f"lr, ntk0, f0, width, x, y must broadcast together: {exc}") from exc
    check_scan_size(shape, "lr, ntk0, f0, width, x, y")
    eta, lam, f, k, yy = np.broadcast_arrays(eta, lam, f, k, yy)
    out = run_flat(eta, lam, f, k, yy, steps=steps, sharpness_every=sharpness_every, criteria=criteria,
                   threads=threads_arg(threads), isa=isa)
    shape = eta.shape
    arrays = {name: value.reshape(shape) for name, value in out.items()}
    return UVScan(
        **arrays,
        lr=np.array(eta, dtype=np.float64), ntk0=np.array(lam, dtype=np.float64), f0=np.array(f, dtype=np.float64),
        kappa=np.array(k, dtype=np.float64), y=np.array(yy, dtype=np.float64),
        steps=steps, sharpness_every=sharpness_every, criteria=criteria,
    )


def uv_normalized(
    c: ArrayLike,
    Y: ArrayLike,
    g0: ArrayLike | None = None,
    *,
    steps: int,
    threads: int | None = None,
    sharpness_every: int = 1,
    criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA,
    isa: str = "auto",
) -> UVScan:
    """Scan the one-parameter normalised map of :func:`sharpdyn.uv.normalized_map`.

    ``c = lr * ntk0`` (the initial ``z``), ``Y = lr sqrt(kappa) y`` and
    ``g0 = lr sqrt(kappa) (f0 - y)`` (default ``-Y``, i.e. ``f0 = 0``). Every width and
    parameterization with the same ``(c, Y, g0)`` is the same run, so one ``(c, Y)``
    picture covers them all. The result is a :class:`UVScan` of the map with
    ``lr = MAP_LR = 1``, ``ntk0 = c``, ``kappa = 1``, target ``Y``: its ``f`` is ``g + Y``, its
    sharpness is ``lr * S`` and its losses are ``lr^2 kappa L``; the regime labels are
    invariant under this rescaling.
    """
    cc = positive_array(c, "c")
    YY = as_float_array(Y, "Y")
    gg = -YY if g0 is None else as_float_array(g0, "g0")
    try:
        shape = np.broadcast_shapes(cc.shape, YY.shape, gg.shape)
    except ValueError as exc:
        raise ValueError(f"c, Y, g0 must broadcast together: {exc}") from exc
    check_scan_size(shape, "c, Y, g0")
    cc, YY, gg = np.broadcast_arrays(cc, YY, gg)
    return uv(MAP_LR, cc, gg + YY, width=1.0, x=1.0, y=YY, param="sp", steps=steps, threads=threads,
              sharpness_every=sharpness_every, criteria=criteria, isa=isa)


@dataclass(frozen=True)
class CubicScan(ScanStatistics):
    """Per-point results of a cubic-map scan (:func:`cubic`); arrays of the broadcast shape.

    Loss and sharpness are in the map's own units, as :func:`sharpdyn.cubic.loss` and
    :func:`sharpdyn.cubic.sharpness` (``lr * L''`` with ``lr =``
    :data:`~sharpdyn.scan.statistics.MAP_LR`, so the edge of stability is 2); the
    fields mean what they mean in :class:`UVScan`, with ``x`` the final state (``+-inf``
    where diverged, i.e. ``|x|`` beyond ``max(1e6 (|x0| + 1), 2 sqrt(1 + 1/|r|))``).
    """

    x: NDArray[np.float64]
    r: NDArray[np.float64]
    x0: NDArray[np.float64]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.x.shape

    @property
    def lr(self) -> float:
        """The learning rate of the map's units, :data:`~sharpdyn.scan.statistics.MAP_LR`,
        with which ``late_edge_ratio`` and the labels were computed."""
        return MAP_LR


def run_cubic_flat(
    r: NDArray[np.float64],
    x0: NDArray[np.float64],
    *,
    steps: int,
    sharpness_every: int = 1,
    criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA,
    threads: int = 0,
    isa: str = "auto",
) -> dict[str, NDArray[Any]]:
    """The cubic-map kernel on validated 1-D arrays; a dict with the fields of :class:`CubicScan`."""
    rr = np.ascontiguousarray(r, dtype=np.float64).ravel()
    xx = np.ascontiguousarray(x0, dtype=np.float64).ravel()
    window = _regimes.late_window(steps + 1, criteria)
    raw = _core.cubic_scan(rr, xx, steps, window, sharpness_every, criteria.converged_rtol,
                           _regimes.LOSS_INCREASE_RTOL, threads, isa)
    return {"x": raw["x"], **labelled_statistics(raw, np.full_like(rr, MAP_LR), criteria)}


def cubic(
    r: ArrayLike,
    x0: ArrayLike,
    *,
    steps: int,
    threads: int | None = None,
    sharpness_every: int = 1,
    criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA,
    isa: str = "auto",
) -> CubicScan:
    """Run the cubic map ``x' = r x (1 - x^2)`` from every point of the broadcast ``(r, x0)``.

    The map is GD on ``L(theta) = (a theta^2 - b)^2 / 2`` with ``r = 1 + 2 lr a b``
    (:mod:`sharpdyn.cubic`); loss and sharpness are its observables in map units
    (learning rate 1), so the same regime criteria apply (edge of stability at sharpness 2,
    period doubling from ``r = 2``, escape beyond ``r = 3``). The arithmetic is
    :func:`sharpdyn.cubic.step`'s, so results equal a recorded orbit bit for bit. Options as
    in :func:`uv`.
    """
    steps = positive_int(steps, "steps")
    sharpness_every = positive_int(sharpness_every, "sharpness_every")
    criteria = criteria_arg(criteria)
    isa = isa_arg(isa)
    rr = as_float_array(r, "r")
    xx = as_float_array(x0, "x0")
    try:
        shape = np.broadcast_shapes(rr.shape, xx.shape)
    except ValueError as exc:
        raise ValueError(f"r and x0 must broadcast together: {exc}") from exc
    check_scan_size(shape, "r, x0")
    rr, xx = np.broadcast_arrays(rr, xx)
    out = run_cubic_flat(rr, xx, steps=steps, sharpness_every=sharpness_every, criteria=criteria,
                         threads=threads_arg(threads), isa=isa)
    arrays = {name: value.reshape(rr.shape) for name, value in out.items()}
    return CubicScan(**arrays, r=np.array(rr, dtype=np.float64), x0=np.array(xx, dtype=np.float64), steps=steps,
                     sharpness_every=sharpness_every, criteria=criteria)
