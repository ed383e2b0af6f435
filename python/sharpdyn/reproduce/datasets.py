"""The real-network sections' data: which dataset a configuration uses and how a task loads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import ReproduceConfig

_FOLDERS = {"mnist": ("mnist", "MNIST"), "fashion-mnist": ("fashion-mnist", "fashion_mnist", "FashionMNIST"),
            "cifar10": ("cifar10", "cifar-10-batches-py", "cifar-10")}


def _holds(folder: Path, name: str) -> bool:
    if name == "cifar10":
        return (folder / "data_batch_1").is_file() or (folder / "cifar-10-batches-py" / "data_batch_1").is_file()
    return any((folder / f"train-images-idx3-ubyte{ext}").is_file() for ext in ("", ".gz"))


def dataset_root(data_root: str, name: str) -> str | None:
    """The folder under ``data_root`` (itself or a conventional subfolder) holding ``name``."""
    root = Path(data_root)
    for cand in [root] + [root / sub for sub in _FOLDERS[name]]:
        if cand.is_dir() and _holds(cand, name):
            return str(cand)
    return None


def resolve(cfg: ReproduceConfig) -> tuple[str, str | None]:
    """``(dataset, folder)`` of the real-network runs: the bundled digits unless real data is
    given (``auto`` picks MNIST, then Fashion-MNIST, then CIFAR-10 under ``data_root``)."""
    if cfg.dataset == "digits" or cfg.data_root is None:
        return "digits", None
    names = ("mnist", "fashion-mnist", "cifar10") if cfg.dataset == "auto" else (cfg.dataset,)
    for name in names:
        folder = dataset_root(cfg.data_root, name)
        if folder is not None:
            return name, folder
    if cfg.dataset == "auto":
        return "digits", None
    raise ValueError(f"data_root: no {cfg.dataset} files under {cfg.data_root}")


def load(dataset: str, root: str | None, n: int, seed: int, *, flatten: bool, classes: int | None = None,
         as_tensor: bool = False):
    """``(X, Y)`` in float64: per-sample standardised inputs, one-hot targets (the paper's choice)."""
    from .. import data

    if dataset == "digits":
        return data.load("digits", n=n, seed=seed, flatten=flatten, dtype=np.float64, as_tensor=as_tensor,
                         classes=classes)
    return data.load(dataset, root=root, n=n, seed=seed, flatten=flatten, dtype=np.float64, as_tensor=as_tensor,
                     classes=classes)
