"""Small multilayer perceptrons with exact dense Hessians, computed in C++.

A network of widths ``[d_in, h_1, ..., h_{L-1}, d_out]`` (``L`` weight layers)::

    h_0 = x,   z_{a+1} = m_a W_a h_a + b_a,   h_{a+1} = phi(z_{a+1}),   f = z_L

with ``phi`` one of ``"linear"``, ``"tanh"``, ``"relu"``, ``"gelu"`` (exact, erf-based) and
fixed multipliers ``m_a`` that carry the parameterization. Weights are drawn
``W_a ~ N(0, s_a^2)`` (biases start at 0). With ``fan_in = n_a``, ``fan_out = n_{a+1}`` and
``sigma = init_scale``:

- ``"sp"`` (standard): every layer ``m_a = 1``, ``s_a^2 = sigma^2 / fan_in``.
- ``"ntk"`` (the NTK parameterization): every layer ``m_a = sigma / sqrt(fan_in)``, ``s_a = 1``.
  Only here: the UV model's and torch models' width exponent ``s = 0``
  (:mod:`sharpdyn.parameterization`) is called ``"sp"``, never ``"ntk"``.
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
``csrc/core/mlp.hpp``), :class:`HessianOperator` applies it matrix-free (SciPy interop), the
top eigenvalues come from Lanczos with full reorthogonalisation (:func:`lanczos`, returning a
:class:`~sharpdyn.eigen.EigenResult`), the full spectrum from LAPACK
(``numpy.linalg.eigvalsh``). :func:`train` runs many GD/SGD runs at once with OpenMP and
records loss and sharpness, optionally with heavy-ball or Nesterov momentum
(``torch.optim.SGD``'s convention).

Modules, imported in one direction (``spec`` <- ``network`` <- ``results`` <- ``training``):

- :mod:`.spec` -- :class:`MLPSpec`, the parameterizations, :func:`init_params`, validation of
  ``X`` / ``Y``;
- :mod:`.network` -- :class:`MLP` (forward, loss, gradient, HVP, dense Hessian, spectra),
  :class:`HessianOperator`, :func:`lanczos`;
- :mod:`.training` -- :func:`train`, :func:`batch_order`;
- :mod:`.results` -- :class:`TrainingRuns`.
"""

from __future__ import annotations

from ..eigen import EigenResult
from .network import DEFAULT_LANCZOS_TOL, MLP, HessianOperator, lanczos
from .results import TrainingRuns
from .spec import ACTIVATIONS, LOSSES, PARAMETERIZATIONS, MLPSpec, check_data, check_inputs, check_targets, init_params
from .training import TRAIN_LANCZOS_TOL, batch_order, train

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_LANCZOS_TOL",
    "LOSSES",
    "PARAMETERIZATIONS",
    "TRAIN_LANCZOS_TOL",
    "EigenResult",
    "HessianOperator",
    "MLP",
    "MLPSpec",
    "TrainingRuns",
    "batch_order",
    "check_data",
    "check_inputs",
    "check_targets",
    "init_params",
    "lanczos",
    "train",
]
