"""Full-batch GD and SGD with sharpness tracking (the paper's experiments in one call).

:func:`train` runs plain (S)GD ``theta <- theta - lr_t * grad L_batch(theta)`` (or a torch
optimizer: momentum, Nesterov, Adam, AdamW, RMSprop) on a model in
place and records, at every step ``t = 0..steps`` (index 0 the initial state), the loss and
accuracy of the step's batch (the full training set for GD), and every ``sharpness_every``
steps the top Hessian eigenvalue of the full-batch loss on the sharpness set by Lanczos,
warm-started from the previous top eigenvector (the steps are those of
:class:`~sharpdyn.torch.gd.GradientDescent`, the torch layer's one GD loop, which
:func:`~sharpdyn.torch.lyapunov_exponent` drives too). :class:`SharpnessTracker` does the same
measurement inside a user's own loop. With an adaptive optimizer the recorded sharpness is the
preconditioned one, ``lambda_max(P^-1 H)``, and every measurement comes with the optimizer's
stability threshold (:mod:`sharpdyn.torch.optimizers`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .. import regimes as _regimes
from ..validation import check_allocation, nonnegative_int, positive_float, positive_int
from .gd import GradientDescent
from .lanczos import lanczos
from .losses import get_loss
from .lyapunov import TangentPropagator
from .operators import HessianOperator, batches_of
from .optimizers import (
    PreconditionedHessianOperator,
    is_adaptive,
    make_optimizer,
    minibatch_sharpness,
    model_preconditioner,
    stability_threshold,
)


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a :func:`train` run (see there). ``loss`` is stored by name when given
    by name."""

    lr: float
    steps: int
    loss: str = "mse"
    sharpness_every: int = 10
    batch_size: int | None = None
    warmup_steps: int = 0
    seed: int = 0
    k: int = 1
    tol: float = 1e-4
    max_iter: int = 100
    eig_tol: float | None = None
    chunk_size: int | None = None
    sharpness_examples: int | None = None
    mode: str | None = None
    lyapunov: bool = False
    divergence_factor: float = 1e6
    optimizer: str = "gd"
    optimizer_settings: str = ""
    minibatch_samples: int = 0
    """``optimizer``: ``"gd"`` (plain steps) or the torch optimizer's class name;
    ``optimizer_settings``: its first parameter group's hyper-parameters as JSON."""

    def __post_init__(self) -> None:
        positive_float(self.lr, "lr")
        positive_int(self.steps, "steps")
        positive_int(self.sharpness_every, "sharpness_every")
        if self.batch_size is not None:
            positive_int(self.batch_size, "batch_size")
        nonnegative_int(self.warmup_steps, "warmup_steps")
        positive_int(self.k, "k")
        positive_float(self.tol, "tol")
        positive_int(self.max_iter, "max_iter")
        if self.eig_tol is not None:
            positive_float(self.eig_tol, "eig_tol")
        positive_float(self.divergence_factor, "divergence_factor")
        if self.sharpness_examples is not None:
            positive_int(self.sharpness_examples, "sharpness_examples")
        nonnegative_int(self.minibatch_samples, "minibatch_samples")
        if self.minibatch_samples and self.batch_size is None:
            raise ValueError("minibatch_samples needs batch_size (mini-batch SGD)")

    def lr_at(self, step: int) -> float:
        """Learning rate at ``step``: linear warm-up ``lr (t + 1) / warmup_steps``, then ``lr``."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        return self.lr


@dataclass(frozen=True)
class TrainingRun:
    """The record of a network training run (:func:`train`): per-step loss, accuracy and
    learning rate, and the sharpness at the measured steps.

    Its normalised learning rate is ``c = lr * sharpness0`` (:attr:`c`), ``sharpness0`` being
    the top Hessian eigenvalue at initialisation (not the NTK, which normalises ``c`` in
    :mod:`sharpdyn.uv` and :mod:`sharpdyn.scan`).

    Attributes
    ----------
    loss, accuracy, lr:
        Shape ``(steps + 1,)``: loss and accuracy (fraction; NaN for one output) of the batch
        at step ``t`` before its update (the full training set for GD), and the learning rate
        used at ``t``. NaN after a divergence.
    sharpness_steps:
        Shape ``(M,)``: steps at which the sharpness was measured (0, k, 2k, ..., last).
    sharpness:
        Shape ``(M,)``: top Hessian eigenvalue of the full-batch loss on the sharpness set.
    eigenvalues, residuals, converged:
        Shape ``(M, k)``: the top-k Ritz values, their relative residuals and flags.
    lyapunov:
        Shape ``(steps + 1,)``: running largest Lyapunov exponent (NaN if not requested and at
        step 0).
    diverged, diverged_at:
        Whether the loss left ``divergence_factor * max(L_0, 1)`` (or overflowed), and the step
        (:func:`sharpdyn.divergence.loss_bound`).
    n_hvp:
        Hessian-vector products spent on measurements.
    config:
        The :class:`TrainConfig`.
    """

    loss: np.ndarray
    accuracy: np.ndarray
    lr: np.ndarray
    sharpness_steps: np.ndarray
    sharpness: np.ndarray
    eigenvalues: np.ndarray
    residuals: np.ndarray
    converged: np.ndarray
    lyapunov: np.ndarray
    diverged: bool
    diverged_at: int
    n_hvp: int
    config: TrainConfig = field(repr=False)
    interrupted_at: int = -1
    """Step at which a ``KeyboardInterrupt`` stopped the run (-1: ran to the end). The entries
    before it are kept; later ones are NaN."""
    threshold: np.ndarray | None = None
    """Shape ``(M,)``: the optimizer's stability threshold at the measured steps (``2 / lr_t``
    for plain GD/SGD; see :func:`~sharpdyn.torch.stability_threshold`). ``sharpness`` is then
    the matching quantity: ``lambda_max(H)``, or ``lambda_max(P^-1 H)`` for Adam, AdamW and
    RMSprop with ``P`` the preconditioner of the update taken at that step."""
    minibatch: dict[str, np.ndarray] | None = None
    """With ``minibatch_samples``: arrays of shape ``(M,)`` at the measured steps --
    ``batch_sharpness_mean`` / ``batch_sharpness_std`` (top Hessian eigenvalue of each sampled
    mini-batch's loss), ``gradient_curvature`` (mean of ``g_B^T H_B g_B / |g_B|^2``) and
    ``full_gradient_curvature`` (mean of ``g_B^T H g_B / |g_B|^2``), each to compare with
    ``threshold``; see :func:`~sharpdyn.torch.minibatch_sharpness`."""

    @property
    def steps(self) -> int:
        return self.loss.shape[0] - 1

    @property
    def sharpness0(self) -> float:
        """The sharpness at initialisation ``lambda_0`` (step 0; NaN when it was not measured):
        the top eigenvalue of the loss Hessian (of ``P^-1 H`` with an adaptive optimizer)."""
        if len(self.sharpness_steps) and self.sharpness_steps[0] == 0:
            return float(self.sharpness[0])
        return float("nan")

    @property
    def c(self) -> float:
        """Normalised learning rate ``c = lr * sharpness0`` (peak ``lr``, after warm-up)."""
        return self.config.lr * self.sharpness0

    @property
    def eta_lambda(self) -> np.ndarray:
        """``lr * sharpness`` at the measured steps (2 is the edge of stability)."""
        return self.lr[self.sharpness_steps] * self.sharpness

    @property
    def plain(self) -> bool:
        """Whether the run used plain GD/SGD steps (threshold ``2 / lr``)."""
        return self.config.optimizer == "gd"

    @property
    def edge_ratio(self) -> np.ndarray:
        """``sharpness / threshold`` at the measured steps (1 is the edge of stability;
        ``sharpness / (2 / lr)`` for plain GD)."""
        if self.plain or self.threshold is None:
            return self.eta_lambda / 2.0
        return self.sharpness / self.threshold

    def regime(self, criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA) -> str:
        """Regime name by :func:`sharpdyn.regimes.classify_series` (same definitions as the UV
        model), against the optimizer's own threshold (its final value)."""
        threshold = None
        if not self.plain and self.threshold is not None and len(self.threshold):
            threshold = float(self.threshold[-1])
        return str(_regimes.classify_series(self.loss, self.sharpness, lr=self.config.lr,
                                            diverged=self.diverged, criteria=criteria, threshold=threshold))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {k: np.asarray(getattr(self, k)) for k in (
            "loss", "accuracy", "lr", "sharpness_steps", "sharpness", "eigenvalues", "residuals", "converged",
            "lyapunov", "diverged", "diverged_at", "n_hvp", "interrupted_at")}
        if self.threshold is not None:
            out["threshold"] = np.asarray(self.threshold)
        for key, value in (self.minibatch or {}).items():
            out[f"minibatch_{key}"] = np.asarray(value)
        return out

    def save(self, path: str | Path) -> Path:
        """Write the run to ``path``: netCDF for a ``.nc`` suffix (:meth:`to_xarray`), else
        ``.npz`` with the arrays and the config as JSON."""
        import json

        path = Path(path)
        if path.suffix == ".nc":
            self.to_xarray().to_netcdf(path)
            return path
        payload: dict[str, Any] = {"config": np.array(json.dumps(asdict(self.config))), **self.arrays()}
        np.savez(path, **payload)
        return path

    def to_xarray(self):
        """An ``xarray.Dataset`` with coordinates ``step`` and ``sharpness_step``; the config is
        stored as ``config_<name>`` attributes (plain names such as ``mode`` clash with SciPy's
        netCDF writer)."""
        import xarray as xr

        return xr.Dataset(
            {
                "loss": ("step", self.loss), "accuracy": ("step", self.accuracy), "lr": ("step", self.lr),
                "lyapunov": ("step", self.lyapunov),
                "sharpness": ("sharpness_step", self.sharpness),
                "eta_lambda": ("sharpness_step", self.eta_lambda),
                **({} if self.threshold is None else {"threshold": ("sharpness_step", self.threshold)}),
                **{f"minibatch_{k}": ("sharpness_step", v) for k, v in (self.minibatch or {}).items()},
            },
            coords={"step": np.arange(self.steps + 1), "sharpness_step": self.sharpness_steps},
            attrs={"diverged": int(self.diverged), "diverged_at": self.diverged_at, "n_hvp": self.n_hvp,
                   **{f"config_{k}": _attr(v) for k, v in asdict(self.config).items()}},
        )


def _attr(value: Any) -> Any:
    """A netCDF-safe attribute: bools as ints, None as "none"."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return int(value)
    return value


def accuracy_of(output: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of examples whose argmax output matches the label (or the argmax of a one-hot
    / soft target); NaN for single-output models."""
    if output.ndim < 2 or output.shape[-1] < 2:
        return float("nan")
    pred = output.argmax(dim=-1)
    labels = target.long() if not target.is_floating_point() else target.argmax(dim=-1)
    return float((pred == labels.reshape(pred.shape)).to(torch.float64).mean())


class SharpnessTracker:
    """Sharpness every ``every`` steps inside any training loop.

    >>> tracker = SharpnessTracker(model, "mse", (X, Y), every=10)
    >>> for step in range(steps):
    ...     tracker(step)          # measures when step % every == 0
    ...     optimiser.step()
    >>> tracker.steps, tracker.sharpness

    Each measurement re-reads the model's parameters, runs Lanczos warm-started from the
    previous top eigenvector and stores the top-``k`` values, residuals and flags.
    """

    def __init__(self, model: nn.Module, loss_fn: Any, data: Any, *, every: int = 10, k: int = 1,
                 tol: float = 1e-4, max_iter: int = 100, eig_tol: float | None = None, seed: int = 0,
                 chunk_size: int | None = None, mode: str | None = None, dtype: Any = None,
                 device: Any = None, preconditioned: bool = False) -> None:
        self.every = positive_int(every, "every")
        self.k, self.tol, self.max_iter, self.eig_tol, self.seed = k, tol, max_iter, eig_tol, seed
        if device is None:
            device = next(model.parameters()).device
        self.operator: HessianOperator
        if preconditioned:  # P^-1/2 H P^-1/2; measure() is then given P
            n = sum(p.numel() for p in model.parameters() if p.requires_grad)
            self.operator = PreconditionedHessianOperator(model, loss_fn, data, np.ones(n), chunk_size=chunk_size,
                                                          mode=mode, dtype=dtype, device=device)
        else:
            self.operator = HessianOperator(model, loss_fn, data, chunk_size=chunk_size, mode=mode, dtype=dtype,
                                            device=device)
        self.steps: list[int] = []
        self.values: list[np.ndarray] = []
        self.residuals: list[np.ndarray] = []
        self.converged: list[np.ndarray] = []
        self.n_hvp = 0
        self._v0: np.ndarray | None = None

    def measure(self, step: int, *, preconditioner: Any = None) -> float:
        """Measure now (whatever ``step``) and return the top eigenvalue (of ``P^-1/2 H P^-1/2``
        with ``P = preconditioner``, flat, when the tracker was built ``preconditioned``)."""
        self.operator.refresh()
        if preconditioner is not None:
            if not isinstance(self.operator, PreconditionedHessianOperator):
                raise ValueError("a preconditioner needs a tracker built with preconditioned=True")
            self.operator.set_preconditioner(preconditioner)
        res = lanczos(self.operator, k=self.k, tol=self.tol, max_iter=self.max_iter, seed=self.seed, v0=self._v0,
                      eig_tol=self.eig_tol)
        self._v0 = res.eigenvectors[:, 0]
        self.steps.append(int(step))
        self.values.append(res.eigenvalues)
        self.residuals.append(res.residuals)
        self.converged.append(res.converged)
        self.n_hvp += res.n_matvec
        return float(res.eigenvalues[0])

    def __call__(self, step: int, *, force: bool = False) -> float | None:
        if force or step % self.every == 0:
            return self.measure(step)
        return None

    @property
    def sharpness(self) -> np.ndarray:
        return np.array([v[0] for v in self.values])


def _fixed_batches(n: int, batch_size: int | None, steps: int, seed: int) -> Callable[[int], torch.Tensor | None]:
    """Index set of step ``t``: ``None`` (full batch) for GD, else consecutive slices of a
    seeded random permutation per epoch (last partial batch of an epoch kept)."""
    if batch_size is None or batch_size >= n:
        return lambda t: None
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    per_epoch = math.ceil(n / batch_size)
    perms: list[torch.Tensor] = []

    def batch(t: int) -> torch.Tensor:
        epoch, i = divmod(t, per_epoch)
        while len(perms) <= epoch:
            perms.append(torch.randperm(n, generator=gen))
        return perms[epoch][i * batch_size:(i + 1) * batch_size]

    return batch


def train(
    model: nn.Module,
    data: Any,
    *,
    lr: float | None = None,
    steps: int,
    loss: Any = "mse",
    sharpness_every: int = 10,
    batch_size: int | None = None,
    warmup_steps: int = 0,
    seed: int = 0,
    k: int = 1,
    tol: float = 1e-4,
    max_iter: int = 100,
    eig_tol: float | None = None,
    chunk_size: int | None = None,
    sharpness_examples: int | None = None,
    mode: str | None = None,
    lyapunov: bool = False,
    divergence_factor: float = 1e6,
    progress: Callable[[int], None] | None = None,
    optimizer: Any = None,
    optimizer_options: dict[str, Any] | None = None,
    minibatch_samples: int = 0,
) -> TrainingRun:
    """Train ``model`` **in place** with (S)GD and record loss, accuracy and sharpness
    (a :class:`TrainingRun`).

    Parameters
    ----------
    model:
        Any ``nn.Module``; it stays on its device and dtype (data are moved there).
    data:
        ``(X, Y)`` training set (tensors or arrays).
    lr, steps:
        Learning rate (peak, after warm-up) and number of updates. With an optimizer
        instance, ``lr=None`` takes its (first group's) learning rate; every group's ``lr`` is
        set to the warm-up schedule's value before each step.
    loss:
        ``"mse"`` (``(1/2N) sum ||f - y||^2``), ``"mse_per_class"``, ``"cross_entropy"`` or a callable.
    sharpness_every:
        Measure the sharpness at steps ``0, k, 2k, ...`` and at the last step.
    batch_size:
        ``None`` for full-batch GD; else SGD over a seeded random order (new permutation
        each epoch, from ``seed``).
    warmup_steps:
        Linear learning-rate warm-up length (0: none).
    k, tol, max_iter:
        Lanczos settings of each measurement (top-``k``; ``tol`` relative residual: 1e-4
        gives the eigenvalue to ~1e-8 relative, far below its change per step).
    eig_tol:
        Also stop a measurement once the a-posteriori eigenvalue error estimate
        ``residual^2 / gap`` is at most ``eig_tol`` relative (see :func:`lanczos`): 1e-4 is
        plenty for a sharpness plot and, warm-started, often needs half the products.
    chunk_size:
        Largest number of examples per forward/backward pass (memory bound).
    sharpness_examples:
        Measure the sharpness on the first this-many training examples (default all).
    mode:
        ``"train"``/``"eval"``/``None`` (the model's current mode) for both training and
        measurement; restored afterwards.
    lyapunov:
        Also propagate a tangent vector (one HVP per step on the step's batch) and record the
        running largest Lyapunov exponent.
    divergence_factor:
        Stop when the loss exceeds ``divergence_factor * max(L_0, 1)`` or is not finite
        (:func:`sharpdyn.divergence.loss_bound`).
    progress:
        Called with each finished step (e.g. a tqdm bar's ``update``).
    optimizer:
        ``None`` (default): plain GD/SGD steps ``theta -= lr_t * grad``. Else a
        ``torch.optim`` instance holding the model's parameters (SGD with or without
        momentum/Nesterov, Adam, AdamW, RMSprop) or one of the names
        :data:`~sharpdyn.torch.optimizers.OPTIMIZER_NAMES` (built by
        :func:`~sharpdyn.torch.optimizers.make_optimizer` with ``optimizer_options``, e.g.
        ``{"beta1": 0.9, "eps": 1e-8}``). The trajectory's ``threshold`` is the optimizer's
        (:func:`~sharpdyn.torch.stability_threshold`) and, for Adam/AdamW/RMSprop, its
        ``sharpness`` at step ``t`` is ``lambda_max(P^-1 H)`` with ``P`` the preconditioner of
        the update from step ``t`` (the second moment including step ``t``'s gradient), which
        exists from step 0 on. Regime labels use the threshold.
    optimizer_options:
        Keyword hyper-parameters for a named optimizer (not for an instance).
    minibatch_samples:
        With ``batch_size`` (mini-batch SGD): at each measurement also sample this many
        mini-batches of the sharpness set (a permutation drawn from ``seed + t``) and record
        the mean and spread of their sharpness and the curvature along their gradients
        (``TrainingRun.minibatch``; :func:`~sharpdyn.torch.minibatch_sharpness`).
    """
    loss_name = loss if isinstance(loss, str) else getattr(loss, "__name__", "custom")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    opt = _resolve_optimizer(optimizer, optimizer_options, model, lr)
    if lr is None:
        if opt is None:
            raise ValueError("lr is required unless an optimizer instance supplies it")
        lr = float(opt.param_groups[0]["lr"])
    settings = "" if opt is None else json.dumps(
        {k: v for k, v in opt.param_groups[0].items() if k != "params" and isinstance(v, (int, float, bool, tuple))})
    cfg = TrainConfig(lr=lr, steps=steps, loss=loss_name, sharpness_every=sharpness_every, batch_size=batch_size,
                      warmup_steps=warmup_steps, seed=seed, k=k, tol=tol, max_iter=max_iter, eig_tol=eig_tol,
                      chunk_size=chunk_size,
                      sharpness_examples=sharpness_examples, mode=mode, lyapunov=lyapunov,
                      divergence_factor=divergence_factor,
                      optimizer="gd" if opt is None else type(opt).__name__, optimizer_settings=settings,
                      minibatch_samples=minibatch_samples)
    check_allocation(72 * (steps + 1) + 24 * k * (steps // sharpness_every + 2) + 8 * steps * (batch_size or 0),
                     "steps", hint=f"{steps + 1} recorded steps; train fewer steps per call")
    loss_fn = get_loss(loss)
    adaptive = opt is not None and is_adaptive(opt)
    if opt is not None and lyapunov:
        raise ValueError("lyapunov=True follows plain GD steps only; use optimizer=None")
    p0 = next(model.parameters())
    device, dtype = p0.device, p0.dtype
    pairs = batches_of(data)
    if len(pairs) != 1:
        raise ValueError("train needs data as one pair (X, Y) of the whole training set")
    ((X, Y),) = pairs
    X = X.to(device, dtype)
    Y = Y.to(device, dtype) if Y.is_floating_point() else Y.to(device)
    n = X.shape[0]
    m = n if sharpness_examples is None else min(n, sharpness_examples)
    tracker = SharpnessTracker(model, loss_fn, (X[:m], Y[:m]), every=sharpness_every, k=k, tol=tol,
                               max_iter=max_iter, eig_tol=eig_tol, seed=seed, chunk_size=chunk_size, mode=mode,
                               device=device, preconditioned=adaptive)
    thresholds: list[float] = []
    mb_keys = ("batch_sharpness_mean", "batch_sharpness_std", "gradient_curvature", "full_gradient_curvature")
    mb: dict[str, list[float]] = {key: [] for key in mb_keys}
    params = [p for p in model.parameters() if p.requires_grad]
    batch_at = _fixed_batches(n, batch_size, steps, seed)

    def batch_of(t: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = batch_at(t)
        return (X, Y) if idx is None else (X[idx.to(device)], Y[idx.to(device)])

    full_batch = batch_size is None or batch_size >= n
    loop = GradientDescent(model, loss_fn, batch_of, steps=steps, lr_at=cfg.lr_at, chunk_size=chunk_size, mode=mode,
                           divergence_factor=divergence_factor, optimizer=opt, progress=progress)
    tangent = None
    lyap_op = None
    if lyapunov:
        tangent = TangentPropagator(tracker.operator.n_params, seed=seed + 1, dtype=dtype, device=device)

    loss_arr = np.full(steps + 1, np.nan)
    acc_arr = np.full(steps + 1, np.nan)
    lr_arr = np.array([cfg.lr_at(t) for t in range(steps + 1)])
    lyap = np.full(steps + 1, np.nan)
    log_sum = 0.0
    diverged_at = -1
    interrupted_at = -1
    try:
        for step in loop:
            t = step.t
            xb, yb = step.batch
            loss_arr[t] = step.loss
            acc_arr[t] = accuracy_of(step.outputs, yb)
            if step.diverged:
                diverged_at = t
                loss_arr[t] = step.loss if math.isfinite(step.loss) else np.nan
                break
            if t % sharpness_every == 0 or t == steps:
                if adaptive:
                    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
                    tracker.measure(t, preconditioner=model_preconditioner(opt, model, grads=grads))
                else:
                    tracker.measure(t)
                if minibatch_samples:
                    assert batch_size is not None  # TrainConfig requires it with minibatch_samples
                    stats = minibatch_sharpness(model, loss_fn, (X[:m], Y[:m]), batch_size=min(batch_size, m),
                                                n_batches=minibatch_samples, seed=seed + t, tol=tol,
                                                max_iter=max_iter, mode=mode, device=device)
                    for key, value in zip(mb_keys, (stats.mean, stats.std, stats.mean_gradient_curvature,
                                                    float(np.mean(stats.full_gradient_curvature)))):
                        mb[key].append(value)
                thresholds.append(2.0 / cfg.lr_at(t) if opt is None else stability_threshold(opt))
            if tangent is not None and t < steps:
                if lyap_op is None or not full_batch:
                    lyap_op = HessianOperator(model, loss_fn, (xb, yb), chunk_size=chunk_size, mode=mode, device=device)
                else:
                    lyap_op.refresh()
                log_sum += tangent.step(lyap_op, step.lr)
                lyap[t + 1] = log_sum / (t + 1)
    except KeyboardInterrupt:  # keep every finished step; the caller decides what to do
        t = loop.t
        interrupted_at = t
        loss_arr[t:] = np.nan
        acc_arr[t:] = np.nan
        lyap[t + 1:] = np.nan
        keep = sum(1 for s_ in tracker.steps if s_ < t)  # measurements of finished steps only
        for name in ("values", "steps", "residuals", "converged"):
            del getattr(tracker, name)[keep:]
        del thresholds[keep:]
        for values in mb.values():
            del values[keep:]
    loop.clear_gradients()
    vals = np.array(tracker.values) if tracker.values else np.zeros((0, k))
    return TrainingRun(
        loss=loss_arr, accuracy=acc_arr, lr=lr_arr,
        sharpness_steps=np.array(tracker.steps, dtype=np.int64),
        sharpness=vals[:, 0] if len(vals) else np.zeros(0),
        eigenvalues=vals, residuals=np.array(tracker.residuals).reshape(vals.shape),
        converged=np.array(tracker.converged, dtype=bool).reshape(vals.shape),
        lyapunov=lyap, diverged=diverged_at >= 0, diverged_at=diverged_at, n_hvp=tracker.n_hvp, config=cfg,
        interrupted_at=interrupted_at, threshold=np.array(thresholds, dtype=np.float64),
        minibatch={k: np.array(v, dtype=np.float64) for k, v in mb.items()} if minibatch_samples else None,
    )


def _resolve_optimizer(optimizer: Any, options: dict[str, Any] | None, model: nn.Module,
                       lr: float | None) -> torch.optim.Optimizer | None:
    """``None`` for plain GD steps, else a torch optimizer over ``model``'s parameters."""
    if optimizer is None:
        if options:
            raise ValueError("optimizer_options need a named optimizer")
        return None
    if isinstance(optimizer, str):
        if optimizer.lower() in ("gd", "sgd") and not (options or {}).get("weight_decay"):
            return None  # plain steps, bit for bit the default path
        if lr is None:
            raise ValueError("lr is required with a named optimizer")
        return make_optimizer(optimizer, [p for p in model.parameters() if p.requires_grad], lr=lr,
                              **(options or {}))
    if isinstance(optimizer, torch.optim.Optimizer):
        if options:
            raise ValueError("optimizer_options are for a named optimizer; configure an instance directly")
        stability_threshold(optimizer)  # supported kind, one threshold for all groups
        held = {id(p) for g in optimizer.param_groups for p in g["params"]}
        if any(id(p) not in held for p in model.parameters() if p.requires_grad):
            raise ValueError("optimizer must hold every trainable parameter of the model")
        return optimizer
    raise TypeError(f"optimizer must be None, a name or a torch.optim.Optimizer, got {type(optimizer).__name__}")
