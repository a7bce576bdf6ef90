"""Gaussian kernel density on a fine raster, read back at any points.

Events are binned on a raster a quarter of the bandwidth fine, the raster is smoothed with a
Gaussian filter (scipy.ndimage; mass that leaves the raster is lost, as it leaves the study
area) and the density is read at the query points by bilinear interpolation. This "binned KDE"
costs O(raster) instead of O(points x events) and differs from the exact sum by well under the
sampling noise once the bins are a quarter of the bandwidth. When the extent is too large for
that many bins, the bins grow (and the surface coarsens) rather than the memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from ctip.spatial.geometry import FloatArray

IntArray = np.ndarray[Any, np.dtype[np.int64]]

MAX_RASTER = 6_000_000


@dataclass(frozen=True)
class Raster:
    """The binning raster: origin, node spacing and node counts (x by y)."""

    minx: float
    miny: float
    step: float
    nx: int
    ny: int


def raster_for(
    qx: FloatArray, qy: FloatArray, events: tuple[float, float, float, float], bandwidth: float
) -> Raster:
    """The raster covering the query points and the events' extent (minx, miny, maxx, maxy),
    padded by four bandwidths. Only the extent of the events is needed, so a Parquet job can
    take it from SQL without collecting the points."""
    pad = 4.0 * bandwidth
    minx = min(events[0], float(np.min(qx, initial=np.inf))) - pad
    miny = min(events[1], float(np.min(qy, initial=np.inf))) - pad
    maxx = max(events[2], float(np.max(qx, initial=-np.inf))) + pad
    maxy = max(events[3], float(np.max(qy, initial=-np.inf))) + pad
    step = bandwidth / 4.0
    while ((maxx - minx) / step + 1) * ((maxy - miny) / step + 1) > MAX_RASTER:
        step *= 1.5
    return Raster(minx, miny, step, int((maxx - minx) / step) + 2, int((maxy - miny) / step) + 2)


def kernel_density(
    qx: FloatArray,
    qy: FloatArray,
    ex: FloatArray,
    ey: FloatArray,
    bandwidth: float,
    weights: FloatArray | None = None,
) -> FloatArray:
    """Density of the (weighted) events at the query points, in events per square metre."""
    qx, qy = np.asarray(qx, float), np.asarray(qy, float)
    if len(ex) == 0:
        return np.zeros(len(qx))
    w = np.ones(len(ex)) if weights is None else np.asarray(weights, float)
    extent = (float(np.min(ex)), float(np.min(ey)), float(np.max(ex)), float(np.max(ey)))
    raster = raster_for(qx, qy, extent, bandwidth)
    return density_at(_bin_linear(ex, ey, w, raster), raster, qx, qy, bandwidth)


def density_at(
    binned: FloatArray, raster: Raster, qx: FloatArray, qy: FloatArray, bandwidth: float
) -> FloatArray:
    """Smooth the binned weights (nx by ny) and read the density at the query points."""
    step = raster.step
    smooth = ndimage.gaussian_filter(binned, sigma=bandwidth / step, mode="constant", truncate=4.0)
    values = ndimage.map_coordinates(
        smooth, [(qx - raster.minx) / step, (qy - raster.miny) / step], order=1, mode="constant"
    )
    density: FloatArray = np.maximum(np.asarray(values, float), 0.0) / (step * step)
    return density


def linear_bins(
    x: FloatArray, y: FloatArray, w: FloatArray, raster: Raster
) -> list[tuple[IntArray, FloatArray]]:
    """Each weight spread over its four nearest raster nodes (linear binning): for each of the
    four corners, the flat node index (x * ny + y) and the share of every event."""
    fx, fy = (x - raster.minx) / raster.step, (y - raster.miny) / raster.step
    ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    dx, dy = fx - ix, fy - iy
    return [
        ((ix + ox) * raster.ny + (iy + oy), w * share)
        for ox, oy, share in (
            (0, 0, (1 - dx) * (1 - dy)),
            (1, 0, dx * (1 - dy)),
            (0, 1, (1 - dx) * dy),
            (1, 1, dx * dy),
        )
    ]


def _bin_linear(x: FloatArray, y: FloatArray, w: FloatArray, raster: Raster) -> FloatArray:
    size = raster.nx * raster.ny
    binned = np.zeros(size)
    for nodes, shares in linear_bins(x, y, w, raster):
        binned += np.bincount(nodes, weights=shares, minlength=size)
    return binned.reshape(raster.nx, raster.ny)


def default_bandwidth(cell_area: FloatArray) -> float:
    """1.6 cell widths (400 m for 250 m squares): smooth enough to fill gaps between
    neighbouring cells, narrow enough to keep a hotspot the size of a few blocks."""
    return 1.6 * float(np.sqrt(np.median(cell_area)))
