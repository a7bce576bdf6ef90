"""A small workspace of generated cases with known values, and the same rows as pandas."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ctip.ingest.importer import import_cases
from ctip.settings import Settings
from ctip.workspace import Workspace

COUNTRIES = ["PH", "UA", "MD", "US", "KH", "ID", "VN", "RU", "TH", "MY"]


def make_rows(n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        citizenship = rng.choices(
            [*COUNTRIES, "-99"], weights=[30, 20, 15, 10, 8, 6, 4, 3, 2, 1, 5]
        )[0]
        same = rng.random() < 0.4
        destination = (
            citizenship if same and citizenship != "-99" else rng.choice([*COUNTRIES, "-99"])
        )
        sexual = rng.random() < 0.5
        rows.append(
            {
                "yearOfRegistration": str(rng.choice(range(2010, 2019))),
                "gender": rng.choice(["Female", "Female", "Male", "-99"]),
                "ageBroad": rng.choice(["9--17", "18--20", "21--23", "30--38", "48+", "-99"]),
                "citizenship": citizenship,
                "CountryOfExploitation": destination,
                "isSexualExploit": "1" if sexual else rng.choice(["0", "-99"]),
                "isForcedLabour": "0" if sexual else rng.choice(["1", "-99"]),
                "meansOfControlDebtBondage": rng.choice(["1", "0", "-99"]),
                "meansOfControlThreats": rng.choice(["1", "0", "-99"]),
            }
        )
    return rows


@pytest.fixture(scope="module")
def analytics_workspace(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Workspace, pd.DataFrame]]:
    folder = tmp_path_factory.mktemp("analytics")
    rows = make_rows(3000, seed=42)
    frame = pd.DataFrame(rows)
    path = folder / "cases.csv"
    frame.to_csv(path, index=False)
    with Workspace.open(Settings(workspace=folder / "ws"), create=True) as workspace:
        report = import_cases(workspace, path, input_format="ctdc")
        assert report.loaded == 3000
        yield workspace, frame


@pytest.fixture
def ctdc_subset(shared_data: Path) -> Path:
    return shared_data / "ctdc" / "ctdc_global_2020_subset.csv.gz"
