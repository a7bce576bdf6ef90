"""Find the shared reference data (CTDC, HTCDS, country statistics, incidents, images).

The data is not part of the package: it is public material with its own terms, kept beside the
repository (``../shared/data``). ``CTIP_SHARED_DATA`` points elsewhere. A checkout somewhere
else (a CI runner's clean clone) also looks in the deployment's usual places.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "CTIP_SHARED_DATA"
USUAL_PLACES = (Path("/work/shared/data"), Path.home() / "shared" / "data")


def find_shared_data(start: Path | None = None) -> Path | None:
    explicit = os.environ.get(ENV)
    if explicit:
        path = Path(explicit)
        return path if path.is_dir() else None
    here = (start or Path.cwd()).resolve()
    package = Path(__file__).resolve()
    candidates = [f / "shared" / "data" for f in [here, *here.parents, *package.parents]]
    for candidate in [*candidates, *USUAL_PLACES]:
        if (candidate / "ctdc").is_dir():
            return candidate
    return None
