"""Column roles: what each column of a person file means to entity resolution.

Splink needs one comparison per column, and the right comparison depends on what the column
holds (a name is compared with Jaro-Winkler and term frequencies, a date of birth by date
distance, a phone number by edit distance on its digits). Agencies name their columns in many
ways, so the role is guessed from the column name (``given_name``, ``Nationality``,
``soc_sec_id`` ...) and can always be set with ``--columns name:role``.

Roles split into *identifying* ones (names, date of birth, contact, identity numbers) and
*supporting* ones (places, citizenship, gender). A record takes part in resolution only when it
has at least one identifying value, and candidate pairs are only generated from identifying
fields: records that share demographics alone are never linked. In k-anonymised data such as
CTDC's, identical rows are different people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ctip.errors import BadInputError

IDENTIFYING = frozenset(
    {
        "first_name",
        "middle_name",
        "last_name",
        "full_name",
        "birth_date",
        "phone",
        "email",
        "identity",
    }
)
SUPPORTING = frozenset(
    {"citizenship", "city", "address", "postcode", "state", "street_number", "gender", "category"}
)
ROLES = IDENTIFYING | SUPPORTING | {"ignore"}

ROLE_HELP = {
    "first_name": "given name: Jaro-Winkler levels with term-frequency adjustment",
    "middle_name": "middle name: Jaro-Winkler levels with term-frequency adjustment",
    "last_name": "surname: Jaro-Winkler levels with term-frequency adjustment",
    "full_name": "whole name in one column: Jaro-Winkler levels with term frequencies",
    "birth_date": "date of birth (any common format): exact, one edit, month, year, 10 years",
    "phone": "phone number, compared on its digits: exact, 1 or 2 edits",
    "email": "e-mail address: exact, same user name, similar user name",
    "identity": "passport, national id, social security number: exact, 1 or 2 edits",
    "citizenship": "nationality: exact with term frequencies",
    "city": "town, suburb, place of birth: Jaro-Winkler levels",
    "address": "street address: Jaro-Winkler levels",
    "postcode": "postal code: exact, 1 or 2 edits",
    "state": "state, province, region: exact with term frequencies",
    "street_number": "house number: exact, 1 edit",
    "gender": "sex or gender: exact",
    "category": "any other categorical value: exact with term frequencies",
    "ignore": "not used",
}

# (role, pattern on the normalised column name); the first match wins, so order matters.
_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "identity",
        r"(soc_?sec|ssn|passport|national_?id|identity|id_?(number|no|card)|document_?(number|no)|nin$|tax_?id|nric|cnp)",
    ),
    ("email", r"(e_?mail|^mail$)"),
    ("phone", r"(phone|mobile|cell|tel$|telephone|msisdn|whatsapp|contact_?number)"),
    ("birth_date", r"(^dob$|birth_?date|date_?of_?birth|birthday|^born|_dob$|^dob_)"),
    ("full_name", r"(full_?name|first_and_surname|^name$|person_?name|^names?$|complete_?name)"),
    ("middle_name", r"(middle_?name|second_?name)"),
    (
        "first_name",
        r"(first_?name|given_?name|forename|christian_?name|^first$|^given$|prenom|nombre)",
    ),
    ("last_name", r"(last_?name|surname|family_?name|^last$|apellido|nom$)"),
    ("citizenship", r"(citizenship|nationality|nationalities)"),
    ("street_number", r"(street_?number|house_?number|house_?no|building_?number)"),
    ("postcode", r"(post_?code|postal|zip)"),
    ("address", r"(address|street|addr)"),
    (
        "city",
        r"(city|suburb|town|locality|municipality|village|birth_?place|place_?of_?birth|place)",
    ),
    ("state", r"(state|province|county|district|region)"),
    ("gender", r"(^sex$|gender)"),
)
# Names that hold record ids or answers, never evidence.
_NEVER = re.compile(r"(^id$|_id$|^uid$|uuid|^cluster|^entity|^truth|^label|^match|^rec_?id|^row)")


@dataclass(frozen=True)
class ColumnRole:
    column: str
    role: str
    guessed: bool


def normalise_name(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")


def guess_role(column: str) -> str | None:
    """The role a column name suggests, or None."""
    name = normalise_name(column)
    for role, pattern in _PATTERNS:
        if re.search(pattern, name):
            if role != "identity" and _NEVER.search(name):
                return None
            return role
    return None


def parse_column_specs(specs: Iterable[str]) -> list[tuple[str, str | None]]:
    """``--columns`` values: ``name`` (guess the role) or ``name:role``; commas also split."""
    parsed: list[tuple[str, str | None]] = []
    for spec in specs:
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            column, _, role = part.rpartition(":") if ":" in part else (part, "", "")
            role = role.strip().lower().replace("-", "_")
            if role and role not in ROLES:
                raise BadInputError(
                    f"--columns {part}: unknown role '{role}'",
                    hint="roles: " + ", ".join(sorted(ROLES)),
                )
            parsed.append((column.strip(), role or None))
    return parsed


def assign_roles(
    columns: Sequence[str],
    specs: Sequence[tuple[str, str | None]] = (),
    *,
    id_column: str | None = None,
) -> list[ColumnRole]:
    """Roles for the columns to compare: those given, or every column whose name says one.

    When first and last names are both present, a full-name column adds no evidence of its own
    (it would count the same agreement twice), so it is left out unless asked for.
    """
    available = {c.lower(): c for c in columns}
    chosen: list[ColumnRole] = []
    if specs:
        for name, role in specs:
            column = available.get(name.lower())
            if column is None:
                raise BadInputError(
                    f"--columns: no column '{name}' in the input",
                    hint="columns: " + ", ".join(columns),
                )
            found = role or guess_role(column)
            if found is None:
                raise BadInputError(
                    f"--columns: cannot tell what '{column}' holds",
                    hint=f"give its role, e.g. {column}:first_name (roles: {', '.join(sorted(ROLES))})",
                )
            if found != "ignore":
                chosen.append(ColumnRole(column, found, role is None))
    else:
        for column in columns:
            if column == id_column:
                continue
            role = guess_role(column)
            if role is not None:
                chosen.append(ColumnRole(column, role, True))
        roles = {c.role for c in chosen}
        if {"first_name", "last_name"} <= roles:
            chosen = [c for c in chosen if c.role != "full_name"]
    if not any(c.role in IDENTIFYING for c in chosen):
        raise BadInputError(
            "no identifying column (name, date of birth, phone, e-mail, identity number) to link on",
            hint="records are never linked on demographics alone; name the columns with"
            " --columns COL:ROLE",
        )
    return chosen
