"""Dense float64 references for the torch tests: Hessians and Jacobians by
torch.autograd.functional over the flat parameter vector (independent of sharpdyn's HVPs)."""

from __future__ import annotations

import torch
from torch.func import functional_call


def _flat_fn(model, fn):
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = [p.detach() for n, p in model.named_parameters() if p.requires_grad]
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}

    def call(flat, x):
        parts = [t.view(s) for t, s in zip(torch.split(flat, sizes), shapes)]
        return functional_call(model, {**buffers, **dict(zip(names, parts))}, (x,))

    return torch.cat([p.reshape(-1) for p in params]).clone(), call


def dense_hessian(model, loss_fn, X, Y) -> torch.Tensor:
    """Hessian of ``loss_fn(model(X), Y)`` w.r.t. all trainable parameters, (P, P)."""
    flat, call = _flat_fn(model, None)
    def fn(th):
        return loss_fn(call(th, X), Y)

    try:  # vmap'ed rows are much faster; some modules (GroupNorm) do not support vmap
        return torch.autograd.functional.hessian(fn, flat, vectorize=True)
    except RuntimeError:
        return torch.autograd.functional.hessian(fn, flat)


def dense_jacobian(model, X) -> torch.Tensor:
    """Jacobian of the flattened outputs ``model(X)`` (N*K,) w.r.t. the parameters, (N*K, P)."""
    flat, call = _flat_fn(model, None)
    return torch.autograd.functional.jacobian(lambda th: call(th, X).reshape(-1), flat, vectorize=True)


def reference_mse(output, target):
    return 0.5 * ((output - target) ** 2).sum() / output.shape[0]

torch.set_num_threads(1)  # the CI machine has 2 shared cores: avoid oversubscribed spinning
