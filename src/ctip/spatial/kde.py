"""Gaussian kernel density on a fine raster, read back at any points.

Events are binned on a raster a quarter of the bandwidth fine, the raster is smoothed with a
Gaussian filter (scipy.ndimage; mass that leaves the raster is lost, as it leaves the study
area) and the density is read at the query points by bilinear interpolation. This "binned KDE"
costs O(raster) instead of O(points x events) and differs from the exact sum by well under the
sampling noise once the bins are a quarter of the bandwidth. When the extent is too large for
that many bins, the bins grow (and the surface coarsens) rather than the memory.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ctip.spatial.geometry import FloatArray

MAX_RASTER = 6_000_000


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
    pad = 4.0 * bandwidth
    minx = min(float(np.min(ex)), float(np.min(qx, initial=np.inf))) - pad
    miny = min(float(np.min(ey)), float(np.min(qy, initial=np.inf))) - pad
    maxx = max(float(np.max(ex)), float(np.max(qx, initial=-np.inf))) + pad
    maxy = max(float(np.max(ey)), float(np.max(qy, initial=-np.inf))) + pad
    step = bandwidth / 4.0
    while ((maxx - minx) / step + 1) * ((maxy - miny) / step + 1) > MAX_RASTER:
        step *= 1.5
    nx = int((maxx - minx) / step) + 2
    ny = int((maxy - miny) / step) + 2
    raster = _bin_linear(ex, ey, w, minx, miny, step, nx, ny)
    smooth = ndimage.gaussian_filter(raster, sigma=bandwidth / step, mode="constant", truncate=4.0)
    values = ndimage.map_coordinates(
        smooth, [(qx - minx) / step, (qy - miny) / step], order=1, mode="constant"
    )
    density: FloatArray = np.maximum(np.asarray(values, float), 0.0) / (step * step)
    return density


def _bin_linear(
    x: FloatArray,
    y: FloatArray,
    w: FloatArray,
    minx: float,
    miny: float,
    step: float,
    nx: int,
    ny: int,
) -> FloatArray:
    """Spread each weight over the four nearest raster nodes (linear binning)."""
    fx, fy = (x - minx) / step, (y - miny) / step
    ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    dx, dy = fx - ix, fy - iy
    raster = np.zeros(nx * ny)
    for ox, oy, share in (
        (0, 0, (1 - dx) * (1 - dy)),
        (1, 0, dx * (1 - dy)),
        (0, 1, (1 - dx) * dy),
        (1, 1, dx * dy),
    ):
        raster += np.bincount((ix + ox) * ny + (iy + oy), weights=w * share, minlength=nx * ny)
    return raster.reshape(nx, ny)


def default_bandwidth(cell_area: FloatArray) -> float:
    """1.6 cell widths (400 m for 250 m squares): smooth enough to fill gaps between
    neighbouring cells, narrow enough to keep a hotspot the size of a few blocks."""
    return 1.6 * float(np.sqrt(np.median(cell_area)))
