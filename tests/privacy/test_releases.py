"""Safe releases: k-anonymity (checked independently), DP synthetic data, the release registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ctip.errors import BadInputError
from ctip.privacy.hierarchy import HIERARCHIES, guess_kind
from ctip.privacy.kanon import k_anonymise
from ctip.privacy.synthetic import synthesise
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
QUASI = ["gender", "age", "citizenship", "year"]


def records(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    """Case-like records with a long tail of rare countries and exact ages (so rare groups)."""
    rng = np.random.default_rng(seed)
    countries = [
        "PH",
        "UA",
        "MX",
        "VN",
        "NG",
        "RO",
        "TH",
        "KH",
        "MM",
        "ID",
        "IS",
        "NZ",
        "FJ",
        "BO",
        "CL",
    ]
    weights = np.array([30, 20, 15, 10, 8, 6, 4, 2, 1.5, 1, 0.5, 0.5, 0.5, 0.5, 0.5])
    frame = pd.DataFrame(
        {
            "gender": rng.choice(["Female", "Male"], n, p=[0.7, 0.3]),
            "age": rng.integers(8, 60, n).astype(str),
            "citizenship": rng.choice(countries, n, p=weights / weights.sum()),
            "year": rng.integers(2005, 2020, n).astype(str),
            "exploitation": rng.choice(["sexual", "labour", "sexual;labour"], n, p=[0.5, 0.4, 0.1]),
        }
    ).astype(object)
    frame.loc[rng.random(n) < 0.05, "citizenship"] = None
    return frame


def independent_violations(path: Path, quasi: list[str], k: int) -> int:
    """Count quasi-identifier combinations below k straight from the written file."""
    released = pd.read_csv(path, dtype=str, keep_default_na=False)
    sizes = released.groupby(quasi).size()
    return int((sizes < k).sum())


def test_hierarchies_follow_ctdc() -> None:
    assert HIERARCHIES["age"].apply("23", 2) == "21--23"
    assert HIERARCHIES["age"].apply("15", 4) == "minor"
    assert HIERARCHIES["age-band"].apply("18--20", 1) == "18--29"
    assert HIERARCHIES["place"].apply("PH", 1) == "South-Eastern Asia"
    assert HIERARCHIES["place"].apply("PH", 2) == "Asia"
    assert HIERARCHIES["year"].apply("2017", 2) == "2015-2019"
    assert HIERARCHIES["year"].apply(None, 1) is None
    assert HIERARCHIES["category"].apply("x", 1) == "*"
    assert guess_kind("ageBroad", ["18--20", "0--8"]) == "age-band"
    assert guess_kind("yearOfRegistration", ["2015"]) == "year"
    assert guess_kind("CountryOfExploitation", ["US"]) == "place"


def test_k_anonymity_generalises_and_reports_losses() -> None:
    frame = records()
    result = k_anonymise(frame, QUASI, 11, sensitive=["exploitation"])
    assert not (result.released.groupby(QUASI, dropna=False).size() < 11).any()
    summary = result.summary
    assert summary["records_in"] == 3000
    assert summary["suppressed_records"] <= 0.05 * 3000
    levels = {g["column"]: g["level"] for g in summary["generalisation"]}
    assert levels["age"] > 0  # exact ages cannot stay exact at k=11 with 3,000 records
    assert summary["precision_loss"] > 0 and summary["l_diversity"][0]["column"] == "exploitation"


def test_k_below_two_and_unknown_columns_are_refused() -> None:
    with pytest.raises(BadInputError):
        k_anonymise(records(50), QUASI, 1)
    with pytest.raises(BadInputError, match="no column shoe"):
        k_anonymise(records(50), ["shoe"], 5)


def test_cli_kanon_from_a_file_passes_the_independent_check(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "cases.csv"
    records().to_csv(source, index=False)
    out = tmp_path / "release" / "k11.csv"
    result = cli(
        "release",
        "kanon",
        "--k",
        "11",
        "--quasi",
        ",".join(QUASI),
        "--columns",
        "exploitation",
        "--input",
        source,
        "--out",
        out,
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    assert independent_violations(out, QUASI, 11) == 0
    report = json.loads((tmp_path / "release" / "k11.report.json").read_text())
    assert report["k"] == 11 and report["records_out"] + report["dropped_records"] == 3000
    page = (tmp_path / "release" / "k11.html").read_text()
    assert "What was generalised" in page and "attribute disclosure" in page
    assert "http" not in page.split("</style>")[1]  # self-contained


def test_cli_kanon_of_workspace_cases_is_registered(cli: Cli, tmp_path: Path) -> None:
    from ctip.synth.ctdc import write_ctdc_csv

    generated = write_ctdc_csv(tmp_path / "ctdc.csv", 1500, seed=8)
    assert cli("import", "cases", generated.path).code == 0
    out = tmp_path / "k5.csv"
    assert cli("release", "kanon", "--k", "5", "--out", out).code == 0
    quasi = [
        "gender",
        "age_broad",
        "citizenship",
        "country_of_exploitation",
        "year_of_registration",
    ]
    assert independent_violations(out, quasi, 5) == 0
    listed = cli("release", "list", "--format", "jsonl").jsonl()
    assert len(listed) == 1 and listed[0]["kind"] == "kanon"  # type: ignore[index]
    report = tmp_path / "report.html"
    assert cli("report", "--out", report).code == 0
    assert "Public releases" in report.read_text()


@pytest.mark.slow
def test_synthetic_release_has_no_leakage_and_full_accounting(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "cases.csv"
    records(4000).to_csv(source, index=False)
    out = tmp_path / "synthetic"
    result = cli(
        "release",
        "synthetic",
        "--epsilon",
        "4",
        "--out",
        out,
        "--input",
        source,
        "--columns",
        "gender,citizenship,year,exploitation",
        "--multi-value",
        "exploitation",
        "--resolution",
        "10",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    metadata = json.loads((out / "metadata.json").read_text())
    privacy = metadata["privacy"]
    assert privacy["epsilon"] == 4.0 and 0 < privacy["delta"] < 1e-3
    assert privacy["reporting_length"] == 3 and privacy["resolution"] == 10
    assert (
        abs(sum(v for k, v in privacy["budget_split"].items() if k != "noise_scale_by_length") - 1)
        < 1e-9
    )
    for row in metadata["evaluation"]:
        assert row["k_synthetic_leakage"] == 0 and row["leakage_count"] == 0
    assert metadata["evaluation"][0]["preservation_percentage"] > 50
    synthetic = pd.read_csv(out / "synthetic_microdata.csv", dtype=str, keep_default_na=False)
    assert list(synthetic.columns) == ["gender", "citizenship", "year", "exploitation"]
    assert abs(len(synthetic) - 4000) < 400
    assert (out / "dp_aggregates.csv").exists() and (out / "release.html").exists()


def test_k_synthetic_post_processing_removes_rare_combinations() -> None:
    frame = records(1500, seed=2)[["gender", "citizenship", "year"]]
    result = synthesise(frame, epsilon=1.0, reporting_length=2, resolution=15)
    counts = result.synthetic.replace("", None).groupby(["citizenship", "year"]).size()
    assert (counts >= 15).all()
    assert all(row["k_synthetic_leakage"] == 0 for row in result.evaluation)
