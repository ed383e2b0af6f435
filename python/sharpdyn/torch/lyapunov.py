"""Largest finite-time Lyapunov exponent of gradient descent on a real network.

The GD map ``theta -> theta - lr * grad L(theta)`` has Jacobian ``I - lr * H(theta)``. A
tangent vector propagated by ``v_{t+1} = (I - lr H(theta_t)) v_t`` (one HVP per step) and
renormalised every step gives the running exponent

    lambda_T = (1 / (T - T0)) * sum_{t=T0}^{T-1} log ||(I - lr H(theta_t)) v_t||,   ||v_t|| = 1,

negative while GD converges (for a quadratic loss it tends to ``log max_i |1 - lr h_i|``), about
0 at the onset of instability and positive in chaotic edge-of-stability dynamics (Benettin et
al. 1980; for the paper's route to chaos see :mod:`sharpdyn.chaos`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from ..validation import nonnegative_int, positive_float, positive_int
from .gd import GradientDescent
from .lanczos import random_start
from .operators import HessianOperator


class TangentPropagator:
    """Carries the unit tangent vector of GD along a run: call :meth:`step` with the operator
    at the current parameters *before* the update; it returns ``log ||(I - lr H) v||``."""

    def __init__(self, n: int, *, seed: int = 0, v0: ArrayLike | torch.Tensor | None = None,
                 dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> None:
        if v0 is None:
            self.v = random_start(n, seed, dtype, torch.device(device))
        else:
            v = torch.as_tensor(np.asarray(v0) if not isinstance(v0, torch.Tensor) else v0).reshape(-1)
            if v.numel() != n:
                raise ValueError(f"v0 must have {n} entries, got {v.numel()}")
            self.v = (v / torch.linalg.vector_norm(v)).to(device=device, dtype=dtype)

    def step(self, operator: HessianOperator, lr: float) -> float:
        w = self.v - lr * operator.matvec(self.v)
        norm = torch.linalg.vector_norm(w)
        self.v = w / norm
        return float(torch.log(norm))


@dataclass(frozen=True)
class LyapunovResult:
    """Running largest Lyapunov exponent of a GD run.

    Attributes
    ----------
    log_growth:
        Shape ``(steps,)``: ``log ||(I - lr H(theta_t)) v_t||`` at each step ``t``.
    exponent:
        Shape ``(steps,)``: running exponent after step ``t`` (NaN inside the transient).
    loss:
        Shape ``(steps + 1,)``: full-batch loss along the run.
    final:
        The exponent at the end (per step, natural log).
    lr, n_transient, seed:
        The settings that made the run. ``diverged``/``diverged_at`` as in training.
    """

    log_growth: np.ndarray
    exponent: np.ndarray
    loss: np.ndarray
    final: float
    lr: float
    n_transient: int
    seed: int
    diverged: bool
    diverged_at: int


def lyapunov_exponent(
    model: nn.Module,
    loss_fn: Any,
    data: Any,
    *,
    lr: float,
    steps: int,
    n_transient: int = 0,
    seed: int = 0,
    v0: ArrayLike | torch.Tensor | None = None,
    chunk_size: int | None = None,
    mode: str | None = None,
    divergence_factor: float = 1e6,
) -> LyapunovResult:
    """Run ``steps`` of full-batch GD on ``model`` **in place** and return the running largest
    Lyapunov exponent (one extra HVP per step). The first ``n_transient`` steps move the
    tangent vector but are not averaged. The steps are those of :func:`sharpdyn.torch.train`
    (the same loop, :class:`~sharpdyn.torch.gd.GradientDescent`). A run whose loss is not
    finite or exceeds ``divergence_factor * max(L_0, 1)``
    (:func:`sharpdyn.divergence.loss_bound`) stops with ``diverged=True`` and NaN afterwards."""
    lr = positive_float(lr, "lr")
    steps = positive_int(steps, "steps")
    n_transient = nonnegative_int(n_transient, "n_transient")
    if n_transient >= steps:
        raise ValueError(f"n_transient={n_transient} must be smaller than steps={steps}")
    dev = next(model.parameters()).device
    op = HessianOperator(model, loss_fn, data, chunk_size=chunk_size, device=dev, mode=mode)
    tangent = TangentPropagator(op.n_params, seed=seed, v0=v0, dtype=op.dtype, device=op.device)
    loop = GradientDescent(model, op.loss_fn, lambda t: op.chunks, steps=steps, lr_at=lambda t: lr, mode=mode,
                           divergence_factor=divergence_factor)
    log_growth = np.full(steps, np.nan)
    loss = np.full(steps + 1, np.nan)
    diverged_at = -1
    for step in loop:
        t = step.t
        loss[t] = step.loss
        if step.diverged:
            diverged_at = t
            break
        if t == steps:
            break
        if t > 0:
            op.refresh()  # the operator's snapshot of the parameters after the last update
        log_growth[t] = tangent.step(op, lr)
    loop.clear_gradients()
    counts = np.arange(1, steps + 1) - n_transient
    csum = np.cumsum(np.where(np.arange(steps) >= n_transient, log_growth, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        exponent = np.where(counts > 0, csum / np.maximum(counts, 1), np.nan)
    exponent[~np.isfinite(log_growth)] = np.nan
    finite = exponent[np.isfinite(exponent)]
    return LyapunovResult(log_growth=log_growth, exponent=exponent, loss=loss,
                          final=float(finite[-1]) if finite.size else float("nan"), lr=lr,
                          n_transient=n_transient, seed=seed, diverged=diverged_at >= 0, diverged_at=diverged_at)
