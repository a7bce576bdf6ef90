"""Generated incidents for the demo (when the shared data is absent) and for tests.

A made-up city: a background of a few Gaussian clusters over a uniform scatter, one cluster that
only appears in the last quarter (an emerging hotspot), and near-repeat offspring (each event
triggers on average ``theta`` more, an exponential delay of mean ``trigger_days`` and a Gaussian
offset of ``sigma`` metres) - the self-exciting process the SEPP model assumes. No real place or
person: coordinates are around an arbitrary point, ids are generated.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ctip.spatial.geometry import FloatArray

CENTRE = (10.0, -30.0)  # open Atlantic: obviously not a real place
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class SyntheticIncidents:
    x: FloatArray  # metres east of the centre
    y: FloatArray  # metres north
    day: FloatArray  # days from the start
    category: list[str]
    background: np.ndarray[tuple[int], np.dtype[np.bool_]]


def simulate(
    days: int = 730,
    background_per_day: float = 12.0,
    *,
    theta: float = 0.3,
    trigger_days: float = 10.0,
    sigma: float = 60.0,
    seed: int = 0,
    extent: float = 6000.0,
) -> SyntheticIncidents:
    rng = np.random.default_rng(seed)
    count = rng.poisson(background_per_day * days)
    centres = rng.uniform(-0.7 * extent, 0.7 * extent, size=(6, 2))
    spread = rng.uniform(150.0, 500.0, size=6)
    which = rng.integers(-1, 6, size=count)  # -1: uniform scatter
    x = rng.uniform(-extent, extent, size=count)
    y = rng.uniform(-extent, extent, size=count)
    clustered = which >= 0
    x[clustered] = centres[which[clustered], 0] + rng.normal(0, spread[which[clustered]])
    y[clustered] = centres[which[clustered], 1] + rng.normal(0, spread[which[clustered]])
    t = rng.uniform(0, days, size=count)
    emerging = rng.uniform(0.75 * days, days, size=int(count * 0.04))
    ex = rng.normal(0.4 * extent, 200.0, size=len(emerging))
    ey = rng.normal(-0.4 * extent, 200.0, size=len(emerging))
    x, y, t = np.concatenate([x, ex]), np.concatenate([y, ey]), np.concatenate([t, emerging])
    background = np.ones(len(t), dtype=bool)
    parents_x, parents_y, parents_t = x, y, t
    while len(parents_t):
        children = rng.poisson(theta, size=len(parents_t))
        index = np.repeat(np.arange(len(parents_t)), children)
        cx = parents_x[index] + rng.normal(0, sigma, size=len(index))
        cy = parents_y[index] + rng.normal(0, sigma, size=len(index))
        ct = parents_t[index] + rng.exponential(trigger_days, size=len(index))
        inside = ct < days
        parents_x, parents_y, parents_t = cx[inside], cy[inside], ct[inside]
        x, y, t = (
            np.concatenate([x, parents_x]),
            np.concatenate([y, parents_y]),
            np.concatenate([t, parents_t]),
        )
        background = np.concatenate([background, np.zeros(len(parents_t), dtype=bool)])
    inside = (np.abs(x) <= 1.2 * extent) & (np.abs(y) <= 1.2 * extent)
    order = np.argsort(t[inside], kind="stable")
    kinds = rng.choice(["Burglary", "Assault", "Robbery"], p=[0.5, 0.35, 0.15], size=len(order))
    return SyntheticIncidents(
        x[inside][order], y[inside][order], t[inside][order], list(kinds), background[inside][order]
    )


def write_incidents_csv(
    path: Path, incidents: SyntheticIncidents, start: datetime = datetime(2022, 1, 1)
) -> Path:
    """Columns: incident_id, occurred (ISO date-time), lat, lon, type."""
    lat0, lon0 = CENTRE
    lat = lat0 + incidents.y / METRES_PER_DEGREE
    lon = lon0 + incidents.x / (METRES_PER_DEGREE * np.cos(np.radians(lat0)))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["incident_id", "occurred", "lat", "lon", "type"])
        for number, (la, lo, day, kind) in enumerate(
            zip(
                lat.tolist(), lon.tolist(), incidents.day.tolist(), incidents.category, strict=True
            ),
            start=1,
        ):
            moment = start + timedelta(days=day)
            writer.writerow(
                [
                    f"INC-{number:06d}",
                    moment.strftime("%Y-%m-%dT%H:%M:%S"),
                    f"{la:.6f}",
                    f"{lo:.6f}",
                    kind,
                ]
            )
    return path


def incidents_table(
    incidents: SyntheticIncidents, start: datetime = datetime(2022, 1, 1)
) -> pa.Table:
    """The incidents as the table Parquet jobs read: incident_id, occurred_at (timestamp, to
    the second), latitude, longitude, category. Vectorised, for millions of rows."""
    lat0, lon0 = CENTRE
    lat = lat0 + incidents.y / METRES_PER_DEGREE
    lon = lon0 + incidents.x / (METRES_PER_DEGREE * np.cos(np.radians(lat0)))
    origin = int((start - datetime(1970, 1, 1)).total_seconds())
    seconds = origin + np.floor(incidents.day * 86400.0).astype(np.int64)
    numbers = pa.array(np.arange(1, len(lat) + 1, dtype=np.int64)).cast(pa.string())
    return pa.table(
        {
            "incident_id": pc.binary_join_element_wise("INC-", pc.utf8_lpad(numbers, 7, "0"), ""),
            "occurred_at": pa.array(seconds, pa.int64()).cast(pa.timestamp("s")),
            "latitude": pa.array(lat, pa.float64()),
            "longitude": pa.array(lon, pa.float64()),
            "category": pa.array(incidents.category, pa.string()),
        }
    )


def write_incidents_parquet(path: Path, rows: int, *, seed: int = 0, days: int = 730) -> int:
    """About ``rows`` generated incidents over ``days`` days as Parquet; returns the count.

    For benchmarks: the background rate is chosen so that background, the emerging cluster and
    near-repeat offspring add up to about ``rows``.
    """
    per_day = rows / days / (1.04 / (1 - 0.3))  # offspring: theta / (1 - theta) more
    incidents = simulate(days, per_day, seed=seed, extent=6000.0 + 4.0 * np.sqrt(rows))
    table = incidents_table(incidents)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=1_000_000)
    return int(table.num_rows)
