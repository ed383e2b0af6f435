from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    path = SHARED / "data" / "mnist"
    if not path.is_dir():
        pytest.fail(f"real MNIST files expected at {path}")
    return path
