"""Independent references for the MLP tests: the network and losses written directly in
torch (float64) from the documented formulas, and the digits data set."""

from __future__ import annotations

import numpy as np
import pytest
import torch

ACT = {
    "linear": lambda z: z,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "gelu": lambda z: z * 0.5 * (1.0 + torch.erf(z / np.sqrt(2.0))),
}


def unflatten(theta: torch.Tensor, widths, bias: bool):
    """Split flat parameters (W_0, b_0, W_1, b_1, ...) into per-layer tensors."""
    out, off = [], 0
    for a in range(len(widths) - 1):
        n_in, n_out = widths[a], widths[a + 1]
        W = theta[off:off + n_in * n_out].reshape(n_out, n_in)
        off += n_in * n_out
        b = None
        if bias:
            b = theta[off:off + n_out]
            off += n_out
        out.append((W, b))
    assert off == theta.numel()
    return out


def forward(theta, X, widths, activation, bias, multipliers):
    h = torch.as_tensor(X, dtype=torch.float64)
    layers = unflatten(theta, widths, bias)
    for a, (W, b) in enumerate(layers):
        z = multipliers[a] * (h @ W.T)
        if b is not None:
            z = z + b
        h = ACT[activation](z) if a < len(layers) - 1 else z
    return h


def loss_fn(spec, X, Y):
    """theta -> loss of ``spec`` on (X, Y) (Y: float targets, one-hot/probabilities for CE)."""
    Yt = torch.as_tensor(Y, dtype=torch.float64)
    mult = spec.multipliers

    def loss(theta):
        F = forward(theta, X, spec.widths, spec.activation, spec.bias, mult)
        if spec.loss == "mse":
            return 0.5 * ((F - Yt) ** 2).sum() / F.shape[0]
        return -(Yt * torch.log_softmax(F, dim=1)).sum(dim=1).mean()

    return loss


def torch_hessian(spec, params, X, Y) -> np.ndarray:
    return torch.autograd.functional.hessian(loss_fn(spec, X, Y), torch.as_tensor(params)).numpy()


def digits(n: int = 256, *, classes: int = 10):
    """First ``n`` scikit-learn digits: per-sample standardised 8x8 images (64 features)
    and one-hot targets (MSE) of the first ``classes`` classes."""
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = d.target < classes
    X = d.data[keep][:n].astype(np.float64)
    X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    Y = np.eye(classes)[d.target[keep][:n]]
    return X, Y


@pytest.fixture(autouse=True, scope="module")
def torch_one_thread():
    """Reference computations are tiny: one torch thread is faster than several and does not
    collapse when the CI machine is oversubscribed. Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
