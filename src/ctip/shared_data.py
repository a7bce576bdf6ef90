"""Find the shared reference data (CTDC, HTCDS, country statistics, incidents, images).

The data is not part of the package: it is public material with its own terms, kept beside the
repository (``../shared/data``). ``CTIP_SHARED_DATA`` points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "CTIP_SHARED_DATA"


def find_shared_data(start: Path | None = None) -> Path | None:
    explicit = os.environ.get(ENV)
    if explicit:
        path = Path(explicit)
        return path if path.is_dir() else None
    here = (start or Path.cwd()).resolve()
    for folder in [
        here,
        *here.parents,
        Path(__file__).resolve().parent,
        *Path(__file__).resolve().parents,
    ]:
        candidate = folder / "shared" / "data"
        if (candidate / "ctdc").is_dir():
            return candidate
    return None
