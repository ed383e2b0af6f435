"""The result of :func:`sharpdyn.mlp.train`: :class:`TrainingRuns`, a grid of runs over
(hidden width, learning rate, seed), with its regimes, and saving to ``.npz`` / xarray."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import regimes as _regimes
from ..momentum import heavy_ball_threshold
from .spec import MLPSpec

if TYPE_CHECKING:
    import xarray

__all__ = ["TrainingRuns"]


@dataclass(frozen=True)
class TrainingRuns:
    """A grid of training runs, axes ``(width, lr, seed)``.

    Attributes
    ----------
    loss:
        ``(W, R, S, steps + 1)``: full-batch training loss before each update (index 0 the
        initial state); NaN from the step a run diverged on.
    sharpness:
        ``(W, R, S, M)``: top Hessian eigenvalue (Lanczos on exact HVPs, full batch) at
        :attr:`sharpness_steps`; NaN after divergence.
    sharpness_steps:
        ``(M,)``: the steps ``0, k, 2k, ...`` at which the sharpness was sampled.
    lr:
        ``(W, R, S)``: learning rate of each run (equal along ``seed`` unless given as ``c``).
    lr_axis:
        ``(R,)``: the values along the ``lr`` axis as given (learning rates, or ``c`` when
        :attr:`lr_is_normalized`).
    lr_is_normalized:
        Whether the axis was given as ``c = lr * lambda_0`` (then ``lr = c / lambda_0`` per run).
    seed, width:
        ``(S,)`` seeds and ``(W,)`` hidden widths (the spec's own hidden widths if not swept,
        ``width = spec.widths[1]``).
    diverged, diverged_at:
        ``(W, R, S)``: flag and first out-of-bounds step (-1 if none).
    spec:
        The architecture (with the spec's own hidden widths; see :attr:`width`).
    batch_size:
        ``None`` for full-batch GD, else the SGD batch size.
    params:
        One array per width, ``(R, S, P_w)``: final parameters (of an interrupted run: those
        after its ``interrupted_at`` updates).
    interrupted_at:
        ``(W, R, S)``: the step at which a ``KeyboardInterrupt`` (Ctrl-C) stopped each run, -1
        for a run that ran to the end (or diverged), 0 for one that had not started. The
        entries of earlier steps are kept; ``loss`` from that step on and later
        ``sharpness`` samples are NaN. See :attr:`interrupted`.
    momentum, nesterov:
        The optimizer: heavy-ball momentum ``b`` in ``[0, 1)`` (0: plain GD/SGD) and whether the
        update was Nesterov's (``torch.optim.SGD(lr, momentum=b, nesterov=...)``).
    threshold:
        ``(W, R, S)``: the optimizer's linear-stability threshold on the sharpness for each run's
        ``lr``, in the sharpness's units (1/lr): ``2/lr`` for GD/SGD, ``(2 + 2b)/lr`` for heavy
        ball, ``2 (1 + b) / ((1 + 2b) lr)`` for Nesterov
        (:func:`sharpdyn.momentum.heavy_ball_threshold`). Computed from ``lr`` if not given.
    """

    loss: np.ndarray
    sharpness: np.ndarray
    sharpness_steps: np.ndarray
    lr: np.ndarray
    lr_axis: np.ndarray
    lr_is_normalized: bool
    seed: np.ndarray
    width: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    spec: MLPSpec
    batch_size: int | None = None
    params: tuple[np.ndarray, ...] = field(default=(), repr=False)
    interrupted_at: np.ndarray | None = None
    momentum: float = 0.0
    nesterov: bool = False
    threshold: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.interrupted_at is None:
            object.__setattr__(self, "interrupted_at", np.full(np.shape(self.diverged_at), -1, dtype=np.int64))
        if self.threshold is None:
            object.__setattr__(self, "threshold",
                               heavy_ball_threshold(self.lr, self.momentum, nesterov=bool(self.nesterov)))

    @property
    def edge_ratio(self) -> np.ndarray:
        """``sharpness / threshold``, shape ``(W, R, S, M)``: 1 at the optimizer's edge of stability."""
        return self.sharpness / np.asarray(self.threshold)[..., None]

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped the training before every run finished."""
        return bool(np.any(np.asarray(self.interrupted_at) >= 0))

    @property
    def steps(self) -> np.ndarray:
        """``(steps + 1,)``: step index of each loss entry."""
        return np.arange(self.loss.shape[-1])

    @property
    def sharpness0(self) -> np.ndarray:
        """``lambda_0``: the sharpness at initialisation (step 0), shape ``(W, R, S)``."""
        return self.sharpness[..., 0]

    @property
    def c(self) -> np.ndarray:
        """Normalised learning rate ``c = lr * lambda_0``, shape ``(W, R, S)``."""
        return self.lr * self.sharpness0

    def regime(self, criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA) -> np.ndarray:
        """Regime name of every run, shape ``(W, R, S)`` (criteria of :mod:`sharpdyn.regimes`).

        With momentum the edge-of-stability and below-edge tests use :attr:`threshold` in place of
        ``2/lr``; without (``momentum = 0``) the classification is the plain GD one."""
        threshold = self.threshold if self.momentum > 0 else None
        return np.asarray(_regimes.classify_series(self.loss, self.sharpness, lr=self.lr,
                                                   diverged=self.diverged, criteria=criteria,
                                                   threshold=threshold))

    def save(self, path: str | Path) -> Path:
        """Write every array and the spec to a compressed ``.npz``."""
        path = Path(path)
        extra: dict[str, Any] = {f"params_{i}": p for i, p in enumerate(self.params)}
        s = self.spec
        np.savez_compressed(
            path, loss=self.loss, sharpness=self.sharpness, sharpness_steps=self.sharpness_steps,
            lr=self.lr, lr_axis=self.lr_axis, lr_is_normalized=self.lr_is_normalized, seed=self.seed,
            width=self.width, diverged=self.diverged, diverged_at=self.diverged_at,
            interrupted_at=np.asarray(self.interrupted_at), regime=self.regime(), c=self.c, widths=np.array(s.widths),
            activation=s.activation, param=s.param, bias=s.bias, loss_name=s.loss, init_scale=s.init_scale,
            batch_size=-1 if self.batch_size is None else self.batch_size, momentum=self.momentum,
            nesterov=self.nesterov, threshold=np.asarray(self.threshold), **extra,
        )
        return path

    def to_xarray(self) -> xarray.Dataset:
        """An ``xarray.Dataset`` with dims ``(width, lr, seed, step)`` / ``sharpness_step``."""
        try:
            import xarray as xr
        except ImportError as exc:
            raise ImportError("TrainingRuns.to_xarray needs xarray: pip install sharpdyn[scan]") from exc
        dims = ("width", "lr", "seed")
        s = self.spec
        return xr.Dataset(
            {
                "loss": (dims + ("step",), self.loss),
                "sharpness": (dims + ("sharpness_step",), self.sharpness),
                "learning_rate": (dims, self.lr),
                "c": (dims, self.c),
                "diverged": (dims, self.diverged),
                "diverged_at": (dims, self.diverged_at),
                "interrupted_at": (dims, self.interrupted_at),
                "threshold": (dims, self.threshold),
                "regime": (dims, self.regime()),
            },
            coords={"width": self.width, "lr": self.lr_axis, "seed": self.seed, "step": self.steps,
                    "sharpness_step": self.sharpness_steps},
            attrs={"widths": list(s.widths), "activation": s.activation, "param": s.param,
                   "bias": int(s.bias), "loss": s.loss, "init_scale": s.init_scale,
                   "lr_is_normalized": int(self.lr_is_normalized),
                   "batch_size": -1 if self.batch_size is None else self.batch_size,
                   "momentum": float(self.momentum), "nesterov": int(self.nesterov)},
        )

