"""Fake people with known duplicates, for entity-resolution tests and benchmarks.

No real person may appear in the repository, so linkage is tested on generated records. To be
useful the fakes must be hard in the ways real case files are hard: names drawn with realistic
frequencies from many languages (Faker's locale data, so common surnames collide as they do in
life), people recorded several times by different agencies with typos, missing fields, day and
month swapped, a new address or a married name, and first and last name swapped. Every record
carries the id of the person it describes (``entity_id``), which is the ground truth.

Values are drawn from pools that Faker fills once per locale (weighted as Faker weights them)
and then sampled with numpy, which is what makes a million records take seconds. Phone numbers
use the fictional 555 exchange; e-mail addresses use the reserved ``example.*`` domains.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
from faker import Faker

# Faker locale -> ISO 3166 alpha-2 country, with a weight (rough share of people).
LOCALES: tuple[tuple[str, str, float], ...] = (
    ("en_US", "US", 3.0),
    ("en_GB", "GB", 1.5),
    ("es_MX", "MX", 2.0),
    ("es_CO", "CO", 1.0),
    ("pt_BR", "BR", 1.5),
    ("ro_RO", "RO", 1.5),
    ("pl_PL", "PL", 1.0),
    ("fr_FR", "FR", 1.0),
    ("de_DE", "DE", 1.0),
    ("it_IT", "IT", 1.0),
    ("fil_PH", "PH", 2.0),
    ("vi_VN", "VN", 1.5),
    ("id_ID", "ID", 1.0),
    ("tr_TR", "TR", 1.0),
    ("en_NG", "NG", 1.5),
    ("sq_AL", "AL", 0.5),
    ("hu_HU", "HU", 0.5),
    ("cs_CZ", "CZ", 0.5),
)
COLUMNS = (
    "record_id",
    "entity_id",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "citizenship",
    "city",
    "address",
    "postcode",
    "phone",
    "email",
    "identity_number",
)
# Share of missing values in first records (duplicates lose more, see _corrupt).
MISSING = {
    "birth_date": 0.10,
    "citizenship": 0.05,
    "address": 0.25,
    "postcode": 0.25,
    "phone": 0.30,
    "email": 0.45,
    "identity_number": 0.55,
}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
POOL = 4000


@dataclass(frozen=True)
class Pools:
    """Per-locale value pools drawn with Faker (weighted draws, so repeats carry frequency)."""

    female: list[np.ndarray]
    male: list[np.ndarray]
    last: list[np.ndarray]
    city: list[np.ndarray]
    street: list[np.ndarray]
    postcode: list[np.ndarray]


@cache
def _pools(seed: int) -> Pools:
    female, male, last, city, street, postcode = [], [], [], [], [], []
    for index, (locale, _, _) in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + index)
        female.append(np.array([fake.first_name_female() for _ in range(POOL)], dtype=object))
        male.append(np.array([fake.first_name_male() for _ in range(POOL)], dtype=object))
        last.append(np.array([fake.last_name() for _ in range(POOL)], dtype=object))
        city.append(np.array([fake.city() for _ in range(POOL // 8)], dtype=object))
        street.append(np.array([fake.street_address() for _ in range(POOL)], dtype=object))
        postcode.append(np.array([fake.postcode() for _ in range(POOL // 4)], dtype=object))
    return Pools(female, male, last, city, street, postcode)


def ascii_fold(text: str) -> str:
    """Letters without accents, lower case, for e-mail user names."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def generate_people(
    records: int,
    *,
    duplicate_share: float = 0.3,
    seed: int = 0,
    typo_rate: float = 1.0,
) -> pa.Table:
    """``records`` fake person records, ``duplicate_share`` of them extra copies of a person.

    ``typo_rate`` scales how many corruptions each copy gets (1.0: one or two on average).
    Rows come shuffled, with ``record_id`` unique and ``entity_id`` the true person.
    """
    if records < 1:
        raise ValueError("records must be at least 1")
    rng = np.random.default_rng(seed)
    pools = _pools(seed)
    entities = max(1, round(records * (1 - duplicate_share)))
    extra = records - entities
    # Copies go to a subset of people, so some are recorded three or four times.
    duplicated = rng.choice(entities, size=max(1, round(extra / 1.6)), replace=False)
    entity_of_row = np.concatenate([np.arange(entities), rng.choice(duplicated, size=extra)])
    people = _people(entities, rng, pools)
    rows = {name: values[entity_of_row] for name, values in people.items()}
    is_copy = np.zeros(records, dtype=bool)
    is_copy[entities:] = True
    py_random = random.Random(seed)
    for column, share in MISSING.items():
        rows[column] = np.where(rng.random(records) < share, None, rows[column])
    for row in np.flatnonzero(is_copy):
        _corrupt(rows, int(row), py_random, typo_rate, pools, people, entities)
    order = rng.permutation(records)
    data = {name: rows[name][order] for name in rows}
    data["entity_id"] = np.array([f"E{e:07d}" for e in entity_of_row[order]], dtype=object)
    data["record_id"] = np.array([f"R{i:07d}" for i in range(records)], dtype=object)
    return pa.table({name: pa.array(data[name].tolist(), pa.string()) for name in COLUMNS})


def _people(count: int, rng: np.random.Generator, pools: Pools) -> dict[str, np.ndarray]:
    weights = np.array([w for _, _, w in LOCALES])
    locale = rng.choice(len(LOCALES), size=count, p=weights / weights.sum())
    female = rng.random(count) < 0.6
    pick = rng.integers(0, POOL, size=count)
    first = np.empty(count, dtype=object)
    last = np.empty(count, dtype=object)
    city = np.empty(count, dtype=object)
    street = np.empty(count, dtype=object)
    postcode = np.empty(count, dtype=object)
    for index in range(len(LOCALES)):
        mask = locale == index
        chosen = pick[mask]
        first[mask] = np.where(female[mask], pools.female[index][chosen], pools.male[index][chosen])
        last[mask] = pools.last[index][rng.integers(0, POOL, size=int(mask.sum()))]
        city[mask] = pools.city[index][rng.integers(0, POOL // 8, size=int(mask.sum()))]
        street[mask] = pools.street[index][rng.integers(0, POOL, size=int(mask.sum()))]
        postcode[mask] = pools.postcode[index][rng.integers(0, POOL // 4, size=int(mask.sum()))]
    days = rng.integers(0, 60 * 365, size=count)
    birth = (np.datetime64("1950-01-01") + days.astype("timedelta64[D]")).astype(str)
    countries = np.array([c for _, c, _ in LOCALES], dtype=object)
    citizenship = countries[locale]
    moved = rng.random(count) < 0.08  # some hold another citizenship than their name suggests
    citizenship[moved] = countries[rng.integers(0, len(LOCALES), size=int(moved.sum()))]
    area = rng.integers(201, 990, size=count)
    line = rng.integers(0, 10_000, size=count)
    phone = np.array([f"+1-{a}-555-{n:04d}" for a, n in zip(area, line, strict=True)], dtype=object)
    number = rng.integers(1, 99, size=count)
    domain = rng.integers(0, len(EMAIL_DOMAINS), size=count)
    email = np.array(
        [
            f"{ascii_fold(f)}.{ascii_fold(s)}{n}@{EMAIL_DOMAINS[d]}"
            for f, s, n, d in zip(first, last, number, domain, strict=True)
        ],
        dtype=object,
    )
    letters = rng.integers(65, 91, size=(count, 2))
    digits = rng.integers(0, 10_000_000, size=count)
    identity = np.array(
        [f"{chr(a)}{chr(b)}{d:07d}" for (a, b), d in zip(letters, digits, strict=True)],
        dtype=object,
    )
    return {
        "first_name": first,
        "last_name": last,
        "birth_date": birth.astype(object),
        "gender": np.where(female, "Female", "Male").astype(object),
        "citizenship": citizenship,
        "city": city,
        "address": street,
        "postcode": postcode,
        "phone": phone,
        "email": email,
        "identity_number": identity,
    }


def typo(text: str, rng: random.Random) -> str:
    """One keyboard-style edit: delete, insert, substitute or transpose a character."""
    if len(text) < 2:
        return text
    position = rng.randrange(len(text) - 1)
    kind = rng.randrange(4)
    letter = rng.choice("aeiounrstlmhkcdy")
    if kind == 0:
        return text[:position] + text[position + 1 :]
    if kind == 1:
        return text[:position] + letter + text[position:]
    if kind == 2:
        return text[:position] + letter + text[position + 1 :]
    return text[:position] + text[position + 1] + text[position] + text[position + 2 :]


def _corrupt(
    rows: dict[str, np.ndarray],
    row: int,
    rng: random.Random,
    typo_rate: float,
    pools: Pools,
    people: dict[str, np.ndarray],
    entities: int,
) -> None:
    """Make one copy look like another agency wrote it down."""
    edits = 1 + int(rng.random() < 0.5 * typo_rate) + int(rng.random() < 0.15 * typo_rate)
    for _ in range(edits):
        kind = rng.random()
        if kind < 0.30:
            column = rng.choice(("first_name", "last_name"))
            if rows[column][row]:
                rows[column][row] = typo(str(rows[column][row]), rng)
        elif kind < 0.45:
            column = rng.choice(("birth_date", "phone", "email", "address", "postcode", "city"))
            rows[column][row] = None
        elif kind < 0.55 and rows["birth_date"][row]:
            year, month, day = str(rows["birth_date"][row]).split("-")
            if int(day) <= 12 and rng.random() < 0.5:
                rows["birth_date"][row] = f"{year}-{day}-{month}"  # day and month swapped
            else:
                rows["birth_date"][row] = f"{int(year) + rng.choice((-1, 1))}-{month}-{day}"
        elif kind < 0.65 and rows["phone"][row]:
            phone = str(rows["phone"][row])
            last = rng.randrange(len(phone) - 4, len(phone))
            rows["phone"][row] = phone[:last] + str(rng.randrange(10)) + phone[last + 1 :]
        elif kind < 0.73:
            moved = rng.randrange(entities)  # moved house: someone else's address
            for column in ("city", "address", "postcode"):
                rows[column][row] = people[column][moved]
        elif kind < 0.80:
            rows["first_name"][row], rows["last_name"][row] = (
                rows["last_name"][row],
                rows["first_name"][row],
            )
        elif kind < 0.85 and rows["gender"][row] == "Female":
            locale = rng.randrange(len(LOCALES))
            rows["last_name"][row] = pools.last[locale][rng.randrange(POOL)]  # married name
        elif kind < 0.89 and rows["identity_number"][row]:
            rows["identity_number"][row] = typo(str(rows["identity_number"][row]), rng)
        elif kind < 0.93:
            other = rng.randrange(entities)  # a new phone or e-mail address
            column = rng.choice(("phone", "email"))
            rows[column][row] = people[column][other]
        elif kind < 0.95:
            rows["citizenship"][row] = LOCALES[rng.randrange(len(LOCALES))][1]
        else:
            for column in ("first_name", "last_name", "city"):
                if rows[column][row]:
                    rows[column][row] = str(rows[column][row]).upper()


def generate_linkage_pair(
    records: int, *, overlap: float = 0.5, seed: int = 0, typo_rate: float = 1.0
) -> tuple[pa.Table, pa.Table]:
    """Two agencies' files of ``records`` people each, ``overlap`` of them in both.

    The shared people appear in the second file as a copy written down by another agency
    (``_corrupt``); ``entity_id`` in both files is the ground truth.
    """
    shared = round(records * overlap)
    distinct = 2 * records - shared
    rng = np.random.default_rng(seed)
    pools = _pools(seed)
    people = _people(distinct, rng, pools)
    entity_of_row = np.concatenate([np.arange(distinct), np.arange(shared)])
    rows = {name: values[entity_of_row] for name, values in people.items()}
    for column, share in MISSING.items():
        rows[column] = np.where(rng.random(len(entity_of_row)) < share, None, rows[column])
    py_random = random.Random(seed)
    for row in range(distinct, distinct + shared):
        _corrupt(rows, row, py_random, typo_rate, pools, people, distinct)
    first = np.arange(records)
    second = np.concatenate([np.arange(distinct, distinct + shared), np.arange(records, distinct)])

    def table(positions: np.ndarray, prefix: str) -> pa.Table:
        order = positions[rng.permutation(len(positions))]
        data = {name: rows[name][order] for name in rows}
        data["entity_id"] = np.array([f"E{e:07d}" for e in entity_of_row[order]], dtype=object)
        data["record_id"] = np.array([f"{prefix}{i:07d}" for i in range(len(order))], dtype=object)
        return pa.table({name: pa.array(data[name].tolist(), pa.string()) for name in COLUMNS})

    return table(first, "A"), table(second, "B")
