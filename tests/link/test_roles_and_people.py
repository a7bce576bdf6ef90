"""Column roles and the fake-person generator."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from ctip.errors import BadInputError
from ctip.link.people import generate_linkage_pair, typo
from ctip.link.roles import assign_roles, guess_role, parse_column_specs


@pytest.mark.parametrize(
    ("column", "role"),
    [
        ("given_name", "first_name"),
        ("Surname", "last_name"),
        ("date_of_birth", "birth_date"),
        ("dob", "birth_date"),
        ("soc_sec_id", "identity"),
        ("Passport No", "identity"),
        ("E-mail", "email"),
        ("mobile_phone", "phone"),
        ("Nationality", "citizenship"),
        ("suburb", "city"),
        ("birth_place", "city"),
        ("postcode_fake", "postcode"),
        ("street_number", "street_number"),
        ("first_and_surname", "full_name"),
        ("unique_id", None),
        ("cluster", None),
        ("notes", None),
    ],
)
def test_roles_are_guessed_from_column_names(column: str, role: str | None) -> None:
    assert guess_role(column) == role


def test_full_name_is_dropped_when_first_and_last_names_exist() -> None:
    roles = assign_roles(["id", "full_name", "first_name", "surname", "dob"], id_column="id")
    assert [r.role for r in roles] == ["first_name", "last_name", "birth_date"]


def test_explicit_roles_and_errors() -> None:
    specs = parse_column_specs(["nom:last_name,prenom", "born:birth_date"])
    roles = assign_roles(["nom", "prenom", "born"], specs)
    assert [(r.column, r.role, r.guessed) for r in roles] == [
        ("nom", "last_name", False),
        ("prenom", "first_name", True),
        ("born", "birth_date", False),
    ]
    with pytest.raises(BadInputError, match="unknown role"):
        parse_column_specs(["x:shoe_size"])
    with pytest.raises(BadInputError, match="no column 'missing'"):
        assign_roles(["a"], [("missing", "first_name")])


def test_demographics_alone_are_refused() -> None:
    with pytest.raises(BadInputError, match="never linked on demographics alone"):
        assign_roles(["gender", "citizenship", "age"])


def test_generated_people_are_fake_and_have_known_duplicates(people: pa.Table) -> None:
    rows = people.to_pylist()
    assert len({r["record_id"] for r in rows}) == len(rows)
    assert len({r["entity_id"] for r in rows}) < len(rows)  # some people appear twice or more
    phones = [r["phone"] for r in rows if r["phone"]]
    assert phones and all(re.fullmatch(r"\+1-\d{3}-555-\d{4}", p) for p in phones)
    emails = [r["email"] for r in rows if r["email"]]
    assert emails and all(e.split("@")[1].startswith("example.") for e in emails)


def test_linkage_pair_shares_the_requested_overlap() -> None:
    a, b = generate_linkage_pair(400, overlap=0.25, seed=3)
    shared = set(a.column("entity_id").to_pylist()) & set(b.column("entity_id").to_pylist())
    assert a.num_rows == b.num_rows == 400 and len(shared) == 100


def test_typo_makes_one_edit() -> None:
    import random

    rng = random.Random(1)
    results = [typo("maria", rng) for _ in range(50)]
    assert all(abs(len(r) - 5) <= 1 for r in results)
    assert sum(r != "maria" for r in results) > 40
