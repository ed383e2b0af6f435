"""Argument checks shared by the public API: every failure is a ``ValueError`` (or
``TypeError``) that names the offending argument.

One rule per kind of argument, applied by every entry point:

- real numbers: :func:`as_float_array` and the helpers built on it refuse non-numeric
  input, complex values (even with a zero imaginary part), NaN and infinities;
- sizes and counts (``steps``, ``width``, ...): Python/NumPy integers, never bools or floats;
- memory: :func:`check_allocation` refuses, before any work starts, a request whose
  estimated memory exceeds what the machine has available (``MemAvailable`` of
  ``/proc/meminfo``, psutil where installed, the cgroup limit where one is set) or the limit
  set by the environment variable ``SHARPDYN_MAX_BYTES`` (bytes, or with a suffix ``K``,
  ``M``, ``G``, ``T``: ``SHARPDYN_MAX_BYTES=200G``), which overrides the detected amount;
  :func:`check_disk` does the same for files with ``SHARPDYN_MAX_DISK_BYTES``.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

MAX_BYTES_ENV = "SHARPDYN_MAX_BYTES"
"""Environment variable: the memory (bytes; suffixes K/M/G/T allowed) one call may plan to use."""
MAX_DISK_BYTES_ENV = "SHARPDYN_MAX_DISK_BYTES"
"""Environment variable: the disk space (bytes; suffixes allowed) one call may plan to write."""


def refuse_complex(raw: np.ndarray, name: str) -> None:
    """``ValueError`` naming ``name`` if the array holds complex numbers (even with zero imaginary part)."""
    if np.iscomplexobj(raw) or (raw.dtype == object and any(isinstance(v, complex) for v in raw.ravel().tolist())):
        raise ValueError(f"{name} must be real, got a complex value (pass the real part explicitly)")


def _refuse_non_numbers(raw: np.ndarray, name: str, value: Any) -> None:
    """Strings, bytes, None and other objects are not numbers (NumPy would parse "1.5" and turn
    None into NaN)."""
    if raw.dtype.kind in "USVM" or (
            raw.dtype == object and not all(isinstance(v, numbers.Real) for v in raw.ravel().tolist())):
        raise ValueError(f"{name} must be numeric, got {value!r}")


def _tensor_to_numpy(t: Any) -> np.ndarray:
    """A torch tensor as a NumPy array (detached, on the CPU; bfloat16/float16 widened)."""
    t = t.detach().cpu()
    try:
        return t.numpy()
    except TypeError:  # a dtype NumPy lacks (bfloat16)
        return (t.cdouble() if t.is_complex() else t.double()).numpy()


def as_float_array(value: Any, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """Convert to a float64 array, rejecting non-numeric input, complex values, NaN and
    infinities."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor, without importing torch
        value = _tensor_to_numpy(value)
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc
    refuse_complex(raw, name)
    _refuse_non_numbers(raw, name, value)
    try:
        arr = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (got NaN or infinity)")
    return arr


def as_real_array(value: Any, name: str) -> np.ndarray:
    """A float64 array of any real values, NaN and infinities included (for series that
    may hold a diverged run, and for the maps' own helpers); complex and non-numeric input is
    refused as in :func:`as_float_array`."""
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = _tensor_to_numpy(value)
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc
    refuse_complex(raw, name)
    _refuse_non_numbers(raw, name, value)
    try:
        return raw.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc


def finite_float(value: Any, name: str) -> float:
    """A finite Python float."""
    arr = as_float_array(value, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def positive_float(value: Any, name: str) -> float:
    v = finite_float(value, name)
    if v <= 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    return v


def positive_array(value: Any, name: str) -> np.ndarray:
    arr = as_float_array(value, name)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 everywhere")
    return arr


def nonnegative_array(value: Any, name: str) -> np.ndarray:
    arr = as_float_array(value, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 everywhere")
    return arr


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return int(value)


def nonnegative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def threads_arg(value: Any) -> int:
    """``None`` -> 0 (OpenMP default), else a positive integer. Asking for more than one
    thread from a build without OpenMP warns once and runs serially."""
    if value is None:
        return 0
    n = positive_int(value, "threads")
    if n > 1:
        from . import _core

        if not _core.HAS_OPENMP:
            import warnings

            warnings.warn("sharpdyn was built without OpenMP; running serially", RuntimeWarning, stacklevel=3)
    return n


def one_of(value: Any, name: str, choices: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def finite_nonnegative_float(value: Any, name: str) -> float:
    """A finite Python float >= 0."""
    v = finite_float(value, name)
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    return v


# ------------------------------------------------------------------------- memory and disk

_SUFFIXES = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}


def parse_bytes(text: str, name: str) -> int:
    """``"1000"``, ``"64M"``, ``"200G"``, ``"1.5T"`` (binary units, optional ``B``/``iB``) -> bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGTP]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if m is None:
        raise ValueError(f"{name} must be a number of bytes such as 1000000, 512M or 200G, got {text!r}")
    value = float(m.group(1)) * _SUFFIXES[m.group(2).upper()]
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of bytes >= 0, got {text!r}")
    return int(value)


def format_bytes(nbytes: float) -> str:
    """``1536`` -> ``"1.5 KiB"``; ``1e13`` -> ``"9.1 TiB"``."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover


def _cgroup_room() -> int | None:
    """Bytes left under a cgroup (v2 or v1) memory limit, if one is set."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= 2**60:
            return None
        return max(int(limit) - usage, 0)
    return None


def available_memory() -> int | None:
    """Memory available to new allocations (bytes): psutil's ``available`` if psutil is
    installed, else ``MemAvailable`` of ``/proc/meminfo``, else free physical pages; capped
    by a cgroup limit. ``None`` if it cannot be determined."""
    avail: int | None = None
    try:
        import psutil

        avail = int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil is optional
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
        except (OSError, ValueError, IndexError):
            pass
        if avail is None:
            try:
                avail = int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
            except (ValueError, OSError, AttributeError):
                avail = None
    room = _cgroup_room()
    if room is not None:
        avail = room if avail is None else min(avail, room)
    return avail


def memory_limit() -> tuple[int | None, str]:
    """``(bytes, where it comes from)``: ``$SHARPDYN_MAX_BYTES`` if set, else the available memory."""
    env = os.environ.get(MAX_BYTES_ENV)
    if env is not None and env.strip():
        return parse_bytes(env, MAX_BYTES_ENV), f"the limit {MAX_BYTES_ENV}={env.strip()}"
    return available_memory(), "available memory"


def check_allocation(nbytes: int | float, name: str, *, hint: str = "", limit: int | None = None) -> None:
    """Refuse (``ValueError`` naming ``name``) a request whose estimated memory ``nbytes``
    exceeds ``limit`` (default: :func:`memory_limit`, i.e. ``$SHARPDYN_MAX_BYTES`` or the
    available memory). ``hint`` says how to make the request smaller (chunking, a store).
    Sizes are Python integers, so a product of huge arguments cannot overflow."""
    if limit is None:
        limit, source = memory_limit()
    else:
        source = "the given limit"
    if limit is None or nbytes <= limit:
        return
    raise ValueError(
        f"{name}: this request needs about {format_bytes(nbytes)} of memory but {source} is "
        f"{format_bytes(limit)}; {hint + '; ' if hint else ''}set the environment variable {MAX_BYTES_ENV} "
        f"(e.g. {MAX_BYTES_ENV}=200G) to allow more")


def check_disk(nbytes: int | float, name: str, path: str | Path, *, hint: str = "") -> None:
    """Refuse (``ValueError`` naming ``name``) writing about ``nbytes`` under ``path`` when the
    file system holding it (its nearest existing parent) has less free space, or more than
    ``$SHARPDYN_MAX_DISK_BYTES`` if that is set."""
    env = os.environ.get(MAX_DISK_BYTES_ENV)
    if env is not None and env.strip():
        limit, source = parse_bytes(env, MAX_DISK_BYTES_ENV), f"the limit {MAX_DISK_BYTES_ENV}={env.strip()}"
    else:
        where = Path(path).expanduser().absolute()
        while not where.exists() and where != where.parent:
            where = where.parent
        try:
            limit = int(shutil.disk_usage(where).free)
        except OSError:
            return
        source = f"free disk space at {str(where)!r}"
    if nbytes <= limit:
        return
    raise ValueError(
        f"{name}: this request writes up to {format_bytes(nbytes)} but {source} is {format_bytes(limit)}; "
        f"{hint + '; ' if hint else ''}set the environment variable {MAX_DISK_BYTES_ENV} to allow more")


def product(*sizes: int) -> int:
    """Exact product of sizes as a Python integer (no int64 overflow)."""
    return math.prod(int(s) for s in sizes)
