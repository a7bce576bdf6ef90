"""Projections, grids, clipping, neighbours and boundary files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from ctip.errors import BadInputError
from ctip.spatial.geometry import choose_projection, convex_hull, read_boundary
from ctip.spatial.grid import h3_grid, square_grid


def test_projection_is_chosen_from_the_extent_and_can_be_overridden() -> None:
    city = choose_projection(np.array([-79.6, -79.1]), np.array([43.6, 43.85]))
    assert city.name == "EPSG:32617"  # UTM 17N for Toronto
    south = choose_projection(np.array([18.4, 18.6]), np.array([-34.0, -33.8]))
    assert south.name == "EPSG:32734"
    continent = choose_projection(np.array([-10.0, 30.0]), np.array([35.0, 60.0]))
    assert "laea" in continent.name
    assert choose_projection(np.array([0.0]), np.array([0.0]), "EPSG:3857").name == "EPSG:3857"
    with pytest.raises(BadInputError, match="metres"):
        choose_projection(np.array([0.0]), np.array([0.0]), "EPSG:4326")
    with pytest.raises(BadInputError, match="not a coordinate"):
        choose_projection(np.array([0.0]), np.array([0.0]), "nonsense")
    x, y = city.to_metres(np.array([-79.4]), np.array([43.7]))
    lon, lat = city.to_lonlat(x, y)
    assert abs(lon[0] + 79.4) < 1e-9 and abs(lat[0] - 43.7) < 1e-9


def test_square_cells_are_clipped_to_the_area_and_know_their_neighbours() -> None:
    projection = choose_projection(np.array([-79.4]), np.array([43.7]))
    rng = np.random.default_rng(0)
    x, y = rng.uniform(600_000, 603_000, 500), rng.uniform(4_840_000, 4_842_000, 500)
    area = convex_hull(x, y)
    grid = square_grid(area, projection, 250.0)
    assert grid.area.sum() == pytest.approx(area.area, rel=1e-9)
    assert grid.area.max() <= 250.0**2 + 1e-6 and grid.area.min() > 0
    cells = grid.locate(x, y)
    assert (cells >= 0).all()
    interior = int(np.argmax(grid.neighbours.sum(axis=1)))
    assert grid.neighbours[interior].sum() == 8
    assert (grid.neighbours != grid.neighbours.T).nnz == 0
    assert grid.ids[cells[0]].startswith("E") and "N" in grid.ids[cells[0]]
    qx, qy, qw, qcell = grid.quadrature()
    np.testing.assert_allclose(np.bincount(qcell, weights=qw), grid.area)
    assert shapely.contains_xy(area, qx, qy).all()
    with pytest.raises(BadInputError):
        square_grid(area, projection, 0.001)


def test_h3_cells_cover_the_area_with_six_neighbours() -> None:
    projection = choose_projection(np.array([13.4]), np.array([52.5]))
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(13.35, 13.45, 300), rng.uniform(52.48, 52.53, 300)
    x, y = projection.to_metres(lon, lat)
    area = convex_hull(x, y)
    grid = h3_grid(area, projection, 8, x, y)
    assert grid.area.sum() == pytest.approx(area.area, rel=1e-6)
    assert (grid.locate(x, y) >= 0).all()
    assert grid.neighbours.sum(axis=1).max() == 6
    assert all(len(i) == 15 for i in grid.ids)


def test_boundary_files(tmp_path: Path) -> None:
    projection = choose_projection(np.array([13.4]), np.array([52.5]))
    square = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[13.3, 52.4], [13.5, 52.4], [13.5, 52.6], [13.3, 52.6], [13.3, 52.4]]],
        },
    }
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [square]}))
    area = read_boundary(path, projection)
    assert 250e6 < area.area < 350e6  # about 13.6 km x 22.2 km
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "Point", "coordinates": [13.4, 52.5]}')
    with pytest.raises(BadInputError, match="no Polygon"):
        read_boundary(bad, projection)
    with pytest.raises(BadInputError, match="no such file"):
        read_boundary(tmp_path / "missing.geojson", projection)
