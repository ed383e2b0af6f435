"""A claim of the paper, the value sharpdyn measured for it, and whether it holds.

Every number in the reproduction report is a :class:`Claim`: one sentence of what the paper
(or the theory behind it) says, the measured value, the target and tolerance it is checked
against, and the settings that produced it. ``claims.json`` is a list of them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

COMPARISONS = ("abs", "rel", "at_most", "at_least", "within", "report")
"""How ``measured`` is checked against ``target``:

- ``"abs"``: ``|measured - target| <= tolerance``;
- ``"rel"``: ``|measured / target - 1| <= tolerance``;
- ``"at_most"`` / ``"at_least"``: ``measured <= target + tolerance`` / ``measured >= target - tolerance``;
- ``"within"``: ``target`` is an interval ``[lo, hi]`` (tolerance widens it on both sides);
- ``"report"``: a measurement the paper leaves open (beyond-the-paper questions): no pass/fail,
  ``passed`` is ``None``.
"""


def _plain(value: Any) -> Any:
    """JSON-safe copy: NumPy scalars and arrays to Python numbers and lists, non-finite floats
    to strings (JSON has no NaN)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


@dataclass(frozen=True)
class Claim:
    """One checked statement.

    Attributes
    ----------
    section:
        Key of the report section (e.g. ``"phase"``).
    key:
        Short identifier, unique within the section (e.g. ``"catapult_boundary"``).
    statement:
        What the paper claims, in one sentence.
    quantity:
        What was measured, with units (e.g. ``"c at the lazy/catapult boundary, Y -> 0"``).
    measured:
        The measured value (a float; NaN when it could not be measured).
    target:
        The value (or ``[lo, hi]`` interval) it is checked against; ``None`` for ``"report"``.
    tolerance:
        Allowed deviation (see :data:`COMPARISONS`).
    comparison:
        One of :data:`COMPARISONS`.
    settings:
        The exact settings and seeds that produced the measurement.
    note:
        Anything a reader needs to judge the number (e.g. an honest negative).
    """

    section: str
    key: str
    statement: str
    quantity: str
    measured: float
    target: Any
    tolerance: float
    comparison: str
    settings: dict = field(default_factory=dict)
    note: str = ""

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"comparison must be one of {COMPARISONS}, got {self.comparison!r}")
        object.__setattr__(self, "measured", float(self.measured))
        if self.comparison == "within":
            lo, hi = self.target
            object.__setattr__(self, "target", [float(lo), float(hi)])
        elif self.target is not None:
            object.__setattr__(self, "target", float(self.target))

    @property
    def passed(self) -> bool | None:
        """Whether the measurement satisfies the claim (``None`` for ``"report"``). A NaN
        measurement never passes."""
        m, t, tol = self.measured, self.target, self.tolerance
        if self.comparison == "report":
            return None
        if not math.isfinite(m):
            return False
        if self.comparison == "abs":
            return abs(m - t) <= tol
        if self.comparison == "rel":
            return abs(m / t - 1.0) <= tol
        if self.comparison == "at_most":
            return m <= t + tol
        if self.comparison == "at_least":
            return m >= t - tol
        lo, hi = t
        return lo - tol <= m <= hi + tol

    def to_dict(self) -> dict:
        d = _plain(asdict(self))
        d["passed"] = self.passed
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Claim:
        kw = {k: d[k] for k in ("section", "key", "statement", "quantity", "target", "tolerance", "comparison")}
        measured = d["measured"]
        return cls(measured=float(measured), settings=d.get("settings", {}), note=d.get("note", ""), **kw)

    def describe_target(self) -> str:
        """The check as text, e.g. ``"2 ± 5%"``."""
        c, t, tol = self.comparison, self.target, self.tolerance
        if c == "report":
            return "(measured; the paper makes no claim)"
        if c == "abs":
            return f"{t:.6g} ± {tol:.3g}"
        if c == "rel":
            return f"{t:.6g} ± {100 * tol:.3g}%"
        if c == "at_most":
            return f"≤ {t + tol:.6g}"
        if c == "at_least":
            return f"≥ {t - tol:.6g}"
        return f"in [{t[0] - tol:.6g}, {t[1] + tol:.6g}]"
