"""Finished runs on disk, each under a key of its exact settings.

A run is a task name (``"module:function"``) plus JSON-able settings; its key is the SHA-256
of both in canonical JSON with :data:`CACHE_VERSION`. Results are dictionaries of NumPy
arrays written atomically (temporary file, then ``os.replace``) to ``<dir>/<key>.npz``, so an
interrupted run never leaves a half-written entry and a resumed one recomputes nothing that
finished. A rerun with other settings gets other keys and reuses whatever still applies.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

CACHE_VERSION = 1
"""Bumped whenever a task's numerics change, so stale entries are not reused."""


def canonical(settings: Any) -> str:
    """Canonical JSON of settings (sorted keys, no spaces; tuples as lists)."""
    return json.dumps(settings, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"settings must be JSON-able, got {type(value).__name__}")


def task_key(task: str, settings: dict) -> str:
    """Hex SHA-256 of the task name, its settings and :data:`CACHE_VERSION`."""
    blob = canonical({"task": task, "settings": settings, "version": CACHE_VERSION})
    return hashlib.sha256(blob.encode()).hexdigest()


class RunCache:
    """A folder of finished runs (``<key>.npz``, each with its settings inside)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def file(self, key: str) -> Path:
        return self.path / f"{key}.npz"

    def __contains__(self, key: str) -> bool:
        return self.file(key).is_file()

    def __len__(self) -> int:
        return sum(1 for _ in self.path.glob("*.npz"))

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The stored result, or ``None`` if absent or unreadable (then it is recomputed)."""
        f = self.file(key)
        if not f.is_file():
            return None
        try:
            with np.load(f, allow_pickle=False) as z:
                return {k: z[k] for k in z.files if not k.startswith("__")}
        except (OSError, ValueError, EOFError):
            return None

    def put(self, key: str, task: str, settings: dict, result: dict[str, Any]) -> Path:
        """Write ``result`` atomically; the task and settings are stored beside the arrays."""
        arrays = {k: np.asarray(v) for k, v in result.items()}
        for k, v in arrays.items():
            if v.dtype == object:
                raise TypeError(f"result {k!r} of {task} is not a plain array")
        meta = canonical({"task": task, "settings": settings, "version": CACHE_VERSION})
        fd, tmp = tempfile.mkstemp(dir=self.path, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                payload: dict[str, Any] = {"__meta__": np.array(meta), **arrays}
                np.savez_compressed(fh, **payload)
            os.replace(tmp, self.file(key))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return self.file(key)

    def clear(self) -> None:
        for f in list(self.path.glob("*.npz")) + list(self.path.glob("*.tmp")):
            f.unlink()
