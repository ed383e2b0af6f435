"""sharpdyn: sharpness dynamics of neural-network training.

Submodules (imported on first use):

- :mod:`sharpdyn.uv` -- the UV model: function-space map, parameter-space GD, fixed points.
- :mod:`sharpdyn.regimes` -- regime labels (catapult, edge of stability, ...) for any run.
- :mod:`sharpdyn.scan` -- phase scans over grids of learning rates and initialisations.
- :mod:`sharpdyn.chaos` -- orbit diagrams, periods, Lyapunov exponents, period-doubling points.
- :mod:`sharpdyn.cubic` -- the cubic map of GD on a sub-quadratic loss, and its relation to the UV model.
- :mod:`sharpdyn.momentum` -- heavy-ball momentum in the UV model and the quadratic/cubic maps.
- :mod:`sharpdyn.spectra` -- power spectra of any 1-D series (sharpness, loss).
- :mod:`sharpdyn.divergence` -- when a run has diverged: every divergence rule, in one place.
- :mod:`sharpdyn.mlp` -- small MLPs with exact dense Hessians in C++.
- :mod:`sharpdyn.eigen` -- the eigensolver result shared by every Lanczos (``EigenResult``).
- :mod:`sharpdyn.torch` -- HVP Lanczos sharpness of PyTorch models (``pip install sharpdyn[torch]``).
- :mod:`sharpdyn.data` -- MNIST / Fashion-MNIST / CIFAR-10 / digits / synthetic data.
- :mod:`sharpdyn.bifurcation` -- real-network bifurcation diagrams (late-time sharpness vs learning rate).
- :mod:`sharpdyn.attractor` -- the period of a measured late-time series.
- :mod:`sharpdyn.early` -- the early sharpness reduction (lambda_min / lambda_0 and its step).
- :mod:`sharpdyn.uv_fit` -- the UV model fitted to a measured oscillation or a whole diagram.
- :mod:`sharpdyn.reproduce` -- the paper's evidence in one call, claim by claim (``sharpdyn reproduce``).

Conventions: MSE is ``L = (1/2N) sum_i ||f(x_i) - y_i||^2``; ``c = lr * lambda_0`` is the
normalised learning rate, ``lambda_0`` the NTK at initialisation (``ntk0``) in the UV model and
its scans, the top Hessian eigenvalue at initialisation (``sharpness0``) for networks.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {
    "uv", "regimes", "fixed_points", "scan", "chaos", "mlp", "torch", "data", "figures",
    "spectra", "parameterization", "validation", "eigen", "cubic", "momentum", "bifurcation", "attractor", "early",
    "uv_fit", "reproduce",
    "divergence",
}

__all__ = ["__version__", *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
