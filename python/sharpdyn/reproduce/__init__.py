"""Reproduce arXiv 2311.02076 in one call: :func:`reproduce` (``sharpdyn reproduce``).

Each section of the paper's evidence (:mod:`.sections`) plans its runs as tasks; the runs go
through one cache (:mod:`.cache`, finished runs are never recomputed on ``resume``) and one
executor (:mod:`.runner`: in this process, a Dask ``LocalCluster`` or a running Dask
scheduler); then each section turns its results into figures, data files and checked
:class:`~.claims.Claim` objects, and :mod:`.report` writes ``index.html`` and ``claims.json``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .cache import RunCache
from .claims import Claim
from .config import MODES, ReproduceConfig, SectionResult
from .runner import LOCAL, SYNC, Task, run_tasks
from .sections import ORDER

__all__ = ["LOCAL", "MODES", "ORDER", "SYNC", "Claim", "ReproduceConfig", "Report", "SectionResult", "Task",
           "reproduce"]


@dataclass(frozen=True)
class Report:
    """What :func:`reproduce` wrote.

    Attributes
    ----------
    out:
        The output folder (``index.html``, ``claims.json``, ``figures/``, ``data/``, ``cache/``).
    sections:
        One :class:`SectionResult` per section run.
    seconds:
        Wall time of each section (runs and report), for information only (not in claims.json).
    """

    out: Path
    sections: tuple[SectionResult, ...]
    seconds: dict

    @property
    def claims(self) -> list[Claim]:
        return [c for s in self.sections for c in s.claims]

    @property
    def failed(self) -> list[Claim]:
        return [c for c in self.claims if c.passed is False]


def reproduce(out: str | Path, *, mode: str = "quick", sections: Sequence[str] | None = None, seed: int = 0,
              data_root: str | Path | None = None, dataset: str = "auto", scheduler: str = LOCAL,
              resume: bool = False, device: str | None = None, progress: bool = True,
              log=print) -> Report:
    """Regenerate the paper's evidence into ``out``.

    Parameters
    ----------
    out:
        Output folder (created). ``index.html`` and ``claims.json`` go there, figures under
        ``figures/``, the data behind them under ``data/`` and finished runs under ``cache/``.
    mode:
        ``"quick"`` (minutes on 2 CPU cores) or ``"full"`` (the paper's resolution).
    sections:
        Keys of :data:`ORDER` to run (default all, in that order).
    seed:
        Seed of every initialisation, subset and start vector.
    data_root, dataset:
        Real data for the network sections (see :class:`ReproduceConfig`).
    scheduler:
        ``"local"`` (a Dask ``LocalCluster`` for the runs that are not cached), ``"sync"`` (this
        process) or a Dask scheduler address.
    resume:
        Reuse every finished run in ``out/cache`` (an interrupted or partial earlier run, or one
        with other sections); without it the cache is cleared first.
    device:
        torch device of the torch-model runs: ``None``/``"cpu"`` (default) or ``"cuda"`` (one
        GPU per Dask worker, see :func:`.runner.task_device`).
    progress:
        Progress bars over runs.
    log:
        Called with one line per finished section (``None``: silent).
    """
    from .report import write_report
    from .sections import load

    cfg = ReproduceConfig(mode=mode, seed=seed, data_root=None if data_root is None else str(data_root),
                          dataset=dataset, device=device)
    keys = list(ORDER) if sections is None else list(sections)
    unknown = [k for k in keys if k not in ORDER]
    if unknown or not keys:
        raise ValueError(f"sections must be a non-empty subset of {ORDER}, got {keys}")
    keys = [k for k in ORDER if k in keys]
    if not isinstance(scheduler, str) or not scheduler:
        raise ValueError(f"scheduler must be 'local', 'sync' or a Dask scheduler address, got {scheduler!r}")
    out = Path(out)
    for sub in ("figures", "data"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    cache = RunCache(out / "cache")
    if not resume:
        cache.clear()
    modules = [load(k) for k in keys]
    seconds: dict[str, float] = {}
    planned = {m.KEY: m.tasks(cfg) for m in modules}
    # every run of every section first (one cluster for all), then the sections' reports
    everything = [t for m in modules for t in planned[m.KEY]]
    t0 = time.perf_counter()
    results = run_tasks(everything, cache, scheduler=scheduler, progress=progress, description="reproduce")
    seconds["runs"] = time.perf_counter() - t0
    done: list[SectionResult] = []
    i = 0
    for m in modules:
        n = len(planned[m.KEY])
        t1 = time.perf_counter()
        sec = m.build(cfg, results[i:i + n], out)
        i += n
        seconds[m.KEY] = time.perf_counter() - t1
        done.append(sec)
        if log is not None:
            checked = [c for c in sec.claims if c.passed is not None]
            log(f"[reproduce] {sec.title}: {sum(1 for c in checked if c.passed)}/{len(checked)} claims pass")
    write_report(out, cfg, done)
    return Report(out=out, sections=tuple(done), seconds=seconds)

