"""Gi* equals PySAL esda's G_Local(star=True) on the same grid and weights, and finds what
is planted."""

from __future__ import annotations

import warnings

import esda
import libpysal
import numpy as np
import pytest
from esda.crand import vec_permutations

from ctip.spatial.geometry import choose_projection, convex_hull
from ctip.spatial.gistar import gi_star
from ctip.spatial.grid import square_grid
from ctip.spatial.synth import SyntheticIncidents


def _grid_counts(synthetic: SyntheticIncidents, size: float):  # type: ignore[no-untyped-def]
    lon = -30.0 + synthetic.x / 111_320.0
    lat = 10.0 + synthetic.y / 111_320.0
    projection = choose_projection(lon, lat)
    x, y = projection.to_metres(lon, lat)
    grid = square_grid(convex_hull(x, y), projection, size)
    return grid, grid.counts(grid.locate(x, y))


@pytest.mark.parametrize("size", [400.0, 700.0])
def test_values_equal_esda_g_local_star(synthetic: SyntheticIncidents, size: float) -> None:
    grid, counts = _grid_counts(synthetic, size)
    weights = libpysal.weights.WSP(grid.neighbours).to_W(silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = esda.G_Local(
            counts, weights, transform="B", star=True, permutations=999, seed=7, n_jobs=1
        )
    ids = vec_permutations(int(grid.neighbours.sum(axis=1).max()), grid.size, 999, 7)
    ours = gi_star(counts, grid.neighbours, ids=ids, keep_simulations=True, refine=0)
    np.testing.assert_allclose(ours.g, reference.Gs, rtol=1e-12)
    np.testing.assert_allclose(ours.eg, reference.EGs, rtol=1e-12)
    np.testing.assert_allclose(ours.vg, reference.VGs, rtol=1e-12)
    np.testing.assert_allclose(ours.z, reference.Zs, rtol=1e-10, atol=1e-12)
    assert ours.sims is not None
    np.testing.assert_allclose(ours.sims, reference.rGs, rtol=1e-12)
    np.testing.assert_array_equal(ours.p_sim.astype(np.float32), reference.p_sim)
    # the two-sided p we report comes from the same reference distribution
    larger = (reference.rGs >= reference.Gs[:, None]).sum(axis=1)
    smaller = (reference.rGs <= reference.Gs[:, None]).sum(axis=1)
    expected = np.minimum(1, 2 * (np.minimum(larger, smaller) + 1) / 1000)
    np.testing.assert_allclose(ours.p, expected)


def test_planted_hotspot_is_hot_and_noise_is_mostly_not() -> None:
    weights = libpysal.weights.lat2W(40, 40, rook=False)
    rng = np.random.default_rng(2)
    noise = rng.poisson(2.0, size=1600).astype(float)
    result = gi_star(noise, weights.sparse.tocsr(), seed=1)
    assert sum(c != "not significant" for c in result.classes) <= 8  # FDR keeps false alarms rare
    planted = noise.copy()
    block = [r * 40 + c for r in range(18, 22) for c in range(18, 22)]
    planted[block] += 8
    result = gi_star(planted, weights.sparse.tocsr(), seed=1)
    assert all(result.classes[i] == "hot 99%" for i in [19 * 40 + 19, 20 * 40 + 20])
    assert result.q[19 * 40 + 19] <= 0.01 and result.p.min() < 2 / 1000  # refined below 1/999
    assert not any(c.startswith("hot") for i, c in enumerate(result.classes) if i < 200)
