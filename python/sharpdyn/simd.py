"""Instruction-set (SIMD) paths of the compiled kernels: their names, which this CPU can run, and
validation of an ``isa=`` argument.

Every kernel with SIMD paths (:func:`sharpdyn.scan.uv`, :func:`sharpdyn.scan.cubic` and the
grid scans built on them, :func:`sharpdyn.chaos.orbit_diagram`, :func:`sharpdyn.chaos.lyapunov`
and :func:`sharpdyn.chaos.lyapunov_spectrum` for the cubic map) is compiled once per instruction
set and takes the same ``isa=`` keyword, one of :data:`ISAS`:

``"auto"`` (default)
    the widest path this CPU can run (:func:`default_isa`);
``"baseline"``
    the compiler's default target (SSE2 on x86-64; portable code elsewhere);
``"avx2"``, ``"avx512"``
    x86-64 with AVX2, or with AVX-512 F/DQ/VL.

FMA contraction is off in the whole build, so every path gives bit-identical results; forcing
one (tests, benchmarks, standing in for an older machine) changes only the speed. A path the
CPU lacks is refused with ``ValueError``. There is no environment variable: ``isa=`` is the one
way to choose a path (the C++ side is ``csrc/core/simd_dispatch.hpp``).
"""

from __future__ import annotations

from typing import Any

from . import _core

__all__ = ["ISAS", "available_isas", "default_isa", "isa_arg"]

ISAS: tuple[str, ...] = ("auto", "baseline", "avx2", "avx512")
"""Instruction-set names accepted by ``isa=``: ``"auto"`` picks the widest available."""


def default_isa() -> str:
    """The instruction set the kernels use on this CPU with ``isa="auto"``."""
    return str(_core.simd_isa("auto"))


def available_isas() -> tuple[str, ...]:
    """Instruction sets with compiled kernels that this CPU can run (results are identical)."""
    return tuple(name for name in ISAS[1:] if _core.simd_isa_available(name))


def isa_arg(isa: Any) -> str:
    """Validate an ``isa=`` argument (a name from :data:`ISAS` that this CPU can run)."""
    if not isinstance(isa, str) or isa not in ISAS:
        raise ValueError(f"isa must be one of {list(ISAS)}, got {isa!r}")
    if not _core.simd_isa_available(isa):
        raise ValueError(f"isa={isa!r} is not available on this CPU (available: {list(available_isas())})")
    return isa
