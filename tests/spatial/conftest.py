"""Fixtures for the spatial tests: a generated city of incidents, imported once per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctip.spatial.incidents import IncidentColumns
from ctip.spatial.synth import SyntheticIncidents, simulate, write_incidents_csv

SYNTH_COLUMNS = IncidentColumns("lat", "lon", "occurred", category="type", id="incident_id")


@pytest.fixture(scope="session")
def synthetic() -> SyntheticIncidents:
    return simulate(days=540, background_per_day=6.0, seed=3, extent=4000.0)


@pytest.fixture
def incidents_csv(tmp_path: Path, synthetic: SyntheticIncidents) -> Path:
    return write_incidents_csv(tmp_path / "incidents.csv", synthetic)
