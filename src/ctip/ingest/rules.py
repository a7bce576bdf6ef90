"""Cross-field validation rules for case records, as data.

Each rule is SQL over the mapped record that is true when the record is inconsistent. A rule
applies when any of its fields is mapped by the import. Column checks (types, code lists,
ranges) are the cleaners in ``cleaners.py``; these are the checks across fields, run as SQL
over the typed rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CrossFieldRule:
    name: str
    fields: tuple[str, ...]
    violation: str
    reason: str


def _band_bound(column: str, bound: str) -> str:
    """SQL giving min_age or max_age of an age band code such as '18--20' or '48+'."""
    lower = f"TRY_CAST(regexp_extract({column}, '^(\\d+)', 1) AS INTEGER)"
    if bound == "min":
        return lower
    upper = f"TRY_CAST(regexp_extract({column}, '--(\\d+)$', 1) AS INTEGER)"
    return f"CASE WHEN ends_with({column}, '+') THEN 120 ELSE {upper} END"


CROSS_FIELD_RULES: tuple[CrossFieldRule, ...] = (
    CrossFieldRule(
        name="sex-subtype-without-type",
        fields=("sex_exploitation_types", "exploitation_types"),
        violation=(
            "len(sex_exploitation_types) > 0 AND NOT list_has_any(exploitation_types,"
            " ['SexualExploitation', 'SexAndLabour'])"
        ),
        reason="a type of sexual exploitation is given but exploitation_types does not"
        " include SexualExploitation",
    ),
    CrossFieldRule(
        name="labour-sector-without-type",
        fields=("labour_sectors", "exploitation_types"),
        violation=(
            "len(list_filter(labour_sectors, lambda s: s <> 'NotSpecified')) > 0"
            " AND NOT list_has_any(exploitation_types, ['ForcedLabour', 'SexAndLabour'])"
        ),
        reason="a forced-labour sector is given but exploitation_types does not include"
        " ForcedLabour",
    ),
    CrossFieldRule(
        name="minor-with-adult-age",
        fields=("majority_status", "age_broad"),
        violation=f"majority_status = 'Minor' AND {_band_bound('age_broad', 'min')} >= 18",
        reason="majority_status is Minor but the age band is 18 or over",
    ),
    CrossFieldRule(
        name="adult-with-minor-age",
        fields=("majority_status", "age_broad"),
        violation=f"majority_status = 'Adult' AND {_band_bound('age_broad', 'max')} < 18",
        reason="majority_status is Adult but the age band is under 18",
    ),
    CrossFieldRule(
        name="born-after-registration",
        fields=("birth_date", "registration_date"),
        violation="birth_date > registration_date",
        reason="birth_date is after registration_date",
    ),
    CrossFieldRule(
        name="born-after-registration-year",
        fields=("birth_date", "year_of_registration"),
        violation="year(birth_date) > year_of_registration",
        reason="birth_date is after the year of registration",
    ),
    CrossFieldRule(
        name="referred-out-before-in",
        fields=("incoming_referral_date", "outgoing_referral_date"),
        violation="outgoing_referral_date < incoming_referral_date",
        reason="outgoing_referral_date is before incoming_referral_date",
    ),
)
