"""The benchmark suite's shared machinery: interleaved repeats, summary statistics, agreement
checks, the machine header, the registry of areas and the results.json / results.md writers.

Each area is a module of this folder exposing ``suite(ctx: Context) -> Report``; it times
every implementation side by side in the same process (repeats interleaved A, B, A, B, ...),
records every figure with median / min / max / repeats / unit, and records (and asserts) that
the implementations agree to a stated tolerance.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import importlib.metadata
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

# area name -> (module, one-line description); run in this order
AREAS: dict[str, tuple[str, str]] = {
    "uv": ("bench_uv", "UV-model GD in parameter space vs NumPy"),
    "scan": ("bench_scan", "phase-scan kernel vs NumPy and Numba, every ISA"),
    "chaos": ("bench_chaos", "orbit diagram vs NumPy and Numba"),
    "mlp": ("bench_mlp", "exact Hessians (torch.func, torch.autograd, JAX) and training sweeps"),
    "hvp": ("bench_hvp", "cost of one Hessian-vector product in gradient-equivalents, vs the peers"),
    "eig": ("bench_torch", "top-1 / top-3 eigenvalues at matched accuracy vs PyHessian, eigenthings, curvlinops"),
    "tracking": ("bench_tracking", "sharpness tracked through training"),
    "cuda": ("cuda_check", "device agreement and timings (CPU smoke run without a GPU)"),
}

VERSIONED = ("sharpdyn", "numpy", "scipy", "torch", "numba", "scikit-learn", "PyHessian", "hessian-eigenthings",
             "curvlinops-for-pytorch", "jax", "jaxlib")


class AgreementError(AssertionError):
    """Two implementations disagree by more than their stated tolerance."""


@dataclass(frozen=True)
class Context:
    """Options every area receives."""

    quick: bool = False
    repeats: int = 5
    mnist: Path | None = None
    seeds: int = 3
    nets: tuple[str, ...] = ("mlp", "cnn", "resnet")  # networks of the hvp / eig / tracking areas
    # shortest timed sample of the kernel areas (uv, scan, chaos, mlp, hvp): short calls are repeated
    # back to back within a sample (see :func:`interleaved`)
    min_sample_s: float = 0.25


def summary(values: Sequence[float], unit: str) -> dict:
    """Median / min / max / repeats of ``values`` (all kept) in ``unit``."""
    vals = [float(v) for v in values]
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "repeats": len(vals),
            "unit": unit, "values": vals}


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int, *, clock: Callable[[], float] = time.perf_counter,
                warmup: bool = False, min_sample_s: float = 0.0,
                calls: dict[str, int] | None = None) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Time every function ``repeats`` times, interleaved (A, B, A, B, ...; the order reversed on
    every other round so that neither always runs after the other). Returns the seconds of one
    call, per repeat and name, and the last output per name. ``warmup`` runs each once, untimed,
    first.

    ``min_sample_s`` > 0 makes every timed sample last at least that long: each function is
    called once untimed, then (unless that call took 10 x ``min_sample_s`` or more) in batches of
    1, 2, 5, 10, 20, ... calls until a batch lasts ``min_sample_s`` (as ``timeit``'s autorange),
    and each sample runs that many calls back to back (its seconds per call are recorded). A sample of a few
    milliseconds on a shared machine measures the scheduler, not the code: a thread that another process
    holds off a core resumes at a scheduler tick, so on the 2-core development machine under load a 2 ms orbit diagram
    on both cores took 4, 8, 12 or 16 ms, whatever ran before it (Numba, NumPy or a sleep).
    ``calls`` (a dict, if given) receives the calls per sample of each name."""
    out: dict[str, Any] = {}
    number = {name: 1 for name in fns}
    first: dict[str, float] = {}
    if warmup or min_sample_s > 0:
        for name, fn in fns.items():
            t0 = clock()
            out[name] = fn()
            first[name] = clock() - t0
    if min_sample_s > 0:  # calls per sample: 1, 2, 5, 10, 20, ... until a batch lasts min_sample_s
        for name, fn in fns.items():
            if first[name] >= 10 * min_sample_s:  # a long call (seconds): one per sample, no calibration
                continue
            k = 1
            for i in range(60):
                k = (1, 2, 5)[i % 3] * 10 ** (i // 3)
                t0 = clock()
                for _ in range(k):
                    out[name] = fn()
                if clock() - t0 >= min_sample_s:
                    break
            number[name] = k
    if calls is not None:
        calls.update(number)
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            fn, k = fns[name], number[name]
            t0 = clock()
            for _ in range(k):
                out[name] = fn()
            times[name].append((clock() - t0) / k)
    return times, out


def peak_rss_reset() -> int:
    """Reset the process's peak resident set (Linux ``clear_refs``) and return the current RSS
    in bytes; :func:`peak_rss_since` then gives the peak above it. 0 where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status_kb("VmRSS") * 1024
    except OSError:
        return 0


def peak_rss_since(base: int) -> int | None:
    """Peak resident bytes above ``base`` since :func:`peak_rss_reset` (None if unsupported)."""
    if base == 0:
        return None
    return max(0, _status_kb("VmHWM") * 1024 - base)


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


@dataclass
class Report:
    """What one area returns: figures (timed and counted), agreement checks, headline ratios."""

    area: str
    title: str
    figures: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    headlines: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def add(self, table: str, row: str, impl: str, values: Sequence[float] | float, unit: str, **info: Any) -> dict:
        """One figure: ``values`` (one per repeat, or a single value) of ``impl`` in ``row`` of
        ``table``. Extra keyword ``info`` is stored beside it."""
        vals = [values] if isinstance(values, (int, float)) else list(values)
        fig = {"table": table, "row": row, "impl": impl, **summary(vals, unit), **info}
        self.figures.append(fig)
        return fig

    def add_times(self, table: str, row: str, times: dict[str, list[float]], *, work: float | None = None,
                  unit: str | None = None, calls: dict[str, int] | None = None, **info: Any) -> dict[str, dict]:
        """Figures from :func:`interleaved` times: seconds, or ``work / seconds`` in ``unit``
        (a rate) when ``work`` is given; ``calls`` (from :func:`interleaved`) is stored as each
        figure's ``calls_per_sample``."""
        out = {}
        for impl, ts in times.items():
            vals = ts if work is None else [work / t for t in ts]
            extra = {} if calls is None else {"calls_per_sample": calls[impl]}
            out[impl] = self.add(table, row, impl, vals, unit or "s", **extra, **info)
        return out

    def check(self, name: str, error: float, tolerance: float, *, kind: str = "relative") -> None:
        """Record that two implementations agree to ``tolerance`` (``error`` measured) and raise
        :class:`AgreementError` if they do not."""
        error = float(error)
        ok = bool(math.isfinite(error) and error <= tolerance)
        self.checks.append({"name": name, "error": error, "tolerance": float(tolerance), "kind": kind, "passed": ok})
        if not ok:
            raise AgreementError(f"{self.area}: {name}: {kind} error {error:.3g} > tolerance {tolerance:.3g}")

    def headline(self, what: str, ratio: float, *, baseline: str, unit: str = "x", target: str | None = None,
                 met: bool | None = None) -> None:
        """A ratio for the README table: ``ratio`` > 1 means sharpdyn is better than ``baseline``
        unless ``unit`` says otherwise. ``target`` and ``met`` state the issue's goal if any."""
        self.headlines.append({"what": what, "ratio": float(ratio), "baseline": baseline, "unit": unit,
                               "target": target, "met": met})

    def to_dict(self) -> dict:
        return {"area": self.area, "title": self.title, "figures": self.figures, "checks": self.checks,
                "headlines": self.headlines, "notes": self.notes, "extra": self.extra}


def ratio(fig_num: dict, fig_den: dict) -> float:
    """Ratio of two figures' medians."""
    return fig_num["median"] / fig_den["median"]


# -- machine header ------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return sorted(f for f in flags if f.startswith(("avx", "fma", "sse4")))
    except OSError:
        pass
    return []


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    if out["sharpdyn"] is None:  # run from a source tree
        import sharpdyn

        out["sharpdyn"] = getattr(sharpdyn, "__version__", None)
    return out


def machine() -> dict:
    """CPU model, cores, SIMD paths of the kernels, GPU, library versions, load, time."""
    from sharpdyn import _core, scan

    info: dict[str, Any] = {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "cpu_simd_flags": _cpu_flags(),
        "openmp_threads": int(_core.max_threads()), "kernel_isa_default": scan.default_isa(),
        "kernel_isas_available": list(scan.available_isas()), "python": platform.python_version(),
        "platform": platform.platform(), "versions": versions(),
        "load_average_start": list(os.getloadavg()),
        "started_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        info["gpu"] = None
    return info


# -- running -------------------------------------------------------------------------------
def load_area(name: str):
    import sys

    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module(AREAS[name][0])


def run_areas(names: Sequence[str], ctx: Context, log: Callable[[str], None] = print,
              after_each: Callable[[dict], None] | None = None) -> dict:
    """Run the areas ``names`` and return the results document (JSON-ready). An area that
    raises is recorded with its error (and the document's ``ok`` is false). ``after_each``
    receives the document so far after every area (to save partial runs)."""
    doc: dict[str, Any] = {"machine": machine(), "quick": ctx.quick, "repeats": ctx.repeats,
                           "min_sample_s": ctx.min_sample_s, "areas": {}}
    for name in names:
        log(f"[bench] {name}: {AREAS[name][1]} ...")
        t0 = time.perf_counter()
        try:
            report = load_area(name).suite(ctx)
            entry = report.to_dict()
            entry["ok"] = all(c["passed"] for c in report.checks) and bool(report.checks)
        except Exception as exc:  # recorded, reported, and the run fails
            import traceback

            entry = {"area": name, "title": AREAS[name][1], "figures": [], "checks": [], "headlines": [],
                     "notes": [], "extra": {}, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                     "traceback": traceback.format_exc()}
        entry["seconds"] = time.perf_counter() - t0
        entry["load_average_end"] = list(os.getloadavg())
        doc["areas"][name] = entry
        log(f"[bench] {name}: {'ok' if entry['ok'] else 'FAILED ' + entry.get('error', 'no checks')} "
            f"({entry['seconds']:.1f} s)")
        if after_each is not None:
            doc["ok"] = all(a["ok"] for a in doc["areas"].values())
            after_each(doc)
    doc["machine"]["load_average_end"] = list(os.getloadavg())
    doc["machine"]["finished_utc"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    doc["ok"] = all(a["ok"] for a in doc["areas"].values())
    return doc


# -- writing -------------------------------------------------------------------------------
def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e5 or a < 1e-3:
        return f"{v:.3g}"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def cell(fig: dict) -> str:
    if fig.get("reached") is False:
        seeds = fig.get("reached_seeds", 0)
        return "not reached" + (f" ({seeds} start(s) did)" if seeds else "")
    if fig["repeats"] == 1:
        return f"{_fmt(fig['median'])}"
    return f"{_fmt(fig['median'])} ({_fmt(fig['min'])}–{_fmt(fig['max'])})"


def machine_markdown(m: dict) -> list[str]:
    v = m["versions"]
    vers = ", ".join(f"{k} {val}" for k, val in v.items() if val)
    missing = ", ".join(k for k, val in v.items() if not val)
    return [
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m['openmp_threads']} OpenMP threads); SIMD flags "
        f"{' '.join(m['cpu_simd_flags']) or 'n/a'}",
        f"- sharpdyn kernels: default ISA `{m['kernel_isa_default']}`, available "
        f"{', '.join('`' + i + '`' for i in m['kernel_isas_available'])}",
        f"- GPU: {m.get('gpu') or 'none'}",
        f"- Python {m['python']}, {m['platform']}",
        f"- versions: {vers}" + (f" (not installed: {missing})" if missing else ""),
        f"- run {m['started_utc']} – {m.get('finished_utc', '?')}, load average at start "
        f"{', '.join(f'{x:.1f}' for x in m['load_average_start'])}, at end "
        f"{', '.join(f'{x:.1f}' for x in m.get('load_average_end', []))}",
    ]


def area_markdown(a: dict) -> list[str]:
    lines = [f"## {a['area']}: {a['title']}", ""]
    if a.get("error"):
        lines += [f"**FAILED**: `{a['error']}`", ""]
    lines += [f"_{n}_" for n in a["notes"]] + ([""] if a["notes"] else [])
    tables: dict[str, dict] = {}
    for f in a["figures"]:
        t = tables.setdefault(f["table"], {"impls": [], "rows": {}, "units": set()})
        if f["impl"] not in t["impls"]:
            t["impls"].append(f["impl"])
        t["rows"].setdefault(f["row"], {})[f["impl"]] = f
        t["units"].add(f["unit"])
    for title, t in tables.items():
        unit = next(iter(t["units"])) if len(t["units"]) == 1 else None
        lines += [f"**{title}**" + (f" ({unit}; median (min–max) of the repeats)" if unit else
                                    " (median (min–max) of the repeats)"), "",
                  "| | " + " | ".join(t["impls"]) + " |", "| --- " * (len(t["impls"]) + 1) + "|"]
        for row, figs in t["rows"].items():
            cells = []
            for impl in t["impls"]:
                f = figs.get(impl)
                cells.append("" if f is None else cell(f) + ("" if unit else f" {f['unit']}"))
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        batched = {f["impl"]: f["calls_per_sample"] for figs in t["rows"].values() for f in figs.values()
                   if f.get("calls_per_sample", 1) > 1}
        if batched:
            lines += ["", "Calls per timed sample (short calls repeated back to back; time per call shown): "
                      + ", ".join(f"{impl} {k}" for impl, k in batched.items()) + "."]
        lines.append("")
    if a["headlines"]:
        lines += ["| headline | ratio | baseline | target |", "| --- | --- | --- | --- |"]
        for h in a["headlines"]:
            tgt = "" if h["target"] is None else h["target"] + (" ✓" if h["met"] else " ✗ (missed)")
            lines.append(f"| {h['what']} | {_fmt(h['ratio'])}{h['unit']} | {h['baseline']} | {tgt} |")
        lines.append("")
    if a["checks"]:
        passed = sum(c["passed"] for c in a["checks"])
        worst = max(c["error"] / c["tolerance"] if c["tolerance"] else c["error"] for c in a["checks"])
        lines += [f"Agreement: {passed}/{len(a['checks'])} checks passed (worst error/tolerance {worst:.2g}).", ""]
    lines.append(f"_{a['seconds']:.0f} s, load average at end {', '.join(f'{x:.1f}' for x in a['load_average_end'])}_")
    lines.append("")
    return lines


def markdown(doc: dict) -> str:
    lines = ["# sharpdyn benchmark results (`python -m bench" + (" --quick" if doc["quick"] else "") + "`)", "",
             *machine_markdown(doc["machine"]), "",
             f"Every implementation runs in the same process, {doc['repeats']} repeats interleaved unless a table "
             "says otherwise; each cell is the median (min–max). In the kernel areas a timed sample lasts at least "
             f"{doc.get('min_sample_s', 0):g} s (a shorter call is repeated back to back within it, and the time per "
             "call recorded), so that scheduler ticks on a shared machine do not decide the ratios. Agreement "
             "between implementations is asserted and listed per area.", ""]
    for a in doc["areas"].values():
        lines += area_markdown(a)
    return "\n".join(lines)


def write(doc: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / "results.json", out / "results.md"
    js.write_text(json.dumps(doc, indent=1, default=_json_default) + "\n")
    md.write_text(markdown(doc) + "\n")
    return js, md


def _json_default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
