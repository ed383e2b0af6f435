"""The early sharpness reduction: how far the sharpness falls at the start of training, and when.

In the paper's picture (and in the UV model's gradient flow, where ``lambda^2 - 4 kappa f^2`` is
conserved) training often starts with a drop of the sharpness from ``lambda_0`` to a minimum
``lambda_min`` before progressive sharpening lifts it again. :func:`early_reduction` measures
``lambda_min / lambda_0`` and the step of the minimum.

**The early window** (documented, testable definition): let ``k_below`` be the first sample with
``s_k < lambda_0`` and ``k_back`` the first sample after ``k_below`` with ``s_k >= lambda_0``
(the sharpness has regained its initial value). The window is ``s_0 .. s_{k_back - 1}`` (the
whole series when the sharpness never regains ``lambda_0``; a catapult's early spike above
``lambda_0`` before the drop stays inside the window). ``lambda_min`` is the smallest sample of the
window and ``step`` its step; a series that never falls below ``lambda_0`` has ``ratio = 1`` and
``step = steps[0]``. ``max_step`` optionally ends the window earlier (e.g. to keep a long
edge-of-stability phase below ``lambda_0`` out of it). ``min_drop`` makes the window open only at
a dip below ``(1 - min_drop) lambda_0``, so that a shallow wobble before a catapult's spike does not
close it (without such a dip the rule above applies unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EarlyReduction", "early_reduction"]


@dataclass(frozen=True)
class EarlyReduction:
    """Size and step of the early sharpness reduction, arrays of the sharpness' leading shape.

    Attributes
    ----------
    ratio:
        ``lambda_min / lambda_0`` (1 when there is no reduction; NaN for a series with non-finite
        entries, i.e. a diverged run, or with ``lambda_0 <= 0``).
    step:
        Step of the minimum (from ``steps``, else the sample index); -1 where ``ratio`` is NaN.
    lambda0, lambda_min:
        Initial sharpness and the window's minimum (NaN where ``ratio`` is NaN).
    recovered_at:
        Step at which the sharpness regained ``lambda_0`` (the window's end); -1 if it never did.
    """

    ratio: np.ndarray
    step: np.ndarray
    lambda0: np.ndarray
    lambda_min: np.ndarray
    recovered_at: np.ndarray


def early_reduction(sharpness: Any, *, steps: Any = None, max_step: float | None = None,
                    min_drop: float = 0.0) -> EarlyReduction:
    """Measure the early sharpness reduction of one or many runs.

    Parameters
    ----------
    sharpness:
        ``(..., M)``: the sharpness at the sampled steps of each run (NaN after a divergence).
    steps:
        ``(M,)`` strictly increasing steps of the samples (default ``0..M-1``).
    max_step:
        Optional last step of the early window (inclusive).
    min_drop:
        Depth (fraction of ``lambda_0``, in ``[0, 1)``) of the dip that opens the window; see the
        module docstring. 0 (default): any dip below ``lambda_0``.

    Returns
    -------
    :class:`EarlyReduction` with arrays of shape ``(...)`` (0-d for a 1-D input).
    """
    if hasattr(sharpness, "detach") and hasattr(sharpness, "cpu"):
        sharpness = sharpness.detach().cpu().numpy()
    if np.iscomplexobj(np.asarray(sharpness)):
        raise ValueError("sharpness must be real, got complex values")
    try:
        s = np.asarray(sharpness, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sharpness must be numeric, got {type(sharpness).__name__}") from exc
    if s.ndim == 0 or s.shape[-1] < 1:
        raise ValueError(f"sharpness must have shape (..., M) with M >= 1, got {s.shape}")
    M = s.shape[-1]
    if steps is None:
        st = np.arange(M, dtype=np.float64)
    else:
        try:
            st = np.asarray(steps, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError("steps must be numeric") from exc
        if st.shape != (M,):
            raise ValueError(f"steps must have shape ({M},) to match sharpness, got {st.shape}")
        if not np.all(np.isfinite(st)) or np.any(np.diff(st) <= 0):
            raise ValueError("steps must be finite and strictly increasing")
    if max_step is not None:
        ms = float(max_step)
        if not np.isfinite(ms):
            raise ValueError(f"max_step must be finite, got {max_step!r}")
        in_range = st <= ms
        if not in_range.any():
            raise ValueError(f"max_step={max_step} is before the first step {st[0]}")
    else:
        in_range = np.ones(M, dtype=bool)
    md = float(min_drop)
    if not (np.isfinite(md) and 0.0 <= md < 1.0):
        raise ValueError(f"min_drop must be in [0, 1), got {min_drop!r}")
    lead = s.shape[:-1]
    flat = s.reshape(-1, M)
    R = flat.shape[0]
    lam0 = flat[:, 0].copy()
    bad = ~np.all(np.isfinite(flat), axis=1) | ~(lam0 > 0)
    idx = np.arange(M)
    below = (flat < lam0[:, None]) & in_range
    deep = (flat < (1.0 - md) * lam0[:, None]) & in_range
    use = np.where(np.any(deep, axis=1)[:, None], deep, below)
    has_below = use.any(axis=1)
    k_below = np.where(has_below, np.argmax(use, axis=1), M)
    back = (flat >= lam0[:, None]) & (idx[None, :] > k_below[:, None]) & in_range
    has_back = back.any(axis=1)
    k_back = np.where(has_back, np.argmax(back, axis=1), M)
    window = (idx[None, :] < k_back[:, None]) & in_range
    masked = np.where(window, flat, np.inf)
    kmin = np.argmin(masked, axis=1)
    lam_min = masked[np.arange(R), kmin]
    ratio = lam_min / lam0
    step = st[kmin]
    recovered = np.where(has_back, st[np.minimum(k_back, M - 1)], -1.0)
    ratio[bad] = np.nan
    lam_min[bad] = np.nan
    lam0[bad] = np.nan
    step = np.where(bad, -1.0, step)
    recovered = np.where(bad, -1.0, recovered)
    as_int = steps is None or np.all(st == np.round(st))
    cast = (lambda a: a.astype(np.int64)) if as_int else (lambda a: a)
    return EarlyReduction(ratio=ratio.reshape(lead), step=cast(step).reshape(lead), lambda0=lam0.reshape(lead),
                          lambda_min=lam_min.reshape(lead), recovered_at=cast(recovered).reshape(lead))
