"""Regime labels for a finished training run, shared by every model in the library.

The same criteria apply to the UV model (:func:`sharpdyn.uv.train`), to phase scans
(:mod:`sharpdyn.scan`, which computes the same summary statistics in C++ without storing
orbits), to small C++ MLPs and to PyTorch networks. A run is reduced to a
:class:`RegimeSummary` of a few numbers, and :func:`label_codes` turns a summary into one
of the fixed labels in :data:`REGIMES`.

Definitions (``eta`` the learning rate, ``L_t`` the loss at step ``t = 0..T``, ``S_j`` the
sharpness samples, ``W`` = :func:`late_window` of the number of samples):

``"divergence"``
    The run left its divergence bound (overflow, or ``|f - y|`` past the model's bound)
    before the end.
``"edge_of_stability"``
    Not diverged, not converged (``L_T > converged_rtol * L_0``), the loss is not
    monotone at late times (some ``L_t > L_{t-1} * (1 + 1e-12)`` with both steps in the
    last ``W`` loss samples) and the late sharpness reaches the edge: the largest
    ``eta * S_j / 2`` over the last ``W`` sharpness samples is at least
    ``1 / (1 + eos_band)``. (On the UV model's period-2 orbit the NTK values have geometric
    mean exactly ``2/eta`` and the sharpness oscillates across ``2/eta``; in real networks
    the sharpness hovers at ``2/eta``. A bounded run that keeps oscillating with the
    sharpness below the edge is not at the edge of stability.)
``"catapult"``
    The loss rose above its initial value at some step (``max_{t>=1} L_t >
    L_0 * spike_factor``) and the final sharpness is below ``2/eta``.
``"progressive_sharpening"``
    Otherwise, if the final sharpness exceeds the initial one by more than
    ``rel_change`` (relative).
``"sharpness_reduction"``
    Otherwise, if the final sharpness is below the initial one by more than ``rel_change``.
``"lazy"``
    Otherwise: the sharpness stayed within ``rel_change`` of its initial value.

The order above is the order of precedence.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

from .validation import as_real_array, positive_array

REGIMES: tuple[str, ...] = (
    "divergence",
    "edge_of_stability",
    "catapult",
    "progressive_sharpening",
    "sharpness_reduction",
    "lazy",
)
"""The fixed set of regime names; :data:`REGIME_CODES` maps each to a small integer."""

REGIME_CODES: dict[str, int] = {name: i for i, name in enumerate(REGIMES)}

LOSS_INCREASE_RTOL = 1e-12
"""A loss step counts as an increase when ``L_t > L_{t-1} * (1 + LOSS_INCREASE_RTOL)``."""


@dataclass(frozen=True)
class RegimeCriteria:
    """Thresholds of the regime definitions (see the module docstring).

    Attributes
    ----------
    rel_change:
        Relative change of sharpness (final vs initial) that counts as sharpening or
        reduction. 0.05: well above the O(1/width) drift of a lazy wide network.
    eos_band:
        Late sharpness reaching ``2/eta`` within a factor ``1 + eos_band`` counts as "at the
        edge". 0.1, the paper's "hovers at 2/eta" tolerance.
    window_fraction:
        Fraction of the samples that form the late window (rounded up to an even count, at
        least 2, so that a period-2 orbit is sampled evenly).
    spike_factor:
        A loss above ``spike_factor * L_0`` after step 0 is a loss spike (catapult).
    converged_rtol:
        ``L_T <= converged_rtol * L_0`` means converged (never edge of stability).
    """

    rel_change: float = 0.05
    eos_band: float = 0.1
    window_fraction: float = 0.1
    spike_factor: float = 1.0 + 1e-9
    converged_rtol: float = 1e-10

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"RegimeCriteria.{name} must be a finite positive number, got {value!r}")
        if self.window_fraction > 1:
            raise ValueError("RegimeCriteria.window_fraction must be <= 1")


DEFAULT_CRITERIA = RegimeCriteria()


def late_window(n_samples: int, criteria: RegimeCriteria = DEFAULT_CRITERIA) -> int:
    """Number of trailing samples in the late window: ``2 * ceil(fraction * n / 2)``,
    at least 2 and at most ``n_samples``."""
    w = 2 * math.ceil(criteria.window_fraction * n_samples / 2.0)
    return int(min(max(w, 2), n_samples))


@dataclass(frozen=True)
class RegimeSummary:
    """The statistics of a run that decide its regime (arrays share the batch shape).

    Attributes
    ----------
    initial_loss, max_loss, final_loss:
        ``L_0``, ``max_{t>=1} L_t`` and the last loss before divergence (or ``L_T``).
    initial_sharpness, final_sharpness:
        First and last finite sharpness sample.
    late_edge_ratio:
        Largest ``eta * S_j / 2`` over the late window (1 means exactly at 2/eta).
    late_loss_increase:
        Whether the loss increased at some step of the late window.
    diverged:
        Whether the run diverged.
    lr:
        The learning rate the summary refers to.
    """

    initial_loss: np.ndarray
    max_loss: np.ndarray
    final_loss: np.ndarray
    initial_sharpness: np.ndarray
    final_sharpness: np.ndarray
    late_edge_ratio: np.ndarray
    late_loss_increase: np.ndarray
    diverged: np.ndarray
    lr: np.ndarray


def _last_finite(a: np.ndarray) -> np.ndarray:
    finite = np.isfinite(a)
    idx = a.shape[-1] - 1 - np.argmax(finite[..., ::-1], axis=-1)
    out = np.take_along_axis(a, idx[..., None], axis=-1)[..., 0]
    return np.where(finite.any(axis=-1), out, np.nan)


def summarize(
    loss: ArrayLike,
    sharpness: ArrayLike,
    *,
    lr: ArrayLike,
    diverged: ArrayLike | None = None,
    criteria: RegimeCriteria = DEFAULT_CRITERIA,
    threshold: ArrayLike | None = None,
) -> RegimeSummary:
    """Reduce recorded runs to their :class:`RegimeSummary`.

    Parameters
    ----------
    loss:
        Shape ``(..., T + 1)``: loss at every step, index 0 the initial state. Entries after a
        divergence may be NaN.
    sharpness:
        Shape ``(..., M)``: sharpness samples in time order (every step or every k steps),
        first sample at step 0.
    lr:
        Learning rate, broadcastable to the batch shape ``...``.
    diverged:
        Boolean, batch shape; default: a run diverged if any loss is not finite.
    threshold:
        The optimizer's stability threshold on the sharpness, broadcastable to the batch
        shape (``None``: GD's ``2 / lr``). Momentum and adaptive optimizers have their own
        (:func:`sharpdyn.torch.stability_threshold`); the edge and below-edge tests then use
        ``S / threshold`` in place of ``lr * S / 2``, i.e. the summary's ``lr`` becomes the
        effective ``2 / threshold``.
    """
    loss = as_real_array(loss, "loss")
    sharp = as_real_array(sharpness, "sharpness")
    if loss.ndim < 1 or loss.shape[-1] < 2:
        raise ValueError("loss must have at least 2 samples along its last axis")
    if sharp.ndim < 1 or sharp.shape[-1] < 1:
        raise ValueError("sharpness must have at least 1 sample along its last axis")
    if loss.shape[:-1] != sharp.shape[:-1]:
        raise ValueError(f"loss batch shape {loss.shape[:-1]} != sharpness batch shape {sharp.shape[:-1]}")
    batch = loss.shape[:-1]
    eta = np.broadcast_to(positive_array(lr, "lr"), batch).astype(np.float64)
    if threshold is not None:
        eta = np.broadcast_to(2.0 / positive_array(threshold, "threshold"), batch).astype(np.float64)
    if diverged is None:
        div = ~np.all(np.isfinite(loss), axis=-1)
    else:
        div = np.broadcast_to(np.asarray(diverged, dtype=bool), batch)

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        initial_loss = loss[..., 0]
        rest = np.where(np.isfinite(loss[..., 1:]), loss[..., 1:], -np.inf)
        max_loss = rest.max(axis=-1)
        final_loss = _last_finite(loss)
        initial_sharp = sharp[..., 0]
        final_sharp = _last_finite(sharp)

        wl = late_window(loss.shape[-1], criteria)
        tail = loss[..., -wl:]
        increase = np.any(tail[..., 1:] > tail[..., :-1] * (1.0 + LOSS_INCREASE_RTOL), axis=-1)

        ws = late_window(sharp.shape[-1], criteria)
        stail = sharp[..., -ws:]
        finite_tail = np.where(np.isfinite(stail), stail, -np.inf)
        late_edge = eta * finite_tail.max(axis=-1) / 2.0

    return RegimeSummary(
        initial_loss=np.asarray(initial_loss),
        max_loss=np.asarray(max_loss),
        final_loss=np.asarray(final_loss),
        initial_sharpness=np.asarray(initial_sharp),
        final_sharpness=np.asarray(final_sharp),
        late_edge_ratio=np.asarray(late_edge),
        late_loss_increase=np.asarray(increase),
        diverged=np.asarray(div),
        lr=np.asarray(eta),
    )


def label_codes(summary: RegimeSummary, criteria: RegimeCriteria = DEFAULT_CRITERIA) -> np.ndarray:
    """Regime code (index into :data:`REGIMES`) for every run of a summary; int8 array."""
    s = summary
    with np.errstate(invalid="ignore"):
        converged = s.final_loss <= criteria.converged_rtol * s.initial_loss
        at_edge = s.late_edge_ratio * (1.0 + criteria.eos_band) >= 1.0
        eos = (~converged) & s.late_loss_increase & at_edge
        spike = s.max_loss > criteria.spike_factor * s.initial_loss
        below_edge = s.lr * s.final_sharpness < 2.0
        catapult = spike & below_edge
        sharpened = s.final_sharpness > (1.0 + criteria.rel_change) * s.initial_sharpness
        reduced = s.final_sharpness < (1.0 - criteria.rel_change) * s.initial_sharpness
    code = np.full(np.shape(s.diverged), REGIME_CODES["lazy"], dtype=np.int8)
    # Assign from lowest to highest precedence so that later writes win.
    code = np.where(reduced, REGIME_CODES["sharpness_reduction"], code)
    code = np.where(sharpened, REGIME_CODES["progressive_sharpening"], code)
    code = np.where(catapult, REGIME_CODES["catapult"], code)
    code = np.where(eos, REGIME_CODES["edge_of_stability"], code)
    code = np.where(s.diverged, REGIME_CODES["divergence"], code)
    return code.astype(np.int8)


def names(codes: ArrayLike) -> np.ndarray | str:
    """Regime names for codes (a ``str`` for a scalar code, else an array of ``str``)."""
    arr = np.asarray(codes)
    table = np.array(REGIMES, dtype=object)
    out = table[arr.astype(np.intp)]
    return str(out) if arr.ndim == 0 else out.astype(str)


def classify_series(
    loss: ArrayLike,
    sharpness: ArrayLike,
    *,
    lr: ArrayLike,
    diverged: ArrayLike | None = None,
    criteria: RegimeCriteria = DEFAULT_CRITERIA,
    threshold: ArrayLike | None = None,
) -> np.ndarray | str:
    """Regime name(s) of recorded run(s); see :func:`summarize` for the shapes and for
    ``threshold`` (the optimizer's edge in place of ``2 / lr``)."""
    return names(label_codes(summarize(loss, sharpness, lr=lr, diverged=diverged, criteria=criteria,
                                       threshold=threshold), criteria))
