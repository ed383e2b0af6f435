"""Small multilayer perceptrons with exact dense Hessians, computed in C++.

A network of widths ``[d_in, h_1, ..., h_{L-1}, d_out]`` (``L`` weight layers)::

    h_0 = x,   z_{a+1} = m_a W_a h_a + b_a,   h_{a+1} = phi(z_{a+1}),   f = z_L

with ``phi`` one of ``"linear"``, ``"tanh"``, ``"relu"``, ``"gelu"`` (exact, erf-based) and
fixed multipliers ``m_a`` that carry the parameterization. Weights are drawn
``W_a ~ N(0, s_a^2)`` (biases start at 0). With ``fan_in = n_a``, ``fan_out = n_{a+1}`` and
``sigma = init_scale``:

- ``"sp"`` (standard): every layer ``m_a = 1``, ``s_a^2 = sigma^2 / fan_in``.
- ``"ntk"``: every layer ``m_a = sigma / sqrt(fan_in)``, ``s_a = 1``.
- ``"mup"``: input layer ``m_0 = sqrt(fan_out)``, ``s_0^2 = sigma^2 / (fan_in * fan_out)``;
  hidden layers ``m_a = 1``, ``s_a^2 = sigma^2 / fan_in``; output layer
  ``m_{L-1} = 1 / sqrt(fan_in)``, ``s_{L-1}^2 = sigma^2 / fan_in``.

``"mup"`` is the maximal-update parameterization in the "abc" form of Yang & Hu
(Tensor Programs IV, ``a = (-1/2, 0, 1/2)``, ``b = 1/2``, ``c = 0``) with fan-in
normalisation of the input layer: effective weights ``m W`` start at variance
``1/fan_in``, ``1/fan_in`` and ``1/fan_in^2`` for input, hidden and output layers, and one
global learning rate ``lr`` on the stored parameters gives effective per-layer rates
``lr * fan_out``, ``lr`` and ``lr / fan_in`` (the μP SGD scaling). In ``"mup"`` a one-layer
network (``L = 1``) is scaled as in ``"sp"``. Bias multipliers are 1 in every
parameterization.

Losses over ``N`` examples: MSE ``L = (1/2N) sum_n ||f(x_n) - y_n||^2`` (the library's
convention; the sharpness refers to this normalisation) and cross-entropy
``L = (1/N) sum_n -sum_k y_nk log softmax(f(x_n))_k`` (mean over examples; targets are class
labels or rows of class probabilities).

The Hessian (``MLP.hessian``) is assembled exactly from layer-wise quantities (the
Gauss-Newton part plus the residual part from second derivatives of the network; see
``csrc/core/mlp.hpp``), the top eigenvalues come from Lanczos with full
reorthogonalisation, the full spectrum from LAPACK (``numpy.linalg.eigvalsh``).
:func:`train` runs many GD/SGD runs at once with OpenMP and records loss and sharpness,
optionally with heavy-ball or Nesterov momentum (``torch.optim.SGD``'s convention).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import _core
from . import regimes as _regimes
from .momentum import _momentum_array, heavy_ball_threshold
from .validation import (
    as_float_array,
    check_allocation,
    nonnegative_int,
    one_of,
    positive_float,
    positive_int,
    product,
    threads_arg,
)

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "PARAMETERIZATIONS",
    "LanczosResult",
    "MLP",
    "MLPSpec",
    "TrainingRuns",
    "init_params",
    "lanczos",
    "train",
]

ACTIVATIONS: tuple[str, ...] = ("linear", "tanh", "relu", "gelu")
PARAMETERIZATIONS: tuple[str, ...] = ("sp", "ntk", "mup")
LOSSES: tuple[str, ...] = ("mse", "ce")

DEFAULT_LANCZOS_TOL = 1e-10
"""Lanczos residual bound relative to the largest Ritz value magnitude (for dense and HVP
eigensolves on one network); a Ritz value is then within this of an eigenvalue."""

TRAIN_LANCZOS_TOL = 1e-7
"""Looser bound for the many sharpness samples of :func:`train` (the Ritz value error is
of the order of the squared residual over the spectral gap, far below 1e-7)."""


@dataclass(frozen=True)
class MLPSpec:
    """Architecture of a multilayer perceptron (no weights).

    Attributes
    ----------
    widths:
        ``(d_in, h_1, ..., d_out)``, every entry >= 1, at least two entries.
    activation:
        One of :data:`ACTIVATIONS`.
    param:
        One of :data:`PARAMETERIZATIONS` (see the module docstring for the exact convention).
    bias:
        Whether every layer has a bias.
    loss:
        ``"mse"`` or ``"ce"``.
    init_scale:
        ``sigma``, the scale of the initial weights (1.0; use ``sqrt(2)`` for He-style ReLU).
    """

    widths: tuple[int, ...]
    activation: str = "tanh"
    param: str = "sp"
    bias: bool = True
    loss: str = "mse"
    init_scale: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.widths, np.ndarray) and self.widths.ndim == 1:
            object.__setattr__(self, "widths", tuple(self.widths.tolist()))
        if isinstance(self.widths, (str, bytes)) or not isinstance(self.widths, Sequence):
            raise TypeError(f"widths must be a sequence of positive integers, got {self.widths!r}")
        ws = tuple(positive_int(w, f"widths[{i}]") for i, w in enumerate(self.widths))
        if len(ws) < 2:
            raise ValueError(f"widths must have at least two entries [d_in, d_out], got {list(ws)}")
        object.__setattr__(self, "widths", ws)
        one_of(self.activation, "activation", ACTIVATIONS)
        one_of(self.param, "param", PARAMETERIZATIONS)
        one_of(self.loss, "loss", LOSSES)
        if not isinstance(self.bias, (bool, np.bool_)):
            raise TypeError(f"bias must be a bool, got {self.bias!r}")
        object.__setattr__(self, "init_scale", positive_float(self.init_scale, "init_scale"))

    @property
    def depth(self) -> int:
        """Number of weight layers ``L``."""
        return len(self.widths) - 1

    @property
    def num_params(self) -> int:
        return int(sum(self.widths[a] * self.widths[a + 1] + (self.widths[a + 1] if self.bias else 0)
                       for a in range(self.depth)))

    def _layer_scales(self) -> list[tuple[float, float]]:
        """``(multiplier, init std)`` per weight layer."""
        sig = self.init_scale
        out = []
        L = self.depth
        for a in range(L):
            fan_in, fan_out = self.widths[a], self.widths[a + 1]
            if self.param == "ntk":
                out.append((sig / math.sqrt(fan_in), 1.0))
            elif self.param == "mup" and L > 1 and a == 0:
                out.append((math.sqrt(fan_out), sig / math.sqrt(fan_in * fan_out)))
            elif self.param == "mup" and L > 1 and a == L - 1:
                out.append((1.0 / math.sqrt(fan_in), sig / math.sqrt(fan_in)))
            else:
                out.append((1.0, sig / math.sqrt(fan_in)))
        return out

    @property
    def multipliers(self) -> tuple[float, ...]:
        """The fixed multipliers ``m_a``."""
        return tuple(m for m, _ in self._layer_scales())

    @property
    def init_stds(self) -> tuple[float, ...]:
        """Standard deviation of the initial entries of each ``W_a``."""
        return tuple(s for _, s in self._layer_scales())

    def with_hidden_width(self, width: int) -> MLPSpec:
        """The same architecture with every hidden layer of width ``width``."""
        w = positive_int(width, "width")
        return replace(self, widths=(self.widths[0], *([w] * (self.depth - 1)), self.widths[-1]))

    def _core_args(self) -> tuple:
        return (list(self.widths), ACTIVATIONS.index(self.activation), bool(self.bias),
                list(self.multipliers), LOSSES.index(self.loss))


def init_params(spec: MLPSpec, seed: int = 0) -> np.ndarray:
    """Initial flat parameters (PyTorch order: ``W_0, b_0, W_1, b_1, ...``), float64.

    Weights ``W_a ~ N(0, spec.init_stds[a]^2)`` drawn layer by layer from
    ``numpy.random.default_rng(seed)``; biases 0. Same seed, same parameters.
    """
    seed = nonnegative_int(seed, "seed")
    check_allocation(3 * 8 * spec.num_params, "widths",
                     hint=f"{spec.num_params:,} parameters; use narrower layers")
    rng = np.random.default_rng(seed)
    parts = []
    for a, std in enumerate(spec.init_stds):
        n_in, n_out = spec.widths[a], spec.widths[a + 1]
        parts.append(rng.standard_normal(n_out * n_in) * std)
        if spec.bias:
            parts.append(np.zeros(n_out))
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float64)


def _inputs(spec: MLPSpec, X: Any) -> np.ndarray:
    x = as_float_array(X, "X")
    if x.ndim == 1 and spec.widths[0] == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != spec.widths[0]:
        raise ValueError(f"X must have shape (N, {spec.widths[0]}), got {x.shape}")
    if x.shape[0] < 1:
        raise ValueError("X must hold at least one example")
    return np.ascontiguousarray(x, dtype=np.float64)


def _targets(spec: MLPSpec, Y: Any, n: int) -> np.ndarray:
    d_out = spec.widths[-1]
    raw = np.asarray(Y)
    if spec.loss == "ce" and raw.ndim == 1 and raw.dtype.kind in "iub":
        labels = raw.astype(np.int64)
        if labels.shape[0] != n:
            raise ValueError(f"Y has {labels.shape[0]} labels but X has {n} examples")
        if labels.size and (labels.min() < 0 or labels.max() >= d_out):
            raise ValueError(f"Y labels must lie in [0, {d_out}), got range [{labels.min()}, {labels.max()}]")
        return np.ascontiguousarray(np.eye(d_out)[labels])
    y = as_float_array(Y, "Y")
    if y.ndim == 1 and d_out == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape != (n, d_out):
        raise ValueError(f"Y must have shape ({n}, {d_out}) to match X and widths[-1], got {y.shape}")
    if spec.loss == "ce" and np.any(y < 0):
        raise ValueError("Y for cross-entropy must be class labels or non-negative class probabilities")
    return np.ascontiguousarray(y, dtype=np.float64)


def _data(spec: MLPSpec, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    x = _inputs(spec, X)
    return x, _targets(spec, Y, x.shape[0])


@dataclass(frozen=True)
class LanczosResult:
    """Largest eigenpairs of a symmetric operator from Lanczos.

    Attributes
    ----------
    values:
        Shape ``(k,)``, descending (largest algebraic first).
    vectors:
        Shape ``(n, k)``, unit Ritz vectors.
    residuals:
        Shape ``(k,)``: ``||A v - theta v||``; each value is within this of an eigenvalue.
    iterations:
        Lanczos steps taken.
    converged:
        Whether every residual met the tolerance.
    """

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    iterations: int
    converged: bool


def lanczos(A: Any, k: int = 1, *, tol: float = DEFAULT_LANCZOS_TOL, max_iter: int | None = None,
            seed: int = 0) -> LanczosResult:
    """Top-``k`` (largest algebraic) eigenpairs of a dense symmetric matrix by Lanczos with
    full reorthogonalisation (C++).

    Parameters
    ----------
    A:
        Shape ``(n, n)``, symmetric (not checked beyond the shape).
    k:
        Number of eigenpairs, ``1 <= k <= n``.
    tol:
        Stop once every wanted Ritz pair has residual ``<= tol * max|Ritz value|``
        (default 1e-10).
    max_iter:
        Lanczos steps at most (default ``min(n, max(300, 4k))``).
    seed:
        Seed of the random start vector (same seed, same result).
    """
    a = as_float_array(A, "A")
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {a.shape}")
    n = a.shape[0]
    k = positive_int(k, "k")
    if k > n:
        raise ValueError(f"k must be <= n = {n}, got {k}")
    tol = positive_float(tol, "tol")
    it = min(n, max(300, 4 * k)) if max_iter is None else positive_int(max_iter, "max_iter")
    vals, vecs, res, iters, conv = _core.lanczos_dense(np.ascontiguousarray(a), k, it, tol,
                                                       nonnegative_int(seed, "seed"))
    return LanczosResult(values=vals, vectors=vecs, residuals=res, iterations=int(iters), converged=bool(conv))


class MLP:
    """A multilayer perceptron with its parameters; every derivative is exact and computed in C++.

    Parameters
    ----------
    widths:
        ``[d_in, h_1, ..., d_out]``.
    activation, param, bias, loss, init_scale:
        As in :class:`MLPSpec`.
    seed:
        Seed of the initial parameters (:func:`init_params`).
    params:
        Optional flat parameters (length :attr:`num_params`) instead of a random initialisation.

    All methods take ``X`` of shape ``(N, d_in)`` and targets ``Y`` of shape ``(N, d_out)``
    (``(N,)`` also accepted when ``d_out = 1``; class labels for cross-entropy).
    """

    def __init__(self, widths: Sequence[int], *, activation: str = "tanh", param: str = "sp",
                 bias: bool = True, seed: int = 0, loss: str = "mse", init_scale: float = 1.0,
                 params: Any = None) -> None:
        self.spec = MLPSpec(tuple(widths) if isinstance(widths, (list, tuple)) else widths, activation=activation,
                            param=param, bias=bias, loss=loss, init_scale=init_scale)
        self.seed = nonnegative_int(seed, "seed")
        self._params = init_params(self.spec, self.seed)
        if params is not None:
            self.params = params

    @classmethod
    def from_spec(cls, spec: MLPSpec, *, seed: int = 0, params: Any = None) -> MLP:
        return cls(spec.widths, activation=spec.activation, param=spec.param, bias=spec.bias, seed=seed,
                   loss=spec.loss, init_scale=spec.init_scale, params=params)

    def __repr__(self) -> str:
        s = self.spec
        return (f"MLP(widths={list(s.widths)}, activation={s.activation!r}, param={s.param!r}, "
                f"bias={s.bias}, loss={s.loss!r}, num_params={self.num_params})")

    @property
    def num_params(self) -> int:
        return self.spec.num_params

    @property
    def params(self) -> np.ndarray:
        """Flat float64 parameters in PyTorch order (``W_0, b_0, W_1, b_1, ...``); a copy."""
        return self._params.copy()

    @params.setter
    def params(self, value: Any) -> None:
        p = as_float_array(value, "params")
        if p.shape != (self.num_params,):
            raise ValueError(f"params must have shape ({self.num_params},), got {p.shape}")
        self._params = np.ascontiguousarray(p, dtype=np.float64)

    # ------------------------------------------------------------------ evaluation
    def forward(self, X: Any) -> np.ndarray:
        """Outputs ``f``, shape ``(N, d_out)``."""
        return _core.mlp_forward(*self.spec._core_args(), self._params, _inputs(self.spec, X))

    __call__ = forward

    def loss(self, X: Any, Y: Any) -> float:
        """Training loss (MSE ``(1/2N) sum ||f - y||^2`` or mean cross-entropy)."""
        x, y = _data(self.spec, X, Y)
        value, _ = _core.mlp_loss_gradient(*self.spec._core_args(), self._params, x, y, False)
        return float(value)

    def gradient(self, X: Any, Y: Any) -> np.ndarray:
        """Gradient of the loss, shape ``(P,)``."""
        x, y = _data(self.spec, X, Y)
        return _core.mlp_loss_gradient(*self.spec._core_args(), self._params, x, y, True)[1]

    def hvp(self, X: Any, Y: Any, v: Any) -> np.ndarray:
        """Exact Hessian-vector product ``H v`` (Pearlmutter's R-operator), shape ``(P,)``."""
        x, y = _data(self.spec, X, Y)
        vv = as_float_array(v, "v")
        if vv.shape != (self.num_params,):
            raise ValueError(f"v must have shape ({self.num_params},), got {vv.shape}")
        return _core.mlp_hvp(*self.spec._core_args(), self._params, x, y, np.ascontiguousarray(vv))

    def _check_square(self, what: str) -> None:
        P = self.num_params
        check_allocation(8 * 2 * P * P, "widths", hint=f"the dense {what} of {P:,} parameters is {P:,} x {P:,}; "
                                                       "use top_eigenvalues(method='hvp') (no matrix) or a smaller net")

    def hessian(self, X: Any, Y: Any, *, threads: int | None = None) -> np.ndarray:
        """Exact dense Hessian of the loss, shape ``(P, P)``, symmetric."""
        self._check_square("Hessian")
        x, y = _data(self.spec, X, Y)
        return _core.mlp_hessian(*self.spec._core_args(), self._params, x, y, False, threads_arg(threads))

    def gauss_newton(self, X: Any, Y: Any, *, threads: int | None = None) -> np.ndarray:
        """Gauss-Newton matrix ``sum_n J_n^T H_loss J_n`` (``= J^T J / N`` for MSE), ``(P, P)``."""
        self._check_square("Gauss-Newton matrix")
        x, y = _data(self.spec, X, Y)
        return _core.mlp_hessian(*self.spec._core_args(), self._params, x, y, True, threads_arg(threads))

    def jacobian(self, X: Any) -> np.ndarray:
        """Jacobian of the outputs, shape ``(N * d_out, P)``; row ``n * d_out + o`` is ``df_{n,o}/dtheta``."""
        x = _inputs(self.spec, X)
        check_allocation(8 * product(x.shape[0], self.spec.widths[-1], self.num_params), "X",
                         hint="the Jacobian has N * d_out rows of num_params entries; pass fewer examples")
        return _core.mlp_jacobian(*self.spec._core_args(), self._params, x)

    def ntk(self, X: Any) -> np.ndarray:
        """Empirical neural tangent kernel ``J J^T``, shape ``(N * d_out, N * d_out)``.

        For MSE its eigenvalues divided by ``N`` are the non-zero eigenvalues of the
        Gauss-Newton matrix.
        """
        J = self.jacobian(X)
        return J @ J.T

    # ------------------------------------------------------------------ spectra
    def top_eigenvalues(self, X: Any, Y: Any, k: int = 1, *, method: str = "dense",
                        tol: float = DEFAULT_LANCZOS_TOL, max_iter: int | None = None, seed: int = 0,
                        threads: int | None = None) -> np.ndarray:
        """Largest ``k`` Hessian eigenvalues (descending); ``[0]`` is the sharpness.

        ``method="dense"`` assembles the Hessian and runs Lanczos on it; ``"hvp"`` runs
        Lanczos on exact Hessian-vector products without forming the matrix (cheaper for
        large ``P``). ``tol`` as in :func:`lanczos`.
        """
        one_of(method, "method", ("dense", "hvp"))
        k = positive_int(k, "k")
        P = self.num_params
        if k > P:
            raise ValueError(f"k must be <= num_params = {P}, got {k}")
        it = min(P, max(300, 4 * k)) if max_iter is None else positive_int(max_iter, "max_iter")
        if method == "dense":
            return lanczos(self.hessian(X, Y, threads=threads), k, tol=tol, max_iter=it, seed=seed).values
        x, y = _data(self.spec, X, Y)
        vals, _ = _core.mlp_top_eigenvalues_hvp(*self.spec._core_args(), self._params, x, y, k, it,
                                               positive_float(tol, "tol"), nonnegative_int(seed, "seed"))
        return vals

    def sharpness(self, X: Any, Y: Any, **kwargs: Any) -> float:
        """Top Hessian eigenvalue (see :meth:`top_eigenvalues`)."""
        return float(self.top_eigenvalues(X, Y, 1, **kwargs)[0])

    def gauss_newton_top(self, X: Any, Y: Any, k: int = 1, *, tol: float = DEFAULT_LANCZOS_TOL,
                         seed: int = 0) -> np.ndarray:
        """Largest ``k`` eigenvalues of the Gauss-Newton matrix (for MSE: of the NTK over ``N``)."""
        return lanczos(self.gauss_newton(X, Y), k, tol=tol, seed=seed).values

    def eigenvalues(self, X: Any, Y: Any) -> np.ndarray:
        """Full Hessian spectrum, ascending (LAPACK ``syevd`` through ``numpy.linalg.eigvalsh``)."""
        return np.linalg.eigvalsh(self.hessian(X, Y))

    # ------------------------------------------------------------------ torch
    def to_torch(self) -> Any:
        """An equivalent float64 ``torch.nn.Module`` with the same weights and forward pass.

        Its ``parameters()`` flatten (``torch.nn.utils.parameters_to_vector``) to
        :attr:`params`; the multipliers are a buffer. Requires torch (``pip install sharpdyn[torch]``).
        """
        return _torch_class()(self.spec, self._params)


@functools.lru_cache(maxsize=None)
def _torch_class() -> type:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised by the no-optional-deps test
        raise ImportError("MLP.to_torch needs torch: pip install sharpdyn[torch]") from exc

    activations = {
        "linear": lambda z: z,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "gelu": lambda z: torch.nn.functional.gelu(z, approximate="none"),
    }

    class TorchMLP(torch.nn.Module):
        """``z_{a+1} = m_a (h_a @ W_a^T) + b_a``, ``h = phi(z)`` on hidden layers (float64)."""

        def __init__(self, spec: MLPSpec, params: np.ndarray) -> None:
            super().__init__()
            self.spec = spec
            self.layers = torch.nn.ModuleList(
                torch.nn.Linear(spec.widths[a], spec.widths[a + 1], bias=spec.bias, dtype=torch.float64)
                for a in range(spec.depth)
            )
            self.register_buffer("multipliers", torch.tensor(spec.multipliers, dtype=torch.float64))
            self._phi = activations[spec.activation]
            with torch.no_grad():
                torch.nn.utils.vector_to_parameters(torch.as_tensor(np.array(params)), self.parameters())

        def forward(self, x: Any) -> Any:
            L = len(self.layers)
            for a, layer in enumerate(self.layers):
                z = self.multipliers[a] * (x @ layer.weight.T)
                if layer.bias is not None:
                    z = z + layer.bias
                x = self._phi(z) if a < L - 1 else z
            return x

    return TorchMLP


# ---------------------------------------------------------------------- training
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
        return self.sharpness / self.threshold[..., None]

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped the training before every run finished."""
        return bool(np.any(self.interrupted_at >= 0))

    @property
    def steps(self) -> np.ndarray:
        """``(steps + 1,)``: step index of each loss entry."""
        return np.arange(self.loss.shape[-1])

    @property
    def initial_sharpness(self) -> np.ndarray:
        """``lambda_0``, shape ``(W, R, S)``."""
        return self.sharpness[..., 0]

    @property
    def c(self) -> np.ndarray:
        """Normalised learning rate ``c = lr * lambda_0``, shape ``(W, R, S)``."""
        return self.lr * self.initial_sharpness

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
        extra = {f"params_{i}": p for i, p in enumerate(self.params)}
        s = self.spec
        np.savez_compressed(
            path, loss=self.loss, sharpness=self.sharpness, sharpness_steps=self.sharpness_steps,
            lr=self.lr, lr_axis=self.lr_axis, lr_is_normalized=self.lr_is_normalized, seed=self.seed,
            width=self.width, diverged=self.diverged, diverged_at=self.diverged_at,
            interrupted_at=self.interrupted_at, regime=self.regime(), c=self.c, widths=np.array(s.widths),
            activation=s.activation, param=s.param, bias=s.bias, loss_name=s.loss, init_scale=s.init_scale,
            batch_size=-1 if self.batch_size is None else self.batch_size, momentum=self.momentum,
            nesterov=self.nesterov, threshold=self.threshold, **extra,
        )
        return path

    def to_xarray(self) -> Any:
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


def _axis(value: Any, name: str) -> np.ndarray:
    arr = as_float_array(value, name)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D sequence, got shape {arr.shape}")
    arr = np.atleast_1d(arr)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 everywhere")
    return arr


def batch_order(seed: int, n_examples: int, batch_size: int, steps: int) -> np.ndarray:
    """The SGD example order of a seed: shape ``(steps, batch_size)``.

    Epoch permutations from ``numpy.random.default_rng(seed)`` are concatenated and cut
    into consecutive batches (a batch may straddle two epochs). The order depends only on
    the seed, so runs that share a seed see the same batches whatever their lr or width.
    """
    rng = np.random.default_rng(nonnegative_int(seed, "seed"))
    need = steps * batch_size
    epochs = -(-need // n_examples) if need else 0
    flat = np.concatenate([rng.permutation(n_examples) for _ in range(epochs)]) if epochs else np.zeros(0, np.int64)
    return np.ascontiguousarray(flat[:need].reshape(steps, batch_size), dtype=np.int64)


def train(
    spec: MLPSpec,
    X: Any,
    Y: Any,
    *,
    lr: Any = None,
    c: Any = None,
    steps: int,
    seeds: Any = (0,),
    widths: Any = None,
    sharpness_every: int = 10,
    batch_size: int | None = None,
    threads: int | None = None,
    lanczos_tol: float = TRAIN_LANCZOS_TOL,
    lanczos_max_iter: int = 100,
    divergence_factor: float = 1e12,
    progress: Callable[[int], Any] | None = None,
    initial_params: Any = None,
    momentum: float = 0.0,
    nesterov: bool = False,
) -> TrainingRuns:
    """Train a grid of MLPs (hidden width x learning rate x seed) at once, in C++ with OpenMP,
    by GD/SGD with optional heavy-ball or Nesterov momentum.

    Parameters
    ----------
    spec:
        The architecture (an :class:`MLPSpec`).
    X, Y:
        The training set, ``(N, d_in)`` and ``(N, d_out)`` (or labels for cross-entropy).
    lr, c:
        Exactly one: learning rates (scalar or 1-D), or normalised rates ``c = lr * lambda_0``
        (then each run gets ``lr = c / lambda_0`` with ``lambda_0`` its own initial sharpness).
    steps:
        Number of updates (>= 1).
    seeds:
        Initialisation seeds (:func:`init_params`); a seed also fixes the SGD batch order
        (:func:`batch_order`) and the Lanczos start vectors.
    widths:
        Optional hidden widths to sweep (every hidden layer gets the width); default: the
        spec's own widths.
    sharpness_every:
        Sample the sharpness every this many steps (at ``0, k, 2k, ...``); >= 1.
    batch_size:
        ``None``: full-batch gradient descent; else SGD with this batch size.
    threads:
        OpenMP threads over runs; every run is single-threaded, so results are identical for
        any thread count.
    lanczos_tol, lanczos_max_iter:
        Stopping rule of the sharpness eigensolves (see :func:`lanczos`); each warm-starts
        from the previous sample's top eigenvector (mixed with a seeded random vector).
    divergence_factor:
        A run diverges at the first step with loss not finite or above
        ``divergence_factor * (L_0 + 1)``; it stops there (loss NaN from that step on).
    progress:
        Optional callable, called with the number of finished run-steps so far, out of
        ``W * R * S * steps`` (a diverged run counts its skipped steps as finished): about every
        50 ms while training, from the calling thread, and once at the end. Use it for a progress
        bar (``sharpdyn mlp`` feeds a tqdm bar). An exception it raises stops the training and
        propagates.
    initial_params:
        Optional starting parameters instead of :func:`init_params`: ``(P,)`` for every run,
        or ``(R, P)`` one per entry of ``lr`` (for every seed); with ``lr`` only (not ``c`` or
        ``widths``). E.g. the final ``params`` of an earlier call, to continue its runs (with
        momentum the velocity restarts at zero).
    momentum:
        Heavy-ball momentum ``b`` in ``[0, 1)``, as ``torch.optim.SGD(lr, momentum=b)``
        (dampening 0, zero initial velocity ``v``): ``v <- b v + g``, ``theta <- theta - lr v``
        with ``g`` the (full-batch or mini-batch) gradient. ``0`` (default): plain GD/SGD, bit
        for bit the same as without this option. The edge of stability moves to
        ``(2 + 2b)/lr`` (:attr:`TrainingRuns.threshold`).
    nesterov:
        Nesterov's variant, as ``SGD(nesterov=True)``: ``theta <- theta - lr (g + b v)``;
        threshold ``2 (1 + b) / ((1 + 2b) lr)``.

    Ctrl-C (``KeyboardInterrupt``) stops every run within about 0.1 s (at its next step or
    Hessian-vector product) and returns what was done instead of raising, like
    :func:`sharpdyn.torch.train`: finished steps are kept, later entries are NaN, and
    :attr:`TrainingRuns.interrupted_at` says where each run stopped
    (:attr:`TrainingRuns.interrupted` is true). Check it before using the results.
    """
    if not isinstance(spec, MLPSpec):
        raise TypeError(f"spec must be an MLPSpec, got {type(spec).__name__}")
    if (lr is None) == (c is None):
        raise ValueError("give exactly one of lr (learning rates) or c (normalised learning rates)")
    axis = _axis(lr if c is None else c, "lr" if c is None else "c")
    steps = positive_int(steps, "steps")
    every = positive_int(sharpness_every, "sharpness_every")
    seed_list = [nonnegative_int(s, "seeds") for s in np.atleast_1d(np.asarray(seeds, dtype=object)).tolist()]
    if not seed_list:
        raise ValueError("seeds must not be empty")
    if len(set(seed_list)) != len(seed_list):
        raise ValueError("seeds must be distinct")
    if widths is None:
        specs = [spec]
    else:
        specs = [spec.with_hidden_width(w) for w in np.atleast_1d(np.asarray(widths, dtype=object)).tolist()]
    if widths is not None and spec.depth < 2:
        raise ValueError("widths: a network without hidden layers has no width to sweep")
    width_axis = np.array([s.widths[1] if s.depth > 1 else s.widths[-1] for s in specs], dtype=np.int64)
    x, y = _data(spec, X, Y)
    N = x.shape[0]
    bs = None if batch_size is None else positive_int(batch_size, "batch_size")
    if bs is not None and bs > N:
        raise ValueError(f"batch_size must be <= N = {N}, got {bs}")
    tol = positive_float(lanczos_tol, "lanczos_tol")
    max_iter = positive_int(lanczos_max_iter, "lanczos_max_iter")
    div = positive_float(divergence_factor, "divergence_factor")
    nthreads = threads_arg(threads)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    b = _momentum_array(momentum)
    if b.ndim != 0:
        raise ValueError(f"momentum must be a scalar in [0, 1), got shape {b.shape}")
    b = float(b)
    if not isinstance(nesterov, (bool, np.bool_)):
        raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
    nesterov = bool(nesterov)

    Wn, Rn, Sn = len(specs), axis.shape[0], len(seed_list)
    runs = Wn * Rn * Sn
    check_allocation(8 * product(runs, steps + 1) + 8 * product(runs, steps // every + 1)
                     + (16 * product(Sn, steps, bs) if bs is not None else 0)
                     + 8 * 3 * Rn * Sn * sum(sp.num_params for sp in specs), "steps",
                     hint=f"{runs} run(s) x {steps + 1} recorded steps; train fewer steps per call "
                          "(continue from the returned params) or fewer runs")
    inits = {(w, s): init_params(sp, seed) for w, sp in enumerate(specs) for s, seed in enumerate(seed_list)}
    start = None
    if initial_params is not None:
        if widths is not None or c is not None:
            raise ValueError("initial_params works with lr only (not with widths or c)")
        start = as_float_array(initial_params, "initial_params")
        if start.shape == (spec.num_params,):
            start = np.broadcast_to(start, (Rn, spec.num_params))
        if start.shape != (Rn, spec.num_params):
            raise ValueError(f"initial_params must have shape ({spec.num_params},) or ({Rn}, {spec.num_params}), "
                             f"got {start.shape}")
    lr_grid = np.empty((Wn, Rn, Sn))
    for w, sp in enumerate(specs):
        for s, seed in enumerate(seed_list):
            if c is None:
                lr_grid[w, :, s] = axis
            else:
                lam0 = MLP.from_spec(sp, params=inits[w, s]).sharpness(x, y, method="hvp", seed=seed)
                if not lam0 > 0:
                    raise ValueError(
                        f"c: initial sharpness of width {width_axis[w]}, seed {seed} is {lam0} <= 0; give lr instead"
                    )
                lr_grid[w, :, s] = axis / lam0

    net_index, init_list, lrs, run_seeds, order_index = [], [], [], [], []
    for w in range(Wn):
        for r in range(Rn):
            for s in range(Sn):
                net_index.append(w)
                init_list.append(inits[w, s] if start is None else np.ascontiguousarray(start[r], dtype=np.float64))
                lrs.append(lr_grid[w, r, s])
                run_seeds.append(seed_list[s])
                order_index.append(s)
    if bs is None:
        orders = np.zeros((0, 0, 0), dtype=np.int64)
    else:
        orders = np.stack([batch_order(seed, N, bs, steps) for seed in seed_list])
    loss, sharp, dvg, at, finals, stopped_at = _core.mlp_train(
        [sp._core_args() for sp in specs], np.asarray(net_index, dtype=np.int64), init_list,
        np.asarray(lrs, dtype=np.float64), np.asarray(run_seeds, dtype=np.int64), x, y, orders,
        np.asarray(order_index, dtype=np.int64), steps, every, 0 if bs is None else bs, max_iter, tol, div,
        nthreads, progress, b, nesterov,
    )
    shape = (Wn, Rn, Sn)
    params = tuple(
        np.stack(finals[w * Rn * Sn:(w + 1) * Rn * Sn]).reshape(Rn, Sn, -1) for w in range(Wn)
    )
    return TrainingRuns(
        loss=loss.reshape(shape + (steps + 1,)), sharpness=sharp.reshape(shape + (-1,)),
        sharpness_steps=np.arange(0, steps + 1, every), lr=lr_grid, lr_axis=axis,
        lr_is_normalized=c is not None, seed=np.asarray(seed_list, dtype=np.int64), width=width_axis,
        diverged=dvg.reshape(shape).astype(bool), diverged_at=at.reshape(shape), spec=spec,
        batch_size=bs, params=params, interrupted_at=stopped_at.reshape(shape), momentum=b, nesterov=nesterov,
        threshold=heavy_ball_threshold(lr_grid, b, nesterov=nesterov),
    )
