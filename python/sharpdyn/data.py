"""Datasets of the paper's experiments as NumPy arrays (or tensors): MNIST and Fashion-MNIST
from IDX files, CIFAR-10 from its python-pickle batches, scikit-learn's bundled digits (no
download) and synthetic Gaussian data with teacher or random targets.

Nothing is downloaded: point ``root`` at a folder that holds the standard files.

- MNIST / Fashion-MNIST: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``).
- CIFAR-10: ``data_batch_1`` ... ``data_batch_5`` and ``test_batch`` (in ``root`` or in
  ``root/cifar-10-batches-py``).
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .validation import check_allocation, finite_nonnegative_float, nonnegative_int, one_of, positive_int, product

DATASETS = ("mnist", "fashion-mnist", "cifar10", "digits", "synthetic")
STANDARDIZE = ("per_sample", "per_feature", "none")
TARGETS = ("onehot", "labels", "regression")
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
_IDX_DTYPES: dict[int, np.dtype[Any]] = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
                                         0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not): magic ``0 0 dtype ndim``, big-endian int32 sizes, data."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except EOFError as exc:
            raise ValueError(f"{path} is truncated: its gzip stream ends early (download it again)") from exc
        except (gzip.BadGzipFile, OSError) as exc:
            raise ValueError(f"{path} is not a valid gzip file: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4).astype(np.int64)
    dtype = _IDX_DTYPES[raw[2]]
    count = int(np.prod(dims))
    offset = 4 + 4 * ndim
    if len(raw) - offset < count * dtype.itemsize:
        raise ValueError(f"{path} is truncated: header says {tuple(dims)} ({count * dtype.itemsize} data bytes) "
                         f"but the file holds {len(raw) - offset}")
    if len(raw) - offset != count * dtype.itemsize:
        raise ValueError(f"{path}: header says {tuple(dims)} but the file holds {len(raw) - offset} data bytes")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(tuple(dims))


def _find(root: Path, name: str) -> Path | None:
    for cand in (root / name, root / (name + ".gz")):
        if cand.is_file():
            return cand
    return None


def _root(root: Any, dataset: str) -> Path:
    if root is None:
        raise ValueError(f"root is required for {dataset!r}: the folder that holds its files (nothing is downloaded)")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{dataset}: root {str(path)!r} is not a directory")
    return path


def load_idx_dataset(root: Any, split: str = "train", name: str = "mnist") -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 1, 28, 28)`` uint8 and labels ``(N,)`` of MNIST or Fashion-MNIST."""
    path = _root(root, name)
    img_name, lab_name = IDX_FILES[one_of(split, "split", tuple(IDX_FILES))]
    img, lab = _find(path, img_name), _find(path, lab_name)
    if img is None or lab is None:
        missing = [n for n, f in ((img_name, img), (lab_name, lab)) if f is None]
        raise FileNotFoundError(f"{name}: {path} lacks {', '.join(missing)} (or .gz); expected the standard "
                                f"IDX files {', '.join(IDX_FILES['train'] + IDX_FILES['test'])}")
    images, labels = read_idx(img), read_idx(lab)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{name}: images {images.shape} and labels {labels.shape} do not match")
    return images[:, None, :, :], labels.astype(np.int64)


def load_cifar10(root: Any, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)`` from CIFAR-10's pickle batches."""
    path = _root(root, "cifar10")
    files = CIFAR_FILES[one_of(split, "split", tuple(CIFAR_FILES))]
    base = path / "cifar-10-batches-py" if (path / "cifar-10-batches-py").is_dir() else path
    missing = [f for f in files if not (base / f).is_file()]
    if missing:
        raise FileNotFoundError(f"cifar10: {base} lacks {', '.join(missing)}; expected the python-pickle batches "
                                f"{', '.join(CIFAR_FILES['train'] + CIFAR_FILES['test'])}")
    xs, ys = [], []
    for f in files:
        with open(base / f, "rb") as fh:
            d = pickle.load(fh, encoding="bytes")
        data = np.asarray(d[b"data"] if b"data" in d else d["data"], dtype=np.uint8)
        labels = d[b"labels"] if b"labels" in d else d["labels"]
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(np.asarray(labels, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: images ``(1797, 1, 8, 8)`` (values 0..16), labels."""
    try:
        from sklearn.datasets import load_digits as _sk_digits
    except ModuleNotFoundError as exc:
        raise ImportError("the 'digits' dataset needs scikit-learn: pip install sharpdyn[torch]") from exc
    d = _sk_digits()
    return d.images[:, None, :, :].astype(np.float64), d.target.astype(np.int64)


def synthetic(n: int, *, d: int = 16, n_out: int = 1, targets: str = "teacher", teacher_width: int = 64,
              noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian inputs ``X ~ N(0, I_d)`` of shape ``(n, d)`` with targets ``(n, n_out)``:
    ``"teacher"``: a random two-layer tanh network ``y = W2 tanh(W1 x / sqrt(d)) / sqrt(h)``
    (``h = teacher_width``, standard-normal weights) plus ``noise`` Gaussian noise;
    ``"random"``: independent standard-normal targets. ``noise`` must be finite and >= 0."""
    n, d, n_out = positive_int(n, "n"), positive_int(d, "d"), positive_int(n_out, "n_out")
    one_of(targets, "targets", ("teacher", "random"))
    noise = finite_nonnegative_float(noise, "noise")
    seed = nonnegative_int(seed, "seed")
    h = positive_int(teacher_width, "teacher_width") if targets == "teacher" else 0
    check_allocation(8 * (2 * product(n, d) + 3 * product(n, n_out) + 2 * product(n, h)), "n",
                     hint=f"{n:,} examples of dimension {d}; ask for fewer")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if targets == "teacher":
        W1 = rng.standard_normal((h, d))
        W2 = rng.standard_normal((n_out, h))
        Y = np.tanh(X @ W1.T / np.sqrt(d)) @ W2.T / np.sqrt(h)
    else:
        Y = rng.standard_normal((n, n_out))
    if noise:
        Y = Y + float(noise) * rng.standard_normal(Y.shape)
    return X, Y


def load(
    name: str,
    *,
    root: Any = None,
    n: int | None = None,
    split: str = "train",
    classes: int | None = None,
    standardize: str = "per_sample",
    targets: str = "onehot",
    flatten: bool = False,
    seed: int = 0,
    as_tensor: bool = False,
    dtype: Any = np.float32,
    **synthetic_options: Any,
) -> tuple[Any, Any]:
    """Load a dataset as ``(X, Y)``.

    Parameters
    ----------
    name:
        ``"mnist"``, ``"fashion-mnist"``, ``"cifar10"``, ``"digits"`` or ``"synthetic"``.
    root:
        Folder with the dataset's standard files (MNIST-like and CIFAR-10 only).
    n:
        Keep ``n`` examples, a seeded random subset (``seed``) of the split (after the class
        filter). ``None``: all (synthetic: required).
    split:
        ``"train"`` or ``"test"``.
    classes:
        Keep only labels ``0 .. classes-1`` (and ``classes`` one-hot columns); at least 2.
    standardize:
        ``"per_sample"`` (each example to zero mean, unit variance: the paper's choice),
        ``"per_feature"`` (each input feature over the kept examples) or ``"none"`` (pixel
        values scaled to [0, 1]).
    targets:
        ``"onehot"`` (float ``(n, classes)``, the MSE regression targets), ``"labels"``
        (int64 ``(n,)``, for cross-entropy). Synthetic data always have regression targets.
    flatten:
        Images as ``(n, C*H*W)`` instead of ``(n, C, H, W)``.
    as_tensor, dtype:
        Return torch tensors instead of NumPy arrays; float dtype of ``X`` and float ``Y``.
    synthetic_options:
        ``d``, ``n_out``, ``targets`` ("teacher"/"random"), ``teacher_width``, ``noise`` for
        :func:`synthetic`.
    """
    key = one_of(name.lower() if isinstance(name, str) else name, "name", DATASETS)
    one_of(standardize, "standardize", STANDARDIZE)
    if n is not None:
        n = positive_int(n, "n")
    seed = nonnegative_int(seed, "seed")
    if classes is not None:
        classes = positive_int(classes, "classes")
        if classes < 2:
            raise ValueError(f"classes must be >= 2 (one class is no classification task), got {classes}")
    if key == "synthetic":
        if n is None:
            raise ValueError("n is required for synthetic data")
        syn_targets = synthetic_options.pop("targets", "teacher") if targets == "onehot" else targets
        X, Y = synthetic(n, targets=syn_targets, seed=seed, **synthetic_options)
    else:
        if synthetic_options:
            raise TypeError(f"unexpected options for {key!r}: {sorted(synthetic_options)}")
        one_of(targets, "targets", ("onehot", "labels"))
        if key in ("mnist", "fashion-mnist"):
            images, labels = load_idx_dataset(root, split, key)
            images = images.astype(np.float64) / 255.0
        elif key == "cifar10":
            images, labels = load_cifar10(root, split)
            images = images.astype(np.float64) / 255.0
        else:
            images, labels = load_digits()
            images = images / 16.0
        n_classes = int(labels.max()) + 1
        if classes is not None:
            if classes > n_classes:
                raise ValueError(f"classes={classes} exceeds the {n_classes} classes of {key}")
            keep = labels < classes
            images, labels, n_classes = images[keep], labels[keep], classes
        if n is not None:
            if n > len(labels):
                raise ValueError(f"n={n} exceeds the {len(labels)} available examples of {key} ({split})")
            idx = np.sort(np.random.default_rng(seed).permutation(len(labels))[:n])
            images, labels = images[idx], labels[idx]
        X = images
        Y = labels if targets == "labels" else np.eye(n_classes)[labels]
    X = _standardized(np.asarray(X, dtype=np.float64), standardize)
    if flatten:
        X = X.reshape(X.shape[0], -1)
    X = X.astype(dtype)
    if Y.dtype != np.int64:
        Y = Y.astype(dtype)
    if as_tensor:
        import torch

        return torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(np.ascontiguousarray(Y))
    return X, Y


def _standardized(X: np.ndarray, how: str) -> np.ndarray:
    flat = X.reshape(X.shape[0], -1)
    if how == "per_sample":
        sd = flat.std(axis=1, keepdims=True)
        flat = (flat - flat.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    elif how == "per_feature":
        sd = flat.std(axis=0, keepdims=True)
        flat = (flat - flat.mean(axis=0, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    return flat.reshape(X.shape)
