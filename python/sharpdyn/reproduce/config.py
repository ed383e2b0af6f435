"""Settings of a reproduction run and the result type of a section."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..validation import nonnegative_int, one_of
from .claims import Claim

MODES = ("quick", "full")


@dataclass(frozen=True)
class ReproduceConfig:
    """What to reproduce and at which size.

    Attributes
    ----------
    mode:
        ``"quick"`` (small grids and subsets, minutes on 2 CPU cores) or ``"full"`` (the
        paper's resolution: hours on a CPU, minutes per section on a GPU or a cluster).
    seed:
        Seed of every initialisation, data subset and Lanczos start; same seed, same claims.
    data_root:
        Folder holding MNIST (``mnist/`` or the IDX files themselves), Fashion-MNIST
        (``fashion-mnist/``) or CIFAR-10 (``cifar10/``/``cifar-10-batches-py``); ``None``:
        scikit-learn's bundled digits and synthetic data (works on a fresh machine).
    dataset:
        Dataset of the real-network sections: ``"auto"`` (MNIST when ``data_root`` holds it,
        else digits), ``"digits"``, ``"mnist"``, ``"fashion-mnist"``, ``"cifar10"``.
    device:
        torch device of the torch-model runs (``None`` or ``"cpu"``: the CPU, so that the same
        seed gives the same claims on every machine; ``"cuda"``: one GPU per Dask worker).
    """

    mode: str = "quick"
    seed: int = 0
    data_root: str | None = None
    dataset: str = "auto"
    device: str | None = None

    def __post_init__(self) -> None:
        one_of(self.mode, "mode", MODES)
        nonnegative_int(self.seed, "seed")
        one_of(self.dataset, "dataset", ("auto", "digits", "mnist", "fashion-mnist", "cifar10"))
        if self.data_root is not None:
            root = Path(self.data_root).expanduser()
            if not root.is_dir():
                raise ValueError(f"data_root: {str(root)!r} is not a directory")
            object.__setattr__(self, "data_root", str(root.resolve()))
        if self.dataset not in ("auto", "digits") and self.data_root is None:
            raise ValueError(f"dataset {self.dataset!r} needs data_root (nothing is downloaded)")

    @property
    def quick(self) -> bool:
        return self.mode == "quick"

    def pick(self, quick: Any, full: Any) -> Any:
        """``quick`` in quick mode, else ``full``."""
        return quick if self.quick else full


@dataclass
class SectionResult:
    """What a section contributes to the report.

    Attributes
    ----------
    key, title:
        Section identifier and heading.
    paper:
        What the paper claims, in a sentence or two.
    claims:
        The checked measurements.
    figures:
        ``(file name under figures/, caption)`` pairs.
    data:
        File names under ``data/`` holding the numbers behind the figures.
    notes:
        Findings worth stating beside the claims (honest negatives included).
    """

    key: str
    title: str
    paper: str
    claims: list[Claim] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
