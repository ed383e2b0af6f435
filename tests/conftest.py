from __future__ import annotations

from pathlib import Path

import os

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def mnist_candidates() -> list[Path]:
    """Where the real MNIST IDX files are looked for: $SHARPDYN_MNIST_DIR, then the project's
    shared folder beside the checkout, then the workplace's shared folder."""
    env = os.environ.get("SHARPDYN_MNIST_DIR")
    return ([Path(env)] if env else []) + [SHARED / "data" / "mnist", Path("/work/shared/data/mnist")]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    for path in mnist_candidates():
        if path.is_dir():
            return path
    pytest.fail("real MNIST files expected in one of " + ", ".join(map(str, mnist_candidates()))
                + " (set SHARPDYN_MNIST_DIR)")
