"""Networks and data shared by the network benchmarks (hvp, eig, tracking).

The MLP 784-512-512-10 (tanh), a Myrtle-5 CNN and a small ResNet with BatchNorm, MSE with
one-hot targets, float32 on the CPU. Data: ``n`` real MNIST examples when the suite gets
``--mnist DIR``, else the scikit-learn digits (8x8, shipped with scikit-learn), so that the
suite needs no download. Trained states: full-batch GD at lr = 1.9 / lambda_0 (the edge of
stability, where sharpness is tracked).
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from sharpdyn import data
from sharpdyn.torch import HessianOperator, lanczos, models

NETS = ("mlp", "cnn", "resnet")


def examples(name: str, quick: bool) -> int:
    """Examples per network: 100 quick; full: 1,000 for the MLP, 256 for the CNN and the ResNet
    (their products cost ~30x the MLP's per example on a CPU core)."""
    if quick:
        return 100
    return 1000 if name == "mlp" else 256


def load(n: int, mnist: Path | None) -> tuple[torch.Tensor, torch.Tensor, str]:
    """``(X, Y, source)``: images ``(n, 1, H, W)`` float32 and one-hot ``(n, 10)``."""
    if mnist is not None:
        X, Y = data.load("mnist", root=mnist, n=n, as_tensor=True)
        return X, Y, "MNIST"
    X, Y = data.load("digits", n=n, as_tensor=True)
    return X, Y, "digits (8x8)"


def build(name: str, X: torch.Tensor, *, quick: bool, seed: int = 0) -> tuple[torch.nn.Module, str]:
    """The network ``name`` for inputs like ``X`` and its label (with the parameter count)."""
    torch.manual_seed(seed)
    if name == "mlp":
        width = 32 if quick else 512
        model = models.fcn(X[0].numel(), 10, depth=3, width=width, activation="tanh")
        label = f"MLP {X[0].numel()}-{width}-{width}-10 tanh"
    elif name == "cnn":
        width = 4 if quick else 8
        model = models.myrtle_cnn(X.shape[1], 10, width=width, depth=5, activation="relu")
        label = f"Myrtle-5 CNN width {width}"
    elif name == "resnet":
        width = 2 if quick else 4
        model = models.resnet(X.shape[1], 10, width=width, blocks=(1, 1), norm="batchnorm", activation="relu")
        model.eval()  # running statistics: a fixed function of the parameters, as PyHessian evaluates it
        label = f"ResNet (BatchNorm, eval mode) width {width}"
    else:
        raise ValueError(f"unknown network {name!r}; expected one of {NETS}")
    n_params = sum(p.numel() for p in model.parameters())
    return model, f"{label} ({n_params:,} parameters)"


def reference(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Top-``k`` eigenvalues in float64 (Lanczos, relative residual 1e-9) on a copy."""
    m64 = copy.deepcopy(model).double()
    op = HessianOperator(m64, "mse", (X.double(), Y.double()), device="cpu", cache_graph=True)
    res = lanczos(op, k=k, tol=1e-9, max_iter=400)
    assert res.converged.all(), "reference Lanczos did not converge"
    return torch.as_tensor(res.eigenvalues)


def train_to_eos(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, steps: int, lam0: float) -> None:
    """``steps`` of full-batch GD at lr = 1.9 / lam0, in place (MSE)."""
    from sharpdyn.torch.losses import mse

    lr = 1.9 / lam0
    params = list(model.parameters())
    for _ in range(steps):
        grads = torch.autograd.grad(mse(model(X), Y), params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
