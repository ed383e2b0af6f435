"""Sharpness and stability thresholds of momentum, adaptive and mini-batch optimizers.

Plain GD with step ``eta`` on a quadratic with Hessian ``H`` is stable iff
``lambda_max(H) < 2/eta``. The other optimizers have their own linear-stability thresholds
(on a quadratic, with the preconditioner held fixed):

=====================================  =======================================  =========================
optimizer (torch)                      quantity                                 threshold
=====================================  =======================================  =========================
``SGD`` (no momentum)                  ``lambda_max(H)``                        ``2 / eta``
``SGD(momentum=b)`` (heavy ball)       ``lambda_max(H)``                        ``(2 + 2b) / ((1 - d) eta)``
``SGD(momentum=b, nesterov=True)``     ``lambda_max(H)``                        ``2 (1 + b) / ((1 + 2b) eta)``
``Adam`` / ``AdamW`` (``beta1``)       ``lambda_max(P^-1 H)``                   ``(2 + 2 b1) / ((1 - b1) eta)``
``RMSprop(momentum=b)``                ``lambda_max(P^-1 H)``                   ``(2 + 2b) / eta``
=====================================  =======================================  =========================

(``d`` is SGD's dampening, 0 by default; ``38/eta`` for Adam's ``b1 = 0.9``.) ``P`` is the
optimizer's diagonal preconditioner: for Adam/AdamW ``P = sqrt(v_t) / sqrt(1 - b2^t) + eps``
(``v_t`` the second-moment average after ``t`` steps, ``max_exp_avg_sq`` with ``amsgrad``),
for RMSprop ``P = sqrt(v_t) + eps`` (``v_t - m_t^2`` when ``centered``), for SGD ``P = I``.
``lambda_max(P^-1 H)`` equals the top eigenvalue of the symmetric ``P^-1/2 H P^-1/2``, which
:class:`PreconditionedHessianOperator` applies with one Hessian-vector product and Lanczos
(:func:`~sharpdyn.torch.lanczos`) finds. Weight decay is not part of the thresholds (it adds
``wd`` to the curvature of coupled L2 and ``wd P`` for AdamW's decoupled decay).

References: Cohen et al., *Gradient Descent on Neural Networks Typically Occurs at the Edge of
Stability* (ICLR 2021, heavy-ball and Nesterov thresholds, appendix); Cohen et al., *Adaptive
Gradient Methods at the Edge of Stability* (2022, the 38/eta threshold of Adam);
Andreyev & Beneventano, *Edge of Stochastic Stability* (2024, curvature along mini-batch
gradients for SGD).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..validation import positive_float, positive_int
from .lanczos import EigenResult, lanczos
from .operators import HessianOperator, batches_of

OPTIMIZER_NAMES = ("gd", "sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
"""Names :func:`make_optimizer` accepts (``gd``/``sgd``: plain steps; ``momentum``: heavy ball)."""

ADAPTIVE = (torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop)


# -- hyper-parameters and thresholds ------------------------------------------------------

def _unit_interval(value: Any, name: str, *, closed_right: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    ok = math.isfinite(v) and 0.0 <= v and (v <= 1.0 if closed_right else v < 1.0)
    if not ok:
        raise ValueError(f"{name} must be in [0, 1{']' if closed_right else ')'}, got {value!r}")
    return v


def _scalar(value: Any) -> float:
    return float(value.item() if isinstance(value, torch.Tensor) else value)


def _check_supported(optimizer: Any) -> None:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not isinstance(optimizer, (torch.optim.SGD, *ADAPTIVE)):
        raise TypeError(f"optimizer {type(optimizer).__name__} is not supported: use SGD (with or without "
                        "momentum/Nesterov), Adam, AdamW or RMSprop")


_THRESHOLD_KEYS = {torch.optim.SGD: ("lr", "momentum", "dampening", "nesterov"),
                   torch.optim.Adam: ("lr", "betas"), torch.optim.AdamW: ("lr", "betas"),
                   torch.optim.RMSprop: ("lr", "momentum")}


def _group_settings(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The hyper-parameters of the first group; every group must share those that enter the
    threshold (else there is no single threshold)."""
    keys = next(v for k, v in _THRESHOLD_KEYS.items() if isinstance(optimizer, k))
    first = optimizer.param_groups[0]
    for g in optimizer.param_groups[1:]:
        for key in keys:
            if g[key] != first[key]:
                raise ValueError(f"optimizer param groups differ in {key!r}: no single stability threshold")
    return first


def stability_threshold(optimizer: Any) -> float:
    """Linear-stability threshold of ``optimizer`` on a quadratic (module docstring table).

    Parameters
    ----------
    optimizer:
        A ``torch.optim.SGD`` (plain, heavy-ball momentum, Nesterov), ``Adam``, ``AdamW`` or
        ``RMSprop`` instance; its current (first group's) learning rate is used.

    Returns
    -------
    float
        The largest stable value of the optimizer's sharpness (``lambda_max(H)`` for SGD,
        ``lambda_max(P^-1 H)`` for the adaptive ones), in units of 1/lr.
    """
    _check_supported(optimizer)
    g = _group_settings(optimizer)
    eta = positive_float(_scalar(g["lr"]), "optimizer lr")
    if isinstance(optimizer, torch.optim.SGD):
        b = _unit_interval(_scalar(g["momentum"]), "momentum")
        if g["nesterov"]:
            return 2.0 * (1.0 + b) / ((1.0 + 2.0 * b) * eta)
        damp = _unit_interval(_scalar(g["dampening"]), "dampening")
        return (2.0 + 2.0 * b) / ((1.0 - damp) * eta)
    if isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
        b1 = _unit_interval(_scalar(g["betas"][0]), "beta1")
        return (2.0 + 2.0 * b1) / ((1.0 - b1) * eta)
    b = _unit_interval(_scalar(g["momentum"]), "momentum")
    return (2.0 + 2.0 * b) / eta


def is_adaptive(optimizer: Any) -> bool:
    """Whether ``optimizer`` preconditions its steps (Adam, AdamW, RMSprop)."""
    return isinstance(optimizer, ADAPTIVE)


def make_optimizer(name: str, params: Any, *, lr: float, momentum: float = 0.9, beta1: float = 0.9,
                   beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """A torch optimizer by name (:data:`OPTIMIZER_NAMES`) with the given hyper-parameters.

    ``"gd"``/``"sgd"``: ``SGD(lr)``; ``"momentum"``: ``SGD(lr, momentum)``; ``"nesterov"``:
    ``SGD(lr, momentum, nesterov=True)``; ``"adam"``/``"adamw"``: ``Adam``/``AdamW(lr,
    (beta1, beta2), eps, weight_decay)``; ``"rmsprop"``: ``RMSprop(lr, alpha=beta2, eps,
    momentum)``. ``momentum`` is only read by the momentum, Nesterov and RMSprop names
    (RMSprop's default 0.9 can be set to 0)."""
    if not isinstance(name, str) or name.lower() not in OPTIMIZER_NAMES:
        raise ValueError(f"optimizer must be one of {OPTIMIZER_NAMES}, got {name!r}")
    name = name.lower()
    lr = positive_float(lr, "lr")
    momentum = _unit_interval(momentum, "momentum")
    beta1 = _unit_interval(beta1, "beta1")
    beta2 = _unit_interval(beta2, "beta2")
    eps = positive_float(eps, "eps")
    if not (math.isfinite(float(weight_decay)) and float(weight_decay) >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    wd = float(weight_decay)
    if name in ("gd", "sgd"):
        return torch.optim.SGD(params, lr=lr, weight_decay=wd)
    if name in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=name == "nesterov", weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd)
    return torch.optim.RMSprop(params, lr=lr, alpha=beta2, eps=eps, momentum=momentum, weight_decay=wd)


# -- the preconditioner ---------------------------------------------------------------------

def _param_state(optimizer: torch.optim.Optimizer, p: torch.Tensor) -> tuple[dict, dict]:
    for g in optimizer.param_groups:
        if any(q is p for q in g["params"]):
            return g, optimizer.state.get(p, {})
    raise ValueError("a trainable parameter of the model is not among the optimizer's parameters")


def preconditioner_diagonal(optimizer: Any, params: Sequence[torch.Tensor], *,
                            grads: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """Diagonal preconditioner ``P`` of ``optimizer`` for each tensor of ``params``.

    Parameters
    ----------
    optimizer:
        SGD (``P = 1``), Adam/AdamW (``P = sqrt(v_t) / sqrt(1 - b2^t) + eps``, ``v_t``
        ``max_exp_avg_sq`` under ``amsgrad``) or RMSprop (``P = sqrt(v_t) + eps``, centered:
        ``sqrt(v_t - m_t^2) + eps``), read from its state.
    params:
        The parameters (tensors the optimizer holds), in the order wanted.
    grads:
        ``None``: the current state (``t`` steps taken; ``ValueError`` before the first step).
        Else the gradients of the coming step: the preconditioner that step will use
        (``v_{t+1} = b2 v_t + (1 - b2) g^2`` with coupled weight decay added to ``g`` as torch
        does; the state is not changed).

    Returns
    -------
    list of tensors shaped like ``params``, float64 on the parameters' devices.
    """
    _check_supported(optimizer)
    params = list(params)
    if grads is not None:
        grads = list(grads)
        if len(grads) != len(params):
            raise ValueError(f"grads must have one tensor per parameter ({len(params)}), got {len(grads)}")
    out = []
    for i, p in enumerate(params):
        group, state = _param_state(optimizer, p)
        if isinstance(optimizer, torch.optim.SGD):
            out.append(torch.ones_like(p, dtype=torch.float64))
            continue
        if group.get("maximize", False):
            raise ValueError("optimizers with maximize=True are not supported")
        eps = float(group["eps"])
        g = None
        if grads is not None:
            g = grads[i].detach().to(torch.float64)
            wd = _scalar(group["weight_decay"])
            decoupled = isinstance(optimizer, torch.optim.AdamW) or group.get("decoupled_weight_decay", False)
            if wd != 0 and not decoupled:
                g = g + wd * p.detach().to(torch.float64)
        elif not state:
            raise ValueError("the optimizer has no state yet (take a step first, or pass grads of the coming step)")
        step = _scalar(state["step"]) if state else 0.0
        if isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
            b2 = _scalar(group["betas"][1])
            v = state["exp_avg_sq"].detach().to(torch.float64) if state else torch.zeros_like(p, dtype=torch.float64)
            vmax = state.get("max_exp_avg_sq") if group["amsgrad"] else None
            if g is not None:
                v = b2 * v + (1.0 - b2) * g * g
                step += 1.0
                if group["amsgrad"]:
                    v = torch.maximum(vmax.detach().to(torch.float64), v) if vmax is not None else v
            elif group["amsgrad"]:
                assert vmax is not None, "an AMSGrad state with steps holds max_exp_avg_sq"
                v = vmax.detach().to(torch.float64)
            out.append(v.sqrt() / math.sqrt(1.0 - b2 ** step) + eps)
        else:  # RMSprop
            alpha = _scalar(group["alpha"])
            v = state["square_avg"].detach().to(torch.float64) if state else torch.zeros_like(p, dtype=torch.float64)
            if g is not None:
                v = alpha * v + (1.0 - alpha) * g * g
            if group["centered"]:
                m = state["grad_avg"].detach().to(torch.float64) if state else torch.zeros_like(p, dtype=torch.float64)
                if g is not None:
                    m = alpha * m + (1.0 - alpha) * g
                v = v - m * m
            out.append(v.sqrt() + eps)
    return out


def model_preconditioner(optimizer: Any, model: nn.Module, *, grads: Sequence[torch.Tensor] | None = None,
                         ) -> torch.Tensor:
    """Flat ``P`` (float64, shape ``(n_params,)``) for the trainable parameters of ``model``
    in ``named_parameters`` order (the order of :class:`~sharpdyn.torch.HessianOperator`);
    ``grads`` as in :func:`preconditioner_diagonal`, one per trainable parameter."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.cat([d.reshape(-1).cpu() for d in preconditioner_diagonal(optimizer, params, grads=grads)])


class PreconditionedHessianOperator(HessianOperator):
    """The symmetric ``P^-1/2 H P^-1/2`` (same spectrum as ``P^-1 H``) of the full-batch loss.

    Parameters
    ----------
    model, loss_fn, data:
        As in :class:`~sharpdyn.torch.HessianOperator`.
    preconditioner:
        ``P``: positive, finite, shape ``(n_params,)`` (tensor or array), in the order of the
        model's trainable parameters (:func:`model_preconditioner` builds it from a torch
        optimizer). Stored as ``P^-1/2`` in the operator's dtype.
    **options:
        ``chunk_size``, ``dtype``, ``device``, ``mode``, ``method``, ``cache_graph`` as in
        :class:`~sharpdyn.torch.HessianOperator`.

    Each product costs one HVP; ``matvec``/``matmat``/``to_scipy`` work as for the Hessian.
    Eigenvectors ``w`` of this operator map to ``P^-1 H`` eigenvectors ``P^-1/2 w``.
    """

    def __init__(self, model, loss_fn, data, preconditioner: Any, **options: Any) -> None:
        super().__init__(model, loss_fn, data, **options)
        self.set_preconditioner(preconditioner)

    def set_preconditioner(self, preconditioner: Any) -> None:
        """Replace ``P`` (e.g. after an optimizer step; call :meth:`refresh` for the parameters)."""
        P = preconditioner if isinstance(preconditioner, torch.Tensor) else torch.as_tensor(np.asarray(preconditioner))
        if P.is_complex() or not (P.is_floating_point() or P.dtype in (torch.int32, torch.int64)):
            raise TypeError(f"preconditioner must be real, got dtype {P.dtype}")
        P = P.detach().reshape(-1).to(torch.float64)
        if P.numel() != self.n_params:
            raise ValueError(f"preconditioner must have {self.n_params} entries (one per parameter), got {P.numel()}")
        if not bool(torch.isfinite(P).all()) or not bool((P > 0).all()):
            raise ValueError("preconditioner must be finite and positive")
        self.preconditioner = P.to(self.device)
        self.inv_sqrt = (1.0 / P.sqrt()).to(self.device, self.dtype)

    def _product(self, v: torch.Tensor) -> torch.Tensor:
        if v.shape != (self.n_params,):
            raise ValueError(f"vector must have shape ({self.n_params},), got {tuple(v.shape)}")
        s = self.inv_sqrt
        return s * super()._product(s * v.to(self.device, self.dtype))


def preconditioned_sharpness(model: nn.Module, loss_fn: Any, data: Any, optimizer: Any, *, k: int = 1,
                             tol: float = 1e-6, seed: int = 0, max_iter: int | None = None, v0: Any = None,
                             eig_tol: float | None = None, chunk_size: int | None = None, dtype: Any = None,
                             device: Any = None, mode: str | None = None) -> EigenResult:
    """Top-``k`` eigenvalues of ``P^-1/2 H P^-1/2`` (= those of ``P^-1 H``), ``P`` read from
    ``optimizer``'s current state (:func:`preconditioner_diagonal`; ``P = I`` for SGD, so this
    is the plain sharpness there).

    ``H`` is the full-batch loss Hessian of ``model`` on ``data`` (as in
    :func:`~sharpdyn.torch.hessian_eigenvalues`); Lanczos options as in
    :func:`~sharpdyn.torch.lanczos`. Returns an :class:`~sharpdyn.torch.EigenResult`
    (eigenvectors of the symmetric operator).
    """
    _check_supported(optimizer)
    P = model_preconditioner(optimizer, model)
    op = PreconditionedHessianOperator(model, loss_fn, data, P, chunk_size=chunk_size, dtype=dtype, device=device,
                                       mode=mode)
    return lanczos(op, k=k, tol=tol, seed=seed, max_iter=max_iter, v0=v0, eig_tol=eig_tol)


# -- mini-batch SGD -------------------------------------------------------------------------

@dataclass(frozen=True)
class MinibatchSharpness:
    """Sharpness statistics of mini-batch SGD at one point (all against ``2/lr``).

    Attributes
    ----------
    full_batch:
        ``lambda_max`` of the full-batch Hessian.
    batch_sharpness:
        Shape ``(n_batches,)``: ``lambda_max(H_B)`` of each mini-batch's own loss.
    gradient_curvature:
        Shape ``(n_batches,)``: ``g_B^T H_B g_B / |g_B|^2``, the curvature of the batch loss
        along its own gradient (the quantity that hovers at ``2/lr`` in Andreyev &
        Beneventano's edge of stochastic stability).
    full_gradient_curvature:
        Shape ``(n_batches,)``: ``g_B^T H g_B / |g_B|^2``, the full-batch curvature along
        each mini-batch gradient.
    batch_size, seed:
        The settings; batches are the first ``n_batches`` slices of a seeded permutation.
    n_matvec:
        Hessian-vector products (operator applications) spent.
    """

    full_batch: float
    batch_sharpness: np.ndarray
    gradient_curvature: np.ndarray
    full_gradient_curvature: np.ndarray
    batch_size: int
    seed: int
    n_matvec: int

    @property
    def mean(self) -> float:
        """Mean mini-batch sharpness."""
        return float(np.mean(self.batch_sharpness))

    @property
    def std(self) -> float:
        """Spread (standard deviation, ``ddof=0``) of the mini-batch sharpness."""
        return float(np.std(self.batch_sharpness))

    @property
    def mean_gradient_curvature(self) -> float:
        return float(np.mean(self.gradient_curvature))


def _curvature_along(op: HessianOperator, g: torch.Tensor) -> float:
    nrm2 = float(g @ g)
    if nrm2 == 0.0:
        return float("nan")
    return float(g @ op.matvec(g)) / nrm2


def minibatch_sharpness(model: nn.Module, loss_fn: Any, data: Any, *, batch_size: int, n_batches: int = 8,
                        seed: int = 0, tol: float = 1e-4, max_iter: int | None = None,
                        dtype: Any = None, device: Any = None, mode: str | None = None) -> MinibatchSharpness:
    """Full-batch and mini-batch sharpness and the curvature along mini-batch gradients.

    Parameters
    ----------
    model, loss_fn:
        As in :func:`~sharpdyn.torch.hessian_eigenvalues`.
    data:
        ``(X, Y)``, the whole training set.
    batch_size:
        Mini-batch size (``<= N``).
    n_batches:
        Number of mini-batches sampled: the first ``n_batches`` disjoint slices of a
        permutation drawn from ``seed`` (further epochs' permutations when more are asked
        than fit).
    tol, max_iter:
        Lanczos settings of each top eigenvalue.
    """
    batch_size = positive_int(batch_size, "batch_size")
    n_batches = positive_int(n_batches, "n_batches")
    pairs = batches_of(data)
    if len(pairs) != 1:
        raise ValueError("data must be one pair (X, Y) of the whole training set")
    ((X, Y),) = pairs
    n = X.shape[0]
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} exceeds the number of examples {n}")
    opts = dict(dtype=dtype, device=device, mode=mode)
    full = HessianOperator(model, loss_fn, (X, Y), **opts)
    res = lanczos(full, tol=tol, max_iter=max_iter, seed=seed)
    n_matvec = res.n_matvec
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    per_epoch = n // batch_size
    perm = torch.randperm(n, generator=gen)
    sharp, curv, fcurv = [], [], []
    for b in range(n_batches):
        i = b % per_epoch
        if b and i == 0:
            perm = torch.randperm(n, generator=gen)
        idx = perm[i * batch_size:(i + 1) * batch_size]
        op = HessianOperator(model, loss_fn, (X[idx], Y[idx]), **opts)
        rb = lanczos(op, tol=tol, max_iter=max_iter, seed=seed)
        _, g = op.loss_and_gradient()
        sharp.append(float(rb.eigenvalues[0]))
        curv.append(_curvature_along(op, g))
        fcurv.append(_curvature_along(full, g.to(full.device, full.dtype)))
        n_matvec += rb.n_matvec + 2
    return MinibatchSharpness(full_batch=float(res.eigenvalues[0]), batch_sharpness=np.array(sharp),
                              gradient_curvature=np.array(curv), full_gradient_curvature=np.array(fcurv),
                              batch_size=batch_size, seed=int(seed), n_matvec=n_matvec)
