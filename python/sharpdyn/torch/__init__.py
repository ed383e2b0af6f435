"""Sharpness of PyTorch networks: exact Hessian-vector products, Lanczos, training with
sharpness tracking, Lyapunov exponents of GD, sweeps (``pip install sharpdyn[torch]``).

Main entry points:

- :func:`hessian_eigenvalues` -- top-k Hessian eigenvalues of any ``nn.Module`` + loss + data.
- :class:`HessianOperator`, :class:`GaussNewtonOperator` -- matrix-free operators (SciPy interop).
- :func:`train` / :class:`SharpnessTracker` -- GD/SGD with sharpness every k steps; a run's
  record is a :class:`TrainingRun` (its loop, :class:`~sharpdyn.torch.gd.GradientDescent`, is
  shared with :func:`lyapunov_exponent`).
- :func:`stability_threshold`, :func:`preconditioned_sharpness`, :func:`minibatch_sharpness` --
  momentum / Adam / RMSprop / mini-batch SGD at their own edges of stability (:mod:`.optimizers`).
- :func:`lyapunov_exponent` -- running largest finite-time Lyapunov exponent of GD.
- :func:`hutchinson_trace`, :func:`spectral_density` -- trace and SLQ spectral density.
- :mod:`.models` -- FCN, Myrtle CNN, small ResNet, small transformer in SP / muP.
- :func:`sweep` -- grids over learning rate / width / seed, optionally on a Dask cluster.
"""

from __future__ import annotations

try:
    import torch as _torch  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "sharpdyn.torch needs PyTorch: install it with `pip install sharpdyn[torch]`"
    ) from exc

from ..eigen import EigenResult
from .density import SpectralDensity, TraceEstimate, hutchinson_trace, spectral_density
from .lanczos import hessian_eigenvalues, lanczos
from .losses import cross_entropy, get_loss, mse, mse_per_class
from .lyapunov import LyapunovResult, lyapunov_exponent
from .operators import GaussNewtonOperator, HessianOperator, batches_of
from .optimizers import (
    MinibatchSharpness,
    PreconditionedHessianOperator,
    make_optimizer,
    minibatch_sharpness,
    preconditioned_sharpness,
    stability_threshold,
)
from .train import SharpnessTracker, TrainConfig, TrainingRun, train

__all__ = [
    "EigenResult",
    "GaussNewtonOperator",
    "HessianOperator",
    "LyapunovResult",
    "MinibatchSharpness",
    "PreconditionedHessianOperator",
    "SharpnessTracker",
    "SpectralDensity",
    "TraceEstimate",
    "TrainConfig",
    "TrainingRun",
    "batches_of",
    "cross_entropy",
    "get_loss",
    "hessian_eigenvalues",
    "hutchinson_trace",
    "lanczos",
    "lyapunov_exponent",
    "make_optimizer",
    "minibatch_sharpness",
    "mse",
    "mse_per_class",
    "preconditioned_sharpness",
    "spectral_density",
    "stability_threshold",
    "sweep",
    "train",
]


def __getattr__(name: str):
    if name == "sweep":  # needs dask/xarray only when called
        from .sweep import sweep

        return sweep
    if name == "models":
        import importlib

        return importlib.import_module(f"{__name__}.models")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
