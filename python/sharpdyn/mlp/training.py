"""Training many MLPs at once (:func:`train`): GD/SGD over a grid of hidden widths, learning
rates and seeds, in C++ with OpenMP, with optional heavy-ball or Nesterov momentum
(``torch.optim.SGD``'s convention), a progress callback, and Ctrl-C returning what was done.
The SGD example order of a seed is :func:`batch_order`."""

from __future__ import annotations

from typing import Callable, cast

import numpy as np
import numpy.typing as npt

from .. import _core
from ..momentum import _momentum_array, heavy_ball_threshold
from ..validation import (
    as_float_array,
    check_allocation,
    nonnegative_int,
    positive_float,
    positive_int,
    product,
    threads_arg,
)
from .network import MLP
from .results import TrainingRuns
from .spec import MLPSpec, check_data, init_params

__all__ = ["TRAIN_LANCZOS_TOL", "batch_order", "train"]

TRAIN_LANCZOS_TOL = 1e-7
"""Looser bound for the many sharpness samples of :func:`train` (the Ritz value error is
of the order of the squared residual over the spectral gap, far below 1e-7)."""


def _axis(value: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    arr = as_float_array(value, name)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D sequence, got shape {arr.shape}")
    arr = np.atleast_1d(arr)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 everywhere")
    return arr


def batch_order(seed: int, n_examples: int, batch_size: int, steps: int) -> npt.NDArray[np.int64]:
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
    X: npt.ArrayLike,
    Y: npt.ArrayLike,
    *,
    lr: npt.ArrayLike | None = None,
    c: npt.ArrayLike | None = None,
    steps: int,
    seeds: npt.ArrayLike = (0,),
    widths: npt.ArrayLike | None = None,
    sharpness_every: int = 10,
    batch_size: int | None = None,
    threads: int | None = None,
    lanczos_tol: float = TRAIN_LANCZOS_TOL,
    lanczos_max_iter: int = 100,
    divergence_factor: float = 1e12,
    progress: Callable[[int], object] | None = None,
    initial_params: npt.ArrayLike | None = None,
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
        Stopping rule of the sharpness eigensolves (C++ Lanczos on exact HVPs): stop once the
        top Ritz pair's residual is at most ``lanczos_tol`` times the largest Ritz value
        magnitude (its relative residual whenever the top eigenvalue is also the largest in
        magnitude), or after ``lanczos_max_iter`` products. Each warm-starts from the previous
        sample's top eigenvector (mixed with a seeded random vector).
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
    axis = _axis(cast("npt.ArrayLike", lr if c is None else c), "lr" if c is None else "c")
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
    x, y = check_data(spec, X, Y)
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
    b_array = _momentum_array(momentum)
    if b_array.ndim != 0:
        raise ValueError(f"momentum must be a scalar in [0, 1), got shape {b_array.shape}")
    b = float(b_array)
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
