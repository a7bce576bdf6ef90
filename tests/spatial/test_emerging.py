"""Mann-Kendall trends and emerging-hotspot classes."""

from __future__ import annotations

import libpysal
import numpy as np
import pytest

from ctip.spatial.emerging import emerging_hotspots, mann_kendall


def test_mann_kendall_matches_the_textbook_formula() -> None:
    rising = np.arange(10.0)[None, :]
    z, p = mann_kendall(rising)
    assert z[0] == pytest.approx((45 - 1) / np.sqrt(10 * 9 * 25 / 18))
    assert p[0] < 0.001
    flat = np.array([[1.0, 2.0, 1.0, 2.0, 1.0, 2.0]])
    z, p = mann_kendall(flat)
    # S = 3 with two groups of three ties: var = (6*5*17 - 2*3*2*11)/18
    assert z[0] == pytest.approx((3 - 1) / np.sqrt((510 - 132) / 18))
    falling = -rising
    assert mann_kendall(falling)[0][0] < -3


def test_classes_follow_the_cells_history() -> None:
    weights = libpysal.weights.lat2W(30, 30, rook=False).sparse.tocsr()
    rng = np.random.default_rng(4)
    periods, days = 8, 30.0
    times: list[float] = []
    cells: list[int] = []

    def add(cell: int, per_period: list[int]) -> None:
        for k, n in enumerate(per_period):
            times.extend(rng.uniform(k * days, (k + 1) * days, n).tolist())
            cells.extend([cell] * n)

    for cell in range(900):  # background noise everywhere
        add(cell, [int(v) for v in rng.poisson(0.3, periods)])
    for cell in (5 * 30 + 5, 5 * 30 + 6, 6 * 30 + 5):
        add(cell, [12] * periods)  # persistent
    for cell in (15 * 30 + 15, 15 * 30 + 16, 16 * 30 + 15):
        add(cell, [0] * (periods - 1) + [25])  # new
    for cell in (25 * 30 + 5, 25 * 30 + 6, 26 * 30 + 5):
        add(cell, [6, 7, 9, 11, 14, 17, 21, 26])  # intensifying
    for cell in (5 * 30 + 25, 5 * 30 + 26, 6 * 30 + 25):
        add(cell, [40, 34, 28, 23, 19, 16, 13, 11])  # diminishing
    result = emerging_hotspots(
        np.array(times),
        np.array(cells),
        900,
        weights,
        end=periods * days,
        periods=periods,
        period_days=days,
    )
    assert result.classes[5 * 30 + 5] == "persistent"
    assert result.classes[15 * 30 + 15] == "new"
    assert result.classes[25 * 30 + 5] == "intensifying"
    assert result.classes[5 * 30 + 25] == "diminishing"
    assert result.classes[29 * 30 + 29] == ""
