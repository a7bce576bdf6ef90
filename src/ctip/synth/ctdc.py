"""Generate CTDC global-dataset rows (all 63 columns) with known deliberate errors.

Column values follow given marginal distributions (for the benchmark: those of the shared
CTDC subset) and are made internally consistent: sub-types imply their type, majority status
agrees with the age band. A share of rows is broken on purpose, each in one column, and the
generator returns which column so tests can check the quarantine names it.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ctip.ingest.mapping import builtin_mapping

MEANS = [
    c
    for c in builtin_mapping("ctdc").columns
    if c.startswith("meansOfControl") and not c.endswith("Concatenated")
]
EXPLOIT = [c for c in builtin_mapping("ctdc").columns if c.startswith("is") and c != "isAbduction"]
LABOUR = [
    c
    for c in builtin_mapping("ctdc").columns
    if c.startswith("typeOfLabour") and not c.endswith("Concatenated")
]
SEX = [
    c
    for c in builtin_mapping("ctdc").columns
    if c.startswith("typeOfSex") and not c.endswith("Concatenated")
]
RELATION = [c for c in builtin_mapping("ctdc").columns if c.startswith("recruiterRelation")]
AGE_BANDS = ["0--8", "9--17", "18--20", "21--23", "24--26", "27--29", "30--38", "39--47", "48+"]
COLUMNS = list(builtin_mapping("ctdc").columns)

# The kinds of deliberate error and the column each breaks.
BREAKAGES = (
    ("gender", "Femal"),
    ("citizenship", "XQ"),
    ("CountryOfExploitation", "Atlantis"),
    ("yearOfRegistration", "20l6"),
    ("yearOfRegistration", "1850"),
    ("ageBroad", "18-20 yrs"),
    ("majorityStatus", "Minor"),  # with an adult age band
    ("meansOfControlDebtBondage", "2"),
    ("isForcedLabour", "maybe"),
    ("typeOfSexProstitution", "1"),  # with isSexualExploit/isSexAndLabour ruled out
)


@dataclass
class Distribution:
    """Marginal distributions to draw from: value -> weight, per column."""

    columns: dict[str, dict[str, float]] = field(default_factory=dict)

    def draw(self, rng: random.Random, column: str, default: Sequence[str]) -> str:
        weights = self.columns.get(column)
        if not weights:
            return rng.choice(list(default))
        values = list(weights)
        return rng.choices(values, weights=[weights[v] for v in values])[0]


def distribution_from_csv(path: Path, columns: Sequence[str], limit: int = 200_000) -> Distribution:
    """Count the values of ``columns`` in a CTDC file (such as the shared subset)."""
    import gzip
    import io

    raw = path.read_bytes()
    text = gzip.decompress(raw) if path.suffix == ".gz" else raw
    counts: dict[str, dict[str, float]] = {c: {} for c in columns}
    with io.StringIO(text.decode("utf-8"), newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            if index >= limit:
                break
            for column in columns:
                if column in row:
                    value = _ctdc_value(row[column] or "")
                    counts[column][value] = counts[column].get(value, 0) + 1
    return Distribution({c: v for c, v in counts.items() if v})


def _ctdc_value(value: str) -> str:
    """The subset writes flags as 0.0/1.0 and unknown countries as 0; write them as CTDC does."""
    value = value.strip()
    if value in ("", "0", "00"):
        return "-99"
    return {"0.0": "0", "1.0": "1"}.get(value, value)


def _flags(
    rng: random.Random, names: Sequence[str], known_share: float, yes_share: float
) -> dict[str, str]:
    if rng.random() > known_share:
        return dict.fromkeys(names, "-99")
    return {n: ("1" if rng.random() < yes_share else "0") for n in names}


def generate_row(rng: random.Random, dist: Distribution) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "-99")
    row["yearOfRegistration"] = dist.draw(
        rng, "yearOfRegistration", [str(y) for y in range(2002, 2019)]
    )
    row["Datasource"] = rng.choice(["Case Management", "Case Management", "Hotline"])
    row["gender"] = dist.draw(rng, "gender", ["Female", "Male"])
    band = dist.draw(rng, "ageBroad", [*AGE_BANDS, "-99"])
    row["ageBroad"] = band
    if band != "-99":
        minor = band in ("0--8", "9--17")
        row["majorityStatus"] = "Minor" if minor else "Adult"
        row["majorityStatusAtExploit"] = row["majorityStatus"]
    row["citizenship"] = dist.draw(rng, "citizenship", ["PH", "UA", "MD", "US", "KH", "-99"])
    row["CountryOfExploitation"] = dist.draw(
        rng, "CountryOfExploitation", ["US", "UA", "RU", "-99"]
    )
    row.update(_flags(rng, MEANS, 0.5, 0.15))
    exploit = _flags(rng, EXPLOIT, 0.6, 0.0)
    if exploit["isForcedLabour"] != "-99":
        kind = dist.draw(rng, "isSexualExploit", ["1", "0"])
        exploit["isSexualExploit"] = kind
        exploit["isForcedLabour"] = "0" if kind == "1" else "1"
        if rng.random() < 0.03:
            exploit["isSexAndLabour"] = "1"
    row.update(exploit)
    labour_known = exploit["isForcedLabour"] == "1" or exploit["isSexAndLabour"] == "1"
    row.update(_flags(rng, LABOUR, 1.0 if labour_known else 0.0, 0.1))
    sex_known = exploit["isSexualExploit"] == "1" or exploit["isSexAndLabour"] == "1"
    row.update(_flags(rng, SEX, 1.0 if sex_known else 0.0, 0.3))
    row["isAbduction"] = rng.choice(["0", "0", "1", "-99"])
    row.update(_flags(rng, RELATION, 0.4, 0.25))
    for concatenated in (
        "meansOfControlConcatenated",
        "typeOfExploitConcatenated",
        "typeOfLabourConcatenated",
        "typeOfSexConcatenated",
    ):
        row[concatenated] = "-99"
    return row


def break_row(rng: random.Random, row: dict[str, str]) -> str:
    """Break one column of ``row`` in place; return the column broken."""
    column, bad = rng.choice(BREAKAGES)
    row[column] = bad
    if column == "majorityStatus":
        row["ageBroad"] = "30--38"
    if column == "typeOfSexProstitution":
        row["isSexualExploit"] = "0"
        row["isSexAndLabour"] = "0"
        row["isForcedLabour"] = "1"
    return column


@dataclass
class GeneratedFile:
    path: Path
    rows: int
    broken: dict[int, str]  # spreadsheet row number -> broken column


def iter_rows(
    n: int, *, seed: int, bad_share: float, dist: Distribution | None = None
) -> Iterator[tuple[dict[str, str], str | None]]:
    rng = random.Random(seed)
    dist = dist or Distribution()
    for _ in range(n):
        row = generate_row(rng, dist)
        broken = break_row(rng, row) if rng.random() < bad_share else None
        yield row, broken


def write_ctdc_csv(
    path: Path, n: int, *, seed: int = 7, bad_share: float = 0.0, dist: Distribution | None = None
) -> GeneratedFile:
    """Write ``n`` generated rows; return which rows were broken and where."""
    broken: dict[int, str] = {}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for index, (row, column) in enumerate(
            iter_rows(n, seed=seed, bad_share=bad_share, dist=dist)
        ):
            writer.writerow([row[c] for c in COLUMNS])
            if column is not None:
                broken[index + 2] = column
    return GeneratedFile(path, n, broken)
