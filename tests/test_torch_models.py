"""Architectures: shapes, SP vs muP readout scaling, init scale, norms, bad arguments."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from sharpdyn.torch import models

import torch_reference  # noqa: F401  (one torch thread)


@pytest.mark.parametrize(
    "build, x_shape",
    [
        (lambda p, s: models.fcn(12, 4, depth=3, width=16, param=p, init_scale=s), (5, 12)),
        (lambda p, s: models.myrtle_cnn(3, 4, width=8, depth=7, param=p, init_scale=s), (5, 3, 12, 12)),
        (lambda p, s: models.resnet(3, 4, width=4, blocks=(1, 1), norm="layernorm", param=p, init_scale=s),
         (5, 3, 8, 8)),
        (lambda p, s: models.transformer(12, 4, token_size=3, width=8, heads=2, param=p, init_scale=s), (5, 12)),
    ],
    ids=["fcn", "myrtle7", "resnet_ln", "transformer"],
)
def test_shapes_and_mup_readout_is_exact_multiplier(build, x_shape):
    x = torch.randn(x_shape)
    torch.manual_seed(0)
    sp = build("sp", 1.0)
    torch.manual_seed(0)
    mup = build("mup", 1.0)
    out_sp, out_mup = sp(x), mup(x)
    assert out_sp.shape == (5, 4)
    readout = [m for m in mup.modules() if isinstance(m, models.Readout)][-1]
    width = readout.in_features
    if not isinstance(mup, models.Transformer):  # attention scale also changes with param
        assert torch.allclose(out_mup, out_sp * width**-0.5, atol=1e-6)
    assert readout.multiplier == pytest.approx(width**-0.5)


def test_init_variance_follows_fan_in_and_gain():
    torch.manual_seed(0)
    net = models.fcn(400, 3, depth=2, width=500, activation="relu", init_scale=0.5)
    w = net[1].weight
    assert w.std().item() == pytest.approx(0.5 * math.sqrt(2 / 400), rel=0.02)
    torch.manual_seed(0)
    tanh = models.fcn(400, 3, depth=2, width=500, activation="tanh")
    assert tanh[1].weight.std().item() == pytest.approx(math.sqrt(1 / 400), rel=0.02)
    assert torch.count_nonzero(tanh[1].bias) == 0


def test_resnet_norm_choices():
    bn = models.resnet(1, 2, width=2, norm="batchnorm")
    ln = models.resnet(1, 2, width=2, norm="layernorm")
    none = models.resnet(1, 2, width=2, norm="none")
    assert any(isinstance(m, nn.BatchNorm2d) for m in bn.modules())
    assert any(isinstance(m, nn.GroupNorm) and m.num_groups == 1 for m in ln.modules())
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in none.modules())


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: models.fcn(0, 2), "d_in"),
        (lambda: models.fcn(3, 2, activation="swish"), "activation"),
        (lambda: models.fcn(3, 2, param="ntk2"), "param"),
        (lambda: models.fcn(3, 2, init_scale=-1.0), "init_scale"),
        (lambda: models.myrtle_cnn(depth=6), "depth"),
        (lambda: models.resnet(norm="groupnorm"), "norm"),
        (lambda: models.transformer(10, 2, token_size=3), "token_size"),
        (lambda: models.transformer(12, 2, token_size=3, width=10, heads=3), "heads"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
