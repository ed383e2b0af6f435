"""Property-based checks (hypothesis) of identities of the UV map."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpdyn import uv

finite = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False)
positive = st.floats(min_value=0.01, max_value=3.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(g=finite, z=positive, Y=finite)
def test_map_is_symmetric_under_sign_flip(g, z, Y):
    """(g, z; Y) -> (-g, z; -Y) commutes with the map (f -> -f, y -> -y symmetry of the net)."""
    g1, z1 = uv.normalized_map(g, z, Y=Y)
    g2, z2 = uv.normalized_map(-g, z, Y=-Y)
    assert np.allclose(g2, -g1, rtol=1e-13, atol=1e-13)
    assert np.allclose(z2, z1, rtol=1e-13, atol=1e-13)


@settings(max_examples=200, deadline=None)
@given(f=finite, ntk=positive, lr=positive, y=finite, width=st.integers(1, 10000), s=st.floats(0.0, 1.0))
def test_physical_and_normalised_maps_agree(f, ntk, lr, y, width, s):
    f1, k1 = uv.function_map(f, ntk, lr=lr, width=width, y=y, param=s)
    g, z, Y = uv.to_normalized(f, ntk, lr=lr, width=width, y=y, param=s)
    g1, z1 = uv.normalized_map(g, z, Y=Y)
    f2, k2 = uv.from_normalized(g1, z1, lr=lr, width=width, y=y, param=s)
    scale = 1.0 + abs(float(f1)) + abs(y) + abs(float(g1)) / (lr * np.sqrt(width ** (s - 1.0)))
    assert abs(float(f2) - float(f1)) <= 1e-11 * scale
    assert abs(float(k2) - float(k1)) <= 1e-11 * (1.0 + abs(float(k1)) + abs(float(z1)) / lr)


@settings(max_examples=100, deadline=None)
@given(s=st.floats(min_value=0.0, max_value=1.0), width=st.integers(1, 5000))
def test_balanced_line_is_invariant(s, width):
    """Weights with u x parallel to v|x| stay balanced: z = 2|g + Y| along the trajectory."""
    lr, y = 0.1, 0.5
    sk = np.sqrt(width ** (s - 1.0))
    f0 = 0.3
    ntk0 = 2 * sk * abs(f0)
    tr = uv.iterate(f0, ntk0, lr=lr, width=width, y=y, param=s, steps=20)
    np.testing.assert_allclose(tr.ntk, 2 * sk * np.abs(tr.f), rtol=1e-9, atol=1e-12)
