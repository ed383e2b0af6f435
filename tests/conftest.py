from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
MNIST_SUBSET = Path(__file__).resolve().parent / "data" / "mnist"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def mnist_full_dir() -> Path | None:
    """The folder named by ``$SHARPDYN_MNIST_DIR`` (the full standard MNIST files), or None."""
    env = os.environ.get("SHARPDYN_MNIST_DIR")
    return Path(env).expanduser() if env else None


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Real MNIST IDX files: ``$SHARPDYN_MNIST_DIR`` if set (the full files), else the subset
    shipped in tests/data/mnist (the first 1,000 examples of each split, see its README)."""
    full = mnist_full_dir()
    if full is not None:
        if not full.is_dir():
            pytest.fail(f"SHARPDYN_MNIST_DIR={str(full)!r} is not a directory")
        return full
    return MNIST_SUBSET
