"""Sweeps of :func:`~sharpdyn.torch.train` over learning rates, widths and seeds, run locally
or fanned out to a Dask distributed cluster, merged into one labelled ``xarray.Dataset``.

On a GPU cluster start one worker per GPU with only that GPU visible (e.g. dask-cuda's
``LocalCUDACluster``, or ``CUDA_VISIBLE_DEVICES`` per worker): each task then trains on
``cuda`` (its worker's GPU) when CUDA is available, else on the CPU.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..validation import as_float_array

_BUILD_LOCK = threading.Lock()
"""Seeding torch's global generator and building a model must not interleave between the
threads of one worker process (a threaded Dask worker would otherwise mix the seeds)."""


@dataclass(frozen=True)
class RunSpec:
    """One point of a sweep: ``build(width)`` is called after ``torch.manual_seed(seed)``."""

    lr: float
    width: int
    seed: int


def run_one(spec: RunSpec, build: Callable[[int], Any], data: Any, train_kwargs: dict, device: Any = None) -> dict:
    """Build, move to ``device`` (``None``: CUDA if available) and train one model; returns
    the trajectory's arrays plus its regime name."""
    import torch

    from .operators import resolve_device
    from .train import train

    with _BUILD_LOCK:
        torch.manual_seed(spec.seed)
        model = build(spec.width)
    dev = resolve_device(device)
    dtype = next(model.parameters()).dtype
    model = model.to(dev)
    X, Y = data
    X = torch.as_tensor(X).to(dev, dtype)
    Y = torch.as_tensor(Y)
    Y = Y.to(dev, dtype) if Y.is_floating_point() else Y.to(dev)
    tr = train(model, (X, Y), lr=spec.lr, seed=spec.seed, **train_kwargs)
    out: dict[str, Any] = tr.arrays()  # the arrays plus the regime name
    out["regime"] = tr.regime()
    return out


def sweep(
    build: Callable[[int], Any],
    data: Any,
    *,
    lrs: Sequence[float],
    widths: Sequence[int] = (0,),
    seeds: Sequence[int] = (0,),
    steps: int,
    client: Any = None,
    device: Any = None,
    **train_kwargs: Any,
):
    """Train one model per ``(lr, width, seed)`` and merge the runs.

    Parameters
    ----------
    build:
        ``build(width) -> nn.Module`` (must pickle for a multi-process cluster: a module-level
        function or a ``functools.partial`` of :mod:`sharpdyn.torch.models` builders).
    data:
        ``(X, Y)``; scattered once to the workers.
    lrs, widths, seeds:
        The grid (``widths=(0,)`` when ``build`` ignores it).
    steps, train_kwargs:
        Passed to :func:`sharpdyn.torch.train` (``sharpness_every``, ``loss``, ...).
    client:
        A ``dask.distributed.Client``; ``None`` runs sequentially here.
    device:
        Device of every run (``None``: CUDA if the worker sees one, else CPU).

    Returns
    -------
    xarray.Dataset
        Dims ``lr, width, seed, step`` (``loss``, ``accuracy``, ``lyapunov``) and
        ``sharpness_step`` (``sharpness``, NaN where a run had diverged), plus ``regime``,
        ``diverged``, ``diverged_at`` per run. Identical whether run locally or on a cluster.
    """
    import xarray as xr

    lr_values = as_float_array(lrs, "lrs").reshape(-1)
    if np.any(lr_values <= 0):
        raise ValueError("lrs must be > 0")
    widths = [int(w) for w in widths]
    seeds = [int(s) for s in seeds]
    specs = [RunSpec(float(lr), w, s) for lr, w, s in itertools.product(lr_values, widths, seeds)]
    kwargs = {"steps": steps, **train_kwargs}
    if client is None:
        results = [run_one(spec, build, data, kwargs, device) for spec in specs]
    else:
        data_future = client.scatter(data, broadcast=True)
        futures = [client.submit(run_one, spec, build, data_future, kwargs, device, pure=False) for spec in specs]
        results = client.gather(futures)

    every = kwargs.get("sharpness_every", 10)
    sharp_steps = np.unique(np.r_[np.arange(0, steps + 1, every), steps])
    shape = (len(lr_values), len(widths), len(seeds))

    def grid(key, dtype=float):
        return np.array([r[key] for r in results], dtype=dtype).reshape(shape + np.shape(results[0][key]))

    sharp = np.full(shape + (len(sharp_steps),), np.nan)
    for i, r in enumerate(results):
        pos = np.searchsorted(sharp_steps, r["sharpness_steps"])
        sharp.reshape(-1, len(sharp_steps))[i, pos] = r["sharpness"]
    dims = ("lr", "width", "seed")
    return xr.Dataset(
        {
            "loss": (dims + ("step",), grid("loss")),
            "accuracy": (dims + ("step",), grid("accuracy")),
            "lyapunov": (dims + ("step",), grid("lyapunov")),
            "sharpness": (dims + ("sharpness_step",), sharp),
            "regime": (dims, np.array([r["regime"] for r in results]).reshape(shape)),
            "diverged": (dims, grid("diverged", bool)),
            "diverged_at": (dims, grid("diverged_at", np.int64)),
        },
        coords={"lr": lr_values, "width": widths, "seed": seeds, "step": np.arange(steps + 1),
                "sharpness_step": sharp_steps},
        attrs={k: str(v) for k, v in kwargs.items()},
    )
