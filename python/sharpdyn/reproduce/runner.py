"""Run a list of tasks, each at most once: from the cache when finished before, else locally
or on a Dask cluster, writing every result to the cache the moment it arrives.

A task is the dotted name of a module-level function plus JSON-able keyword settings. Task
functions are pure and single-threaded (torch with one thread, the C++ kernels with
``threads=1``), so a result does not depend on where or in which order it ran: the same
settings give the same numbers sequentially, on a local cluster, or on a remote one.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .cache import RunCache, task_key

SYNC = "sync"
"""``scheduler`` value that runs every task in this process, one after the other."""
LOCAL = "local"
"""``scheduler`` value that starts a Dask ``LocalCluster`` (one single-threaded worker per core)."""


@dataclass(frozen=True)
class Task:
    """One run: ``func`` (``"package.module:function"``) called with ``settings`` as keywords."""

    func: str
    settings: dict = field(default_factory=dict)
    label: str = ""

    @property
    def key(self) -> str:
        return task_key(self.func, self.settings)


def resolve(func: str) -> Callable[..., dict]:
    module, _, name = func.partition(":")
    if not name:
        raise ValueError(f"task function must be 'module:function', got {func!r}")
    return getattr(importlib.import_module(module), name)


def execute(func: str, settings: dict) -> dict[str, np.ndarray]:
    """Run one task and return its result as a dictionary of arrays (what workers call)."""
    result = resolve(func)(**settings)
    return {k: np.asarray(v) for k, v in result.items()}


def task_device(device: str | None) -> str:
    """The torch device a task runs on: ``device`` as given, except that plain ``"cuda"`` on a
    Dask worker of a machine with several GPUs becomes ``"cuda:i"`` with ``i`` the worker's
    index modulo the number of GPUs (one GPU per worker); ``None`` is CUDA when present, else
    the CPU."""
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cuda" or torch.cuda.device_count() < 2:
        return device
    try:
        from dask.distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return device
    index = int(name) if isinstance(name, int) or str(name).isdigit() else abs(hash(str(name)))
    return f"cuda:{index % torch.cuda.device_count()}"


def _client(scheduler: str, n_pending: int) -> tuple[Any, Any]:
    """A Dask client (and the cluster it owns, if any) for ``scheduler``."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError("scheduler needs Dask distributed: pip install sharpdyn[scan], "
                          "or use scheduler='sync'") from exc
    if scheduler == LOCAL:
        workers = max(1, min(os.cpu_count() or 1, n_pending))
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        return Client(cluster), cluster
    return Client(scheduler), None


def run_tasks(tasks: Sequence[Task], cache: RunCache, *, scheduler: str = LOCAL, progress: bool = True,
              description: str = "runs") -> list[dict[str, np.ndarray]]:
    """Results of ``tasks`` in order, computing only those not in ``cache``.

    Parameters
    ----------
    tasks:
        The runs. Duplicates (same function and settings) are computed once.
    cache:
        Where finished results live; each new result is written there as soon as it arrives,
        so an interrupt (Ctrl-C) loses nothing that finished.
    scheduler:
        :data:`SYNC` (this process), :data:`LOCAL` (a Dask ``LocalCluster`` started for the
        pending runs and closed afterwards) or the address of a running Dask scheduler
        (``"tcp://host:8786"``).
    progress:
        Show a progress bar (tqdm) over the runs.
    """
    from tqdm import tqdm

    keys = [t.key for t in tasks]
    results: dict[str, dict[str, np.ndarray]] = {}
    pending: dict[str, Task] = {}
    for key, task in zip(keys, tasks):
        if key in results or key in pending:
            continue
        hit = cache.get(key)
        if hit is not None:
            results[key] = hit
        else:
            pending[key] = task
    bar = tqdm(total=len(set(keys)), initial=len(results), desc=description, unit="run", disable=not progress,
               leave=False)
    try:
        if pending and scheduler == SYNC:
            for key, task in pending.items():
                bar.set_postfix_str(task.label or task.func.rsplit(":", 1)[-1], refresh=False)
                res = execute(task.func, task.settings)
                cache.put(key, task.func, task.settings, res)
                results[key] = res
                bar.update(1)
        elif pending:
            _run_on_dask(pending, cache, results, scheduler, bar)
    finally:
        bar.close()
    return [results[k] for k in keys]


def _run_on_dask(pending: dict[str, Task], cache: RunCache, results: dict, scheduler: str, bar: Any) -> None:
    from dask.distributed import as_completed

    client, cluster = _client(scheduler, len(pending))
    futures = {}
    try:
        for key, task in pending.items():
            fut = client.submit(execute, task.func, task.settings, key=f"{task.func.rsplit(':', 1)[-1]}-{key[:16]}",
                                pure=False)
            futures[fut] = key
        for fut in as_completed(futures):
            key = futures[fut]
            res = fut.result()
            cache.put(key, pending[key].func, pending[key].settings, res)
            results[key] = res
            bar.update(1)
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
