"""Losses written out explicitly (no ``F.mse_loss``: it breaks ``jvp(grad)`` in torch 2.13).

Every loss is a *mean over examples*, so that a dataset split into chunks gives the
full-batch loss as the size-weighted sum of the chunk losses.
"""

from __future__ import annotations

from typing import Callable

import torch

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``L = (1/2N) sum_i ||f(x_i) - y_i||^2`` (Cohen et al.; the library's convention).

    ``output`` and ``target`` have shape ``(N, ...)``; the squared error is summed over all
    non-batch axes (classes) and averaged over the ``N`` examples.
    """
    diff = output - target.reshape(output.shape).to(output.dtype)
    return 0.5 * (diff * diff).sum() / output.shape[0]


def mse_per_class(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``L = (1/2NK) sum_i ||f(x_i) - y_i||^2``: half the mean over examples *and* the ``K``
    output components (the convention of Kalra et al.'s code). Its Hessian is that of
    :func:`mse` divided by ``K``."""
    k = output[0].numel()
    return mse(output, target) / k


def cross_entropy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean softmax cross-entropy over examples. ``output``: logits ``(N, K)``; ``target``:
    class indices ``(N,)`` (integer) or class probabilities / one-hot ``(N, K)``."""
    logp = torch.log_softmax(output, dim=-1)
    if target.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
        return -logp.gather(-1, target.long().reshape(-1, 1)).sum() / output.shape[0]
    return -(target.to(output.dtype) * logp).sum() / output.shape[0]


LOSSES: dict[str, LossFn] = {
    "mse": mse,
    "mse_per_class": mse_per_class,
    "cross_entropy": cross_entropy,
    "ce": cross_entropy,
}


def get_loss(loss: str | LossFn) -> LossFn:
    """A loss by name (``"mse"``, ``"mse_per_class"``, ``"cross_entropy"``/``"ce"``) or a
    callable ``loss(output, target) -> scalar`` that averages over examples."""
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss.lower() in LOSSES:
        return LOSSES[loss.lower()]
    raise ValueError(f"loss must be one of {sorted(LOSSES)} or a callable, got {loss!r}")
