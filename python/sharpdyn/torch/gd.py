"""The one gradient-descent loop of the torch layer.

:class:`GradientDescent` runs ``theta <- theta - lr_t * grad L_batch(theta)`` (or a torch
optimizer's step) on a model **in place** and yields a :class:`GDStep` at every step
``t = 0..steps`` *before* that step's update, with the gradient of the step's batch in each
parameter's ``.grad``: the caller records, measures or propagates a tangent vector there, and
the update follows when it asks for the next step. :func:`sharpdyn.torch.train` and
:func:`sharpdyn.torch.lyapunov_exponent` both drive it, so they take the same steps and stop
by the same divergence rule (:func:`sharpdyn.divergence.loss_bound`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from ..divergence import LOSS_DIVERGENCE_FACTOR, loss_bound, loss_diverged
from .operators import batches_of, model_mode

__all__ = ["GDStep", "GradientDescent"]


@dataclass(frozen=True)
class GDStep:
    """The state of a gradient-descent run at step ``t``, before its update.

    Attributes
    ----------
    t:
        The step (0 the initial parameters).
    lr:
        The learning rate the update of step ``t`` uses.
    loss:
        Loss of the step's batch (the mean over its chunks, weighted by their sizes).
    outputs:
        The model's outputs on the batch (detached, the chunks concatenated), shape
        ``(batch, ...)``.
    batch:
        The batch as ``batch_at(t)`` gave it.
    diverged:
        Whether ``loss`` is out of the run's bound (:func:`~sharpdyn.divergence.loss_diverged`
        against :func:`~sharpdyn.divergence.loss_bound` of the step-0 loss); the run stops here.
    """

    t: int
    lr: float
    loss: float
    outputs: torch.Tensor
    batch: Any
    diverged: bool


class GradientDescent:
    """Iterate gradient descent on ``model`` in place; see the module docstring.

    Parameters
    ----------
    model:
        The network; its parameters that require gradients are trained.
    loss_fn:
        Callable ``loss_fn(output, target)`` giving the mean loss of a chunk.
    batch_at:
        ``batch_at(t)``: step ``t``'s batch, a pair ``(x, y)`` or a list of pairs (on the
        model's device and dtype), cut into chunks of at most ``chunk_size`` examples
        (:func:`~sharpdyn.torch.operators.batches_of`). The batch loss is
        ``sum_c loss_fn(model(x_c), y_c) * n_c / n`` over its chunks ``c``.
    steps:
        Number of updates; steps ``0..steps`` are yielded (no update after the last).
    lr_at:
        ``lr_at(t)``: the learning rate of step ``t``'s update.
    chunk_size:
        Largest number of examples per forward/backward pass (``None``: the pairs as given).
    mode:
        ``"train"``/``"eval"``/``None`` (the model's current mode) for the forward passes.
    divergence_factor:
        The run stops at the first step whose loss is not finite or exceeds
        ``divergence_factor * max(L_0, 1)`` (that step is yielded with ``diverged=True``).
    optimizer:
        ``None`` for plain steps ``p -= lr_t * p.grad``; else a torch optimizer over the
        parameters, whose groups' ``lr`` is set to ``lr_at(t)`` before step ``t`` is yielded.
    progress:
        Called with ``t + 1`` after the update of step ``t``.

    Attributes
    ----------
    t:
        The step in progress (the last one yielded, or the one being computed), for a caller
        that catches a ``KeyboardInterrupt``.
    """

    def __init__(self, model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 batch_at: Callable[[int], Any], *, steps: int, lr_at: Callable[[int], float],
                 chunk_size: int | None = None, mode: str | None = None,
                 divergence_factor: float = LOSS_DIVERGENCE_FACTOR,
                 optimizer: torch.optim.Optimizer | None = None,
                 progress: Callable[[int], Any] | None = None) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.batch_at = batch_at
        self.steps = steps
        self.lr_at = lr_at
        self.chunk_size = chunk_size
        self.mode = mode
        self.divergence_factor = divergence_factor
        self.optimizer = optimizer
        self.progress = progress
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.t = 0

    def clear_gradients(self) -> None:
        """Drop the ``.grad`` of every trained parameter (call when done)."""
        for p in self.params:
            p.grad = None

    def _loss_and_gradient(self, batch: Any) -> tuple[float, torch.Tensor]:
        """Batch loss, with its gradient accumulated into the parameters' ``.grad``."""
        self.clear_gradients()
        chunks = batches_of(batch, self.chunk_size)
        n = sum(int(x.shape[0]) for x, _ in chunks)
        total = 0.0
        outs = []
        with model_mode(self.model, self.mode):
            for xc, yc in chunks:
                out = self.model(xc)
                value = self.loss_fn(out, yc) * (xc.shape[0] / n)
                value.backward()
                total += float(value.detach())
                outs.append(out.detach())
        return total, torch.cat(outs)

    def __iter__(self) -> Iterator[GDStep]:
        bound = None
        for t in range(self.steps + 1):
            self.t = t
            batch = self.batch_at(t)
            total, outputs = self._loss_and_gradient(batch)
            if bound is None:
                bound = loss_bound(total, self.divergence_factor)
            diverged = loss_diverged(total, bound)
            eta = self.lr_at(t)
            if self.optimizer is not None and not diverged:
                for group in self.optimizer.param_groups:
                    group["lr"] = eta
            yield GDStep(t=t, lr=eta, loss=total, outputs=outputs, batch=batch,
                         diverged=diverged)
            if diverged or t == self.steps:
                return
            if self.optimizer is not None:
                self.optimizer.step()
            else:
                with torch.no_grad():
                    for p in self.params:
                        if p.grad is not None:
                            p.sub_(eta * p.grad)
            if self.progress is not None:
                self.progress(t + 1)
