"""Instruction-set (SIMD) paths of the compiled kernels: their names, which this CPU can run, and
validation of an ``isa=`` argument.

Every kernel is compiled for several instruction sets and picks the widest the CPU has at run time;
results are bit-identical on every path. ``isa=`` forces one (tests and benchmarks).
"""

from __future__ import annotations

from typing import Any

from . import _core

__all__ = ["ISAS", "available_isas", "default_isa", "isa_arg"]

ISAS: tuple[str, ...] = ("auto", "baseline", "avx2", "avx512")
"""Instruction-set names accepted by ``isa=``: ``"auto"`` picks the widest available."""


def default_isa() -> str:
    """The instruction set the kernel uses on this CPU with ``isa="auto"``."""
    return str(_core.uv_scan_isa())


def available_isas() -> tuple[str, ...]:
    """Instruction sets with a compiled kernel that this CPU can run (results are identical)."""
    return tuple(name for name in ISAS[1:] if _core.uv_scan_isa_available(name))


def isa_arg(isa: Any) -> str:
    """Validate an ``isa=`` argument (a name from :data:`ISAS` that this CPU can run)."""
    if not isinstance(isa, str) or isa not in ISAS:
        raise ValueError(f"isa must be one of {list(ISAS)}, got {isa!r}")
    if not _core.uv_scan_isa_available(isa):
        raise ValueError(f"isa={isa!r} is not available on this CPU (available: {list(available_isas())})")
    return isa
