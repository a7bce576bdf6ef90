"""Image embeddings for "same room, different photo" search in the hotel gallery.

Perceptual hashes find re-posted copies of a photo; recognising a hotel room from a *different*
photo of it needs a learned embedding (TraffickCam uses a CNN trained on hotel rooms). No such
model ships inside a PyPI package that runs offline on a CPU without downloading weights from
a model hub, so CTIP does not pretend to have one. What it ships:

- ``ImageEmbedder``: the interface a learned model plugs into (``embed(image) -> vector``,
  cosine similarity between vectors), used by the gallery search;
- ``ColourLayoutEmbedder``: a transparent, non-learned baseline (colour histograms in a 2x2
  layout). It tells rooms with different colour schemes apart and nothing more; results from it
  are labelled as weak evidence.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PIL import Image


class ImageEmbedder(Protocol):
    name: str
    learned: bool

    def embed(self, image: Image.Image) -> np.ndarray:
        """A unit-length vector; similar rooms give a high dot product."""


class ColourLayoutEmbedder:
    """HSV colour histograms of the four quadrants, concatenated and normalised."""

    name = "colour-layout-v1"
    learned = False

    def embed(self, image: Image.Image) -> np.ndarray:
        small = image.convert("RGB").resize((64, 64)).convert("HSV")
        pixels = np.asarray(small, dtype=np.float32)
        parts = []
        for rows in (slice(0, 32), slice(32, 64)):
            for cols in (slice(0, 32), slice(32, 64)):
                block = pixels[rows, cols].reshape(-1, 3)
                histogram, _ = np.histogramdd(
                    block, bins=(8, 4, 4), range=((0, 256), (0, 256), (0, 256))
                )
                parts.append(histogram.ravel())
        vector = np.sqrt(np.concatenate(parts))  # Hellinger: tame dominant colours
        norm = float(np.linalg.norm(vector))
        result: np.ndarray = vector / norm if norm else vector
        return result.astype(np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))
