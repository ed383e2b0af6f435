"""HessianOperator / GaussNewtonOperator against dense torch.autograd.functional Hessians."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.sparse.linalg import eigsh
from torch import nn

from sharpdyn.torch import GaussNewtonOperator, HessianOperator, models
from sharpdyn.torch.losses import cross_entropy, mse

from torch_reference import dense_hessian, dense_jacobian, reference_mse


def _data(shape, n=12, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn((n, *shape), generator=g, dtype=torch.float64)
    Y = torch.randn((n, k), generator=g, dtype=torch.float64)
    return X, Y


def _model(name):
    torch.manual_seed(1)
    if name == "fcn_tanh":
        return models.fcn(6, 3, depth=3, width=7, activation="tanh").double(), (6,)
    if name == "fcn_relu_mup":
        return models.fcn(6, 3, depth=2, width=9, activation="relu", param="mup", init_scale=1.5).double(), (6,)
    if name == "myrtle":
        return models.myrtle_cnn(1, 3, width=3, activation="tanh").double(), (1, 6, 6)
    if name == "resnet_layernorm":
        return models.resnet(1, 3, width=2, blocks=(1,), norm="layernorm", activation="tanh").double(), (1, 5, 5)
    if name == "transformer":
        return models.transformer(8, 3, token_size=2, width=4, depth=1, heads=2).double(), (8,)
    raise KeyError(name)


ARCHS = ["fcn_tanh", "fcn_relu_mup", "myrtle", "resnet_layernorm", "transformer"]
_DENSE: dict = {}


def _dense(arch):
    """(model, X, Y, dense Hessian) per architecture, computed once per session."""
    if arch not in _DENSE:
        model, shape = _model(arch)
        X, Y = _data(shape)
        _DENSE[arch] = (model, X, Y, dense_hessian(model, reference_mse, X, Y))
    return _DENSE[arch]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("method", ["double_backward", "forward_over_reverse"])
def test_hvp_equals_dense_hessian(arch, method):
    model, X, Y, H = _dense(arch)
    op = HessianOperator(model, "mse", (X, Y), device="cpu", method=method)
    assert op.shape == H.shape
    V = torch.randn(H.shape[0], 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    scale = float(torch.linalg.matrix_norm(H, 2))
    for j in range(3):
        hv = op.matvec(V[:, j])
        assert float((hv - H @ V[:, j]).abs().max()) <= 1e-10 * scale
    assert op.n_products == 3


def test_cross_entropy_hessian_and_labels():
    model, shape = _model("fcn_tanh")
    X, _ = _data(shape)
    labels = torch.arange(X.shape[0]) % 3

    def ref(out, y):
        return torch.nn.functional.cross_entropy(out, y)

    H = dense_hessian(model, ref, X, labels)
    op = HessianOperator(model, "cross_entropy", (X, labels), device="cpu")
    v = torch.randn(op.n_params, dtype=torch.float64)
    assert torch.allclose(op.matvec(v), H @ v, rtol=0, atol=1e-12)
    # soft one-hot targets give the same loss as integer labels
    onehot = torch.eye(3, dtype=torch.float64)[labels]
    out = model(X)
    assert torch.allclose(cross_entropy(out, onehot), cross_entropy(out, labels), atol=1e-14)


@pytest.mark.parametrize("chunk", [1, 5, 12])
def test_chunking_and_batches_do_not_change_products(chunk):
    model, shape = _model("myrtle")
    X, Y = _data(shape, n=12)
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    ref = HessianOperator(model, "mse", (X, Y), device="cpu").matvec(v)
    chunked = HessianOperator(model, "mse", (X, Y), chunk_size=chunk, device="cpu").matvec(v)
    batches = [(X[:7], Y[:7]), (X[7:], Y[7:])]
    batched = HessianOperator(model, "mse", batches, chunk_size=chunk, device="cpu").matvec(v)
    assert torch.allclose(chunked, ref, rtol=0, atol=1e-13 * float(ref.abs().max()))
    assert torch.allclose(batched, ref, rtol=0, atol=1e-13 * float(ref.abs().max()))


def test_numpy_matvec_matmat_and_scipy_eigsh():
    model, shape = _model("fcn_tanh")
    X, Y = _data(shape)
    H = dense_hessian(model, reference_mse, X, Y).numpy()
    op = HessianOperator(model, mse, (X.numpy(), Y.numpy()), device="cpu")
    V = np.random.default_rng(0).standard_normal((op.n_params, 2))
    assert np.allclose(op @ V, H @ V, atol=1e-12)
    assert np.allclose(op @ V[:, 0], H @ V[:, 0], atol=1e-12)
    vals = eigsh(op.to_scipy(), k=2, which="LA", tol=1e-12, return_eigenvectors=False)
    assert np.allclose(np.sort(vals), np.linalg.eigvalsh(H)[-2:], rtol=1e-9)


def test_float32_operator_close_to_float64():
    model, shape = _model("fcn_tanh")
    X, Y = _data(shape)
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    hv64 = HessianOperator(model, "mse", (X, Y), device="cpu").matvec(v)
    op32 = HessianOperator(model, "mse", (X, Y), device="cpu", dtype="float32")
    hv32 = op32.matvec(v)
    assert hv32.dtype == torch.float32 and op32.dtype == torch.float32
    assert torch.allclose(hv32.double(), hv64, rtol=0, atol=1e-5 * float(hv64.abs().max()))
    assert next(model.parameters()).dtype == torch.float64  # the model itself is untouched


def test_gauss_newton_equals_dense_jtj_over_n():
    model, shape = _model("resnet_layernorm")
    X, Y = _data(shape, n=6)
    J = dense_jacobian(model, X)
    G = J.T @ J / X.shape[0]
    op = GaussNewtonOperator(model, "mse", (X, Y), chunk_size=4, device="cpu")
    v = torch.randn(op.n_params, dtype=torch.float64)
    assert torch.allclose(op.matvec(v), G @ v, rtol=0, atol=1e-12 * float(G.abs().max()))


def test_gauss_newton_cross_entropy_uses_softmax_hessian():
    model, shape = _model("fcn_tanh")
    X, _ = _data(shape, n=5)
    labels = torch.tensor([0, 1, 2, 0, 1])
    J = dense_jacobian(model, X).reshape(5, 3, -1)
    p = torch.softmax(model(X).detach(), dim=-1)
    G = sum(J[i].T @ (torch.diag(p[i]) - torch.outer(p[i], p[i])) @ J[i] for i in range(5)) / 5
    op = GaussNewtonOperator(model, "cross_entropy", (X, labels), device="cpu")
    v = torch.randn(op.n_params, dtype=torch.float64)
    assert torch.allclose(op.matvec(v), G @ v, rtol=0, atol=1e-12)


def _bn_model():
    torch.manual_seed(3)
    model = models.resnet(1, 3, width=2, blocks=(1,), norm="batchnorm", activation="tanh").double()
    X, Y = _data((1, 5, 5), n=8)
    model.train()
    with torch.no_grad():
        for _ in range(3):  # give the running statistics non-trivial values
            model(X + 0.5)
    return model, X, Y


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_mode_is_explicit_and_restored(mode):
    model, X, Y = _bn_model()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    op = HessianOperator(model, "mse", (X, Y), device="cpu", mode=mode)
    ref_model, _, _ = _bn_model()
    ref_model.train(mode == "train")
    H = dense_hessian(ref_model, reference_mse, X, Y)
    v = torch.randn(op.n_params, dtype=torch.float64)
    assert torch.allclose(op.matvec(v), H @ v, rtol=0, atol=1e-10 * float(H.abs().max()))
    assert model.training and all(m.training for m in model.modules())  # mode restored
    for k, t in model.state_dict().items():  # parameters and running stats untouched
        assert torch.equal(t, state[k]), k
    assert op.training == (mode == "train")


def test_batchnorm_eval_differs_from_train():
    model, X, Y = _bn_model()
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    a = HessianOperator(model, "mse", (X, Y), device="cpu", mode="train").matvec(v)
    b = HessianOperator(model, "mse", (X, Y), device="cpu", mode="eval").matvec(v)
    c = HessianOperator(model, "mse", (X, Y), device="cpu").matvec(v)  # current mode: train
    assert not torch.allclose(a, b)
    assert torch.equal(a, c)


def test_refresh_reads_new_parameters():
    model, shape = _model("fcn_tanh")
    X, Y = _data(shape)
    op = HessianOperator(model, "mse", (X, Y), device="cpu")
    v = torch.randn(op.n_params, dtype=torch.float64)
    before = op.matvec(v)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.3)
    assert torch.equal(op.matvec(v), before)  # snapshot
    op.refresh()
    H = dense_hessian(model, reference_mse, X, Y)
    assert torch.allclose(op.matvec(v), H @ v, atol=1e-12)


def test_dropout_in_train_mode_is_rejected_eval_allowed():
    model = nn.Sequential(nn.Linear(4, 5), nn.Dropout(0.3), nn.Linear(5, 2)).double()
    X, Y = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="Dropout"):
        HessianOperator(model, "mse", (X, Y), device="cpu")
    op = HessianOperator(model, "mse", (X, Y), device="cpu", mode="eval")
    assert model.training  # not changed
    model.eval()
    H = dense_hessian(model, reference_mse, X, Y)
    v = torch.randn(op.n_params, dtype=torch.float64)
    assert torch.allclose(op.matvec(v), H @ v, atol=1e-12)


def test_device_defaults_and_override():
    model, shape = _model("fcn_tanh")
    X, Y = _data(shape)
    op = HessianOperator(model, "mse", (X, Y))
    assert op.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert HessianOperator(model, "mse", (X, Y), device="cpu").device.type == "cpu"
    assert "n_params" in repr(op)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"loss_fn": "hinge"}, ValueError, "loss"),
        ({"mode": "inference"}, ValueError, "mode"),
        ({"method": "finite_difference"}, ValueError, "method"),
        ({"dtype": "float16"}, ValueError, "dtype"),
        ({"chunk_size": 0}, ValueError, "chunk_size"),
        ({"device": "nonsense"}, ValueError, "device"),
        ({"data": (torch.zeros(3, 6), torch.zeros(4, 3))}, ValueError, "leading"),
        ({"data": (torch.full((3, 6), float("nan")), torch.zeros(3, 3))}, ValueError, "NaN"),
        ({"data": []}, ValueError, "at least one"),
        ({"data": 5}, TypeError, "pair"),
        ({"model": "not a model"}, TypeError, "nn.Module"),
    ],
)
def test_bad_input(kwargs, exc, match):
    model, shape = _model("fcn_tanh")
    args = {"model": model, "loss_fn": "mse", "data": _data(shape), "device": "cpu", **kwargs}
    with pytest.raises(exc, match=match):
        HessianOperator(args.pop("model"), args.pop("loss_fn"), args.pop("data"), **args)


def test_wrong_vector_shape():
    model, shape = _model("fcn_tanh")
    op = HessianOperator(model, "mse", _data(shape), device="cpu")
    with pytest.raises(ValueError, match="shape"):
        op.matvec(torch.zeros(op.n_params + 1, dtype=torch.float64))


def test_cached_gradient_graph_gives_the_same_products_and_refreshes():
    model, X, Y, H = _dense("myrtle")
    op = HessianOperator(model, "mse", (X, Y), device="cpu", chunk_size=5, cache_graph=True)
    V = torch.randn(op.n_params, 2, dtype=torch.float64)
    for j in range(2):  # second product reuses the graphs
        assert torch.allclose(op.matvec(V[:, j]), H @ V[:, j], rtol=0, atol=1e-10 * float(H.abs().max()))
    assert len(op._graphs) == 3
    op.refresh()
    assert op._graphs == {}
    with pytest.raises(ValueError, match="cache_graph"):
        HessianOperator(model, "mse", (X, Y), device="cpu", method="forward_over_reverse", cache_graph=True)


def test_products_do_not_depend_on_thread_count():
    model, X, Y, H = _dense("fcn_tanh")
    op = HessianOperator(model, "mse", (X, Y), device="cpu")
    v = torch.randn(op.n_params, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = op.matvec(v)
        torch.set_num_threads(2)
        two = op.matvec(v)
    finally:
        torch.set_num_threads(before)
    assert torch.allclose(one, two, rtol=0, atol=1e-14 * float(one.abs().max()))


def test_default_operator_keeps_graphs_within_the_memory_budget():
    """Default (cache_graph=None): graphs are kept while they fit in max_graph_bytes, chunks
    that do not fit are recomputed; products equal the dense Hessian's either way."""
    model, X, Y, H = _dense("myrtle")
    V = torch.randn(H.shape[0], 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    atol = 1e-10 * float(H.abs().max())
    everything = HessianOperator(model, "mse", (X, Y), device="cpu", chunk_size=5)
    for j in range(2):
        assert torch.allclose(everything.matvec(V[:, j]), H @ V[:, j], rtol=0, atol=atol)
    assert sorted(everything._graphs) == [0, 1, 2] and everything._uncached == set()
    per_chunk = everything.graph_bytes / 3
    # the saved activations of a chunk are at least its conv outputs (5 examples x 3 channels x 36 pixels)
    assert per_chunk >= 5 * 3 * 36 * 8
    budget = int(1.5 * per_chunk)  # room for one chunk's graph only
    bounded = HessianOperator(model, "mse", (X, Y), device="cpu", chunk_size=5, max_graph_bytes=budget)
    for j in range(2):
        assert torch.allclose(bounded.matvec(V[:, j]), H @ V[:, j], rtol=0, atol=atol)
    assert len(bounded._graphs) == 1 and len(bounded._uncached) == 2
    assert 0 < bounded.graph_bytes <= budget
    bounded.refresh()
    assert bounded._graphs == {} and bounded.graph_bytes == 0
    never = HessianOperator(model, "mse", (X, Y), device="cpu", chunk_size=5, max_graph_bytes=0)
    assert torch.allclose(never.matvec(V[:, 0]), H @ V[:, 0], rtol=0, atol=atol)
    assert never._graphs == {}
    for bad, exc in (({"max_graph_bytes": -1}, ValueError), ({"max_graph_bytes": 1.5}, TypeError),
                     ({"cache_graph": "yes"}, TypeError)):
        with pytest.raises(exc, match=next(iter(bad))):
            HessianOperator(model, "mse", (X, Y), device="cpu", **bad)
