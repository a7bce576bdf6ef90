"""Who the victims are and what happened to them: counts and shares per characteristic.

Shares are of the records where the characteristic is *known*: for list fields with a
ruled-out companion (CTDC's 0/1/-99 flags), a record is known when any value was answered yes
or no; a record can count under several values, so list shares can add up to more than 100%.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ctip.analytics.common import unnest_or_null
from ctip.analytics.filters import Filter
from ctip.analytics.protect import protect_rows, shown
from ctip.engine.duckdb import DuckDBEngine
from ctip.model.fields import case_schema

DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("gender", "Gender"),
    ("age_broad", "Age band"),
    ("majority_status", "Adult or minor"),
    ("exploitation_types", "Type of exploitation"),
    ("labour_sectors", "Forced-labour sector"),
    ("sex_exploitation_types", "Type of sexual exploitation"),
    ("means_of_control", "Means of control"),
    ("recruiter_relations", "Recruiter's relation to the victim"),
    ("recruitment_methods", "Method of recruitment"),
    ("duration", "Time from recruitment to exploitation"),
)

DURATION_SQL = """
SELECT c.case_id, CASE
    WHEN d IS NULL THEN NULL
    WHEN d < 30 THEN 'under 1 month'
    WHEN d < 182 THEN '1-6 months'
    WHEN d < 365 THEN '6-12 months'
    WHEN d < 730 THEN '1-2 years'
    ELSE '2 years or more' END AS value
FROM cases c LEFT JOIN (
    SELECT r.case_id, date_diff('day', min(r.date), min(x.date)) AS d
    FROM case_events r JOIN case_events x ON x.case_id = r.case_id
    WHERE r.event_type = 'Recruitment' AND x.event_type = 'Exploitation'
    GROUP BY r.case_id
) spans ON spans.case_id = c.case_id
"""


@dataclass
class ProfileResult:
    rows: list[dict[str, Any]]  # dimension, value, count, share, known
    total: int


def _known_sql(name: str) -> str:
    if name == "duration":
        return "value IS NOT NULL"
    spec = case_schema().field(name)
    if spec.is_list:
        if spec.ruled_out:
            return f"(len({name}) + len({spec.ruled_out_name})) > 0"
        return f"len({name}) > 0"
    return f"{name} IS NOT NULL"


def profile(engine: DuckDBEngine, where: Filter | None = None) -> ProfileResult:
    where = where or Filter()
    total = int(engine.scalar(f"SELECT count(*) FROM cases WHERE {where.sql}", where.params) or 0)
    rows: list[dict[str, Any]] = []
    for name, label in DIMENSIONS:
        if name == "duration":
            source = f"(SELECT d.value, c.* FROM ({DURATION_SQL}) d JOIN cases c USING (case_id))"
            value = "value"
        else:
            source = "cases"
            spec = case_schema().field(name)
            value = unnest_or_null(name) if spec.is_list else name
        known = int(
            engine.scalar(
                f"SELECT count(*) FROM {source} WHERE {where.sql} AND {_known_sql(name)}",
                where.params,
            )
            or 0
        )
        counts = engine.records(
            f"SELECT value, count(*) AS count FROM (SELECT {value} AS value FROM {source}"
            f" WHERE {where.sql}) WHERE value IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1",
            where.params,
        )
        for entry in counts:
            count = int(entry["count"])
            rows.append(
                {
                    "dimension": name,
                    "label": label,
                    "value": entry["value"],
                    "count": count,
                    "share": round(count / known, 4) if known else None,
                    "known": known,
                }
            )
        if not counts:
            rows.append(
                {
                    "dimension": name,
                    "label": label,
                    "value": None,
                    "count": 0,
                    "share": None,
                    "known": 0,
                }
            )
    return ProfileResult(rows, total)


def protected_profile(
    result: ProfileResult, threshold: int, *, exact: bool
) -> list[dict[str, Any]]:
    rows = protect_rows(result.rows, threshold, exact=exact, group=lambda r: r["dimension"])
    for row in rows:
        row["known"] = shown(row["known"], threshold, exact=exact)
    return rows
