"""The sections of the reproduction report, in order. Each module defines ``KEY``, ``TITLE``,
``PAPER`` (what the paper says, one paragraph), ``tasks(cfg) -> list[Task]`` and
``build(cfg, results, out) -> SectionResult``."""

from __future__ import annotations

import importlib
from types import ModuleType

ORDER = ("uv_model", "phase", "route", "early", "edge", "correspondence", "beyond", "optimizers")


def load(key: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{key}")
