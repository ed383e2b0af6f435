"""Data loaders: real MNIST, IDX and CIFAR pickle files written here, digits, synthetic."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from sharpdyn import data

from conftest import mnist_full_dir


def _write_idx(path, arr, gz=False):
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(">" + "i" * arr.ndim, *arr.shape)
    raw = header + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_files_round_trip(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 30, dtype=np.uint8)
    suffix = ".gz" if gz else ""
    _write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, gz)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, gz)
    X, Y = data.load("fashion-mnist", root=tmp_path, standardize="none", targets="labels", dtype=np.float64)
    assert X.shape == (30, 1, 28, 28)
    assert np.array_equal(Y, labels)
    assert np.allclose(X[:, 0], images / 255.0)


def test_missing_files_error_names_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        data.load("mnist", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        data.load("cifar10", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        data.load("mnist", root=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="root"):
        data.load("mnist")


def test_corrupt_idx_is_rejected(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="IDX"):
        data.read_idx(tmp_path / "bad")


def test_cifar10_pickles(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, 4))}
        batches.append(d)
        with open(folder / name, "wb") as fh:
            pickle.dump(d, fh)
    X, Y = data.load("cifar10", root=tmp_path, standardize="none", targets="labels", dtype=np.float64)
    assert X.shape == (20, 3, 32, 32)
    assert np.allclose(X[4], batches[1][b"data"][0].reshape(3, 32, 32) / 255.0)
    Xt, _ = data.load("cifar10", root=folder, split="test", flatten=True)
    assert Xt.shape == (4, 3072)


def test_real_mnist_subset_standardised_onehot(mnist_dir):
    n = 500 if mnist_full_dir() else 200  # the shipped subset holds 312 examples of classes 0-2
    X, Y = data.load("mnist", root=mnist_dir, n=n, classes=3, seed=2)
    assert X.shape == (n, 1, 28, 28) and X.dtype == np.float32
    assert Y.shape == (n, 3) and np.array_equal(Y.sum(axis=1), np.ones(n))
    flat = X.reshape(n, -1).astype(np.float64)
    assert np.allclose(flat.mean(axis=1), 0, atol=1e-5) and np.allclose(flat.std(axis=1), 1, atol=1e-4)
    X2, _ = data.load("mnist", root=mnist_dir, n=n, classes=3, seed=2)
    assert np.array_equal(X, X2)
    n_test = 10000 if mnist_full_dir() else 1000  # the full files or the shipped subset
    Xt, Yt = data.load("mnist", root=mnist_dir, split="test", targets="labels", standardize="per_feature")
    assert Xt.shape == (n_test, 1, 28, 28) and Yt.max() == 9
    col = Xt.reshape(n_test, -1)[:, 300].astype(np.float64)
    assert abs(col.mean()) < 1e-4 and abs(col.std() - 1) < 1e-3


def test_real_mnist_first_labels(mnist_dir):
    """The published first labels of MNIST's training and test files (LeCun et al.)."""
    _, y = data.load("mnist", root=mnist_dir, targets="labels", standardize="none")
    _, yt = data.load("mnist", root=mnist_dir, split="test", targets="labels", standardize="none")
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert yt[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert len(y) == (60000 if mnist_full_dir() else 1000)


def test_digits_default_and_tensors():
    import torch

    X, Y = data.load("digits", n=100, as_tensor=True, flatten=True, dtype=np.float64)
    assert isinstance(X, torch.Tensor) and X.shape == (100, 64) and X.dtype == torch.float64
    assert Y.shape == (100, 10)


def test_synthetic_teacher_and_random():
    X, Y = data.load("synthetic", n=50, d=6, n_out=2, seed=3, standardize="none", dtype=np.float64)
    rng = np.random.default_rng(3)
    Xr = rng.standard_normal((50, 6))
    W1, W2 = rng.standard_normal((64, 6)), rng.standard_normal((2, 64))
    assert np.allclose(X, Xr) and np.allclose(Y, np.tanh(Xr @ W1.T / np.sqrt(6)) @ W2.T / 8)
    _, Yrand = data.load("synthetic", n=50, targets="random", seed=3)
    assert Yrand.shape == (50, 1)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"name": "imagenet"}, ValueError, "name"),
        ({"name": "digits", "n": 0}, ValueError, "n"),
        ({"name": "digits", "n": 5000}, ValueError, "exceeds"),
        ({"name": "digits", "classes": 11}, ValueError, "classes"),
        ({"name": "digits", "standardize": "zscore"}, ValueError, "standardize"),
        ({"name": "digits", "targets": "soft"}, ValueError, "targets"),
        ({"name": "digits", "d": 3}, TypeError, "unexpected"),
        ({"name": "synthetic"}, ValueError, "n is required"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    name = kwargs.pop("name")
    with pytest.raises(exc, match=match):
        data.load(name, **kwargs)


def test_mnist_fixture_never_leaves_the_repository(mnist_dir):
    """Without SHARPDYN_MNIST_DIR the tests read the subset shipped in tests/data/mnist (a clone
    anywhere, with no sibling folders, runs them)."""
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    subset = tests / "data" / "mnist"
    for name in data.IDX_FILES["train"] + data.IDX_FILES["test"]:
        assert data.read_idx(subset / (name + ".gz")).shape[0] == 1000
    if mnist_full_dir() is None:
        assert mnist_dir.resolve() == subset
    assert "/work/" not in (tests / "conftest.py").read_text()
