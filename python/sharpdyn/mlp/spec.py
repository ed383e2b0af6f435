"""The architecture of an MLP (:class:`MLPSpec`), its parameterizations, its initial parameters,
and the validation of a training set ``(X, Y)`` against it.

Parameterizations (``param``), with ``fan_in = n_a``, ``fan_out = n_{a+1}``,
``sigma = init_scale``, multipliers ``m_a`` and initial weights ``W_a ~ N(0, s_a^2)``:

- ``"sp"`` (standard): every layer ``m_a = 1``, ``s_a^2 = sigma^2 / fan_in``.
- ``"ntk"`` (the NTK parameterization of Jacot et al.): every layer
  ``m_a = sigma / sqrt(fan_in)``, ``s_a = 1``. Not the same as the UV model's width exponent
  ``s = 0`` (:mod:`sharpdyn.parameterization`, named ``"sp"`` there).
- ``"mup"``: input layer ``m_0 = sqrt(fan_out)``, ``s_0^2 = sigma^2 / (fan_in * fan_out)``;
  hidden layers ``m_a = 1``, ``s_a^2 = sigma^2 / fan_in``; output layer
  ``m_{L-1} = 1 / sqrt(fan_in)``, ``s_{L-1}^2 = sigma^2 / fan_in``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ..validation import as_float_array, check_allocation, nonnegative_int, one_of, positive_float, positive_int

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "PARAMETERIZATIONS",
    "MLPSpec",
    "check_data",
    "check_inputs",
    "check_targets",
    "init_params",
]

ACTIVATIONS: tuple[str, ...] = ("linear", "tanh", "relu", "gelu")
PARAMETERIZATIONS: tuple[str, ...] = ("sp", "ntk", "mup")
LOSSES: tuple[str, ...] = ("mse", "ce")

FloatArray = npt.NDArray[np.float64]
CoreArgs = tuple[list[int], int, bool, list[float], int]
"""What every ``_core.mlp_*`` function takes first: widths, activation index, bias,
multipliers, loss index."""


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
        widths: object = self.widths
        if isinstance(widths, np.ndarray) and widths.ndim == 1:
            widths = tuple(widths.tolist())
        if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
            raise TypeError(f"widths must be a sequence of positive integers, got {widths!r}")
        ws = tuple(positive_int(w, f"widths[{i}]") for i, w in enumerate(widths))
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

    def _core_args(self) -> CoreArgs:
        return (list(self.widths), ACTIVATIONS.index(self.activation), bool(self.bias),
                list(self.multipliers), LOSSES.index(self.loss))


def init_params(spec: MLPSpec, seed: int = 0) -> FloatArray:
    """Initial flat parameters (PyTorch order: ``W_0, b_0, W_1, b_1, ...``), float64, shape ``(P,)``.

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


def check_inputs(spec: MLPSpec, X: npt.ArrayLike) -> FloatArray:
    """``X`` as a C-contiguous float64 array of shape ``(N, d_in)`` (``(N,)`` accepted when
    ``d_in = 1``); ``ValueError``/``TypeError`` naming ``X`` otherwise."""
    x = as_float_array(X, "X")
    if x.ndim == 1 and spec.widths[0] == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != spec.widths[0]:
        raise ValueError(f"X must have shape (N, {spec.widths[0]}), got {x.shape}")
    if x.shape[0] < 1:
        raise ValueError("X must hold at least one example")
    return np.ascontiguousarray(x, dtype=np.float64)


def check_targets(spec: MLPSpec, Y: npt.ArrayLike, n: int) -> FloatArray:
    """``Y`` as float64 ``(n, d_out)`` (``(n,)`` accepted when ``d_out = 1``); for
    cross-entropy, integer class labels ``(n,)`` become one-hot rows and probabilities must be
    non-negative."""
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


def check_data(spec: MLPSpec, X: npt.ArrayLike, Y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """``(x, y)`` validated by :func:`check_inputs` and :func:`check_targets`."""
    x = check_inputs(spec, X)
    return x, check_targets(spec, Y, x.shape[0])

