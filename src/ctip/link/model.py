"""The Splink model: comparisons by column role, blocking sized to the data, unsupervised training.

Choices and why:

- Comparisons come from the column roles (``ctip.link.roles``): names use Splink's
  ``NameComparison`` (Jaro-Winkler levels) with term-frequency adjustment, so agreeing on
  *Nguyen* counts for less than agreeing on a rare surname; dates of birth use
  ``DateOfBirthComparison``; e-mails ``EmailComparison``; phones, identity numbers and
  postcodes edit distance; places Jaro-Winkler; categories exact matches with term frequencies.
- Blocking rules are made only from identifying columns, and sized to the data: a column whose
  blocks would generate more than ``pair_budget`` comparisons is combined with another column
  (first name alone is useless at a million records, first name and date of birth is not).
  Counting block sizes is a GROUP BY per candidate rule, cheap next to scoring the pairs.
- Training is unsupervised: u from random sampling, the prior from deterministic rules, m by
  expectation maximisation. EM sessions block on the most *specific* columns first (identity
  numbers, e-mails, phones, dates of birth): pairs sharing a passport number are mostly the same
  person, so EM is not misled by pairs that share a common name and, with it, a country and a
  town (which breaks the model's conditional-independence assumption).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pyarrow as pa
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import ColumnExpression, Linker, SettingsCreator, block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator

from ctip.engine import DuckDBEngine
from ctip.link.prepare import UID, PreparedColumn, PreparedRecords
from ctip.link.roles import IDENTIFYING

# Specific columns first: EM trains best on blocks that are mostly true matches.
SPECIFICITY = ("identity", "email", "phone", "birth_date", "last_name", "full_name", "first_name")
NAME_ROLES = ("first_name", "middle_name", "last_name", "full_name")
PARTNER_ROLES = ("birth_date", "last_name", "first_name", "full_name", "city", "postcode")


@dataclass(frozen=True)
class BlockingChoice:
    columns: tuple[str, ...]
    pairs: int
    sql: str | None = None  # a custom rule (swapped names); else equality on ``columns``

    @property
    def label(self) -> str:
        return self.sql or " AND ".join(f"l.{c} = r.{c}" for c in self.columns)

    def creator(self) -> BlockingRuleCreator | str:
        return self.sql if self.sql is not None else block_on(*self.columns)


@dataclass
class TrainedModel:
    linker: Linker
    blocking: list[BlockingChoice]
    training: list[str]
    seconds: dict[str, float] = field(default_factory=dict)

    def model_json(self) -> dict[str, Any]:
        settings: dict[str, Any] = self.linker.misc.save_model_to_json()
        return settings


def comparison_for(column: PreparedColumn) -> ComparisonCreator:
    name, role = column.field, column.role
    if role in NAME_ROLES:
        return cl.NameComparison(name).configure(term_frequency_adjustments=True)
    if role == "birth_date":
        return cl.DateOfBirthComparison(name, input_is_string=True)
    if role == "email":
        return email_comparison(name)
    if role in ("phone", "identity", "postcode"):
        return cl.LevenshteinAtThresholds(name, [1, 2])
    if role in ("city", "address"):
        return cl.JaroWinklerAtThresholds(name, [0.95, 0.88])
    if role == "street_number":
        return cl.LevenshteinAtThresholds(name, [1])
    if role == "gender":
        return cl.ExactMatch(name)
    return cl.ExactMatch(name).configure(term_frequency_adjustments=True)  # citizenship, ...


def email_comparison(name: str) -> ComparisonCreator:
    """Exact address, then same user name at another provider; no fuzzy level.

    User names are usually built from the person's name, so a fuzzy user-name level would
    count name similarity a second time (two different Maria Lopez get maria.lopez12 and
    maria.lopez85) and make namesakes look like one person.
    """
    username = ColumnExpression(name).regex_extract("^[^@]+")
    return cl.CustomComparison(
        [
            cll.NullLevel(name),
            cll.ExactMatchLevel(name),
            cll.ExactMatchLevel(username).configure(label_for_charts="Same user name"),
            cll.ElseLevel(),
        ],
        output_column_name=name,
        comparison_description="e-mail address",
    )


def count_pairs(engine: DuckDBEngine, table: str, columns: Sequence[str]) -> int:
    """Comparisons an equality rule on ``columns`` generates: sum of n(n-1)/2 over its blocks."""
    keys = ", ".join(columns)
    where = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    value = engine.scalar(
        f"SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM"
        f" (SELECT count(*) AS n FROM {table} WHERE {where} GROUP BY {keys})"
    )
    return int(value or 0)


def choose_blocking(
    engine: DuckDBEngine, table: str, columns: Sequence[PreparedColumn], pair_budget: int
) -> list[BlockingChoice]:
    """Equality rules on identifying columns, combined with a partner when too coarse."""
    by_role: dict[str, list[str]] = {}
    for column in columns:
        by_role.setdefault(column.role, []).append(column.field)
    identifying = [c.field for c in columns if c.role in IDENTIFYING]
    partners = [f for role in PARTNER_ROLES for f in by_role.get(role, [])]
    chosen: list[BlockingChoice] = []
    for field_name in identifying:
        pairs = count_pairs(engine, table, [field_name])
        if pairs <= pair_budget:
            if pairs:
                chosen.append(BlockingChoice((field_name,), pairs))
            continue
        combined = 0
        for partner in partners:
            if partner == field_name or combined >= 2:
                continue
            key = tuple(sorted((field_name, partner)))
            if any(c.columns == key for c in chosen):
                combined += 1
                continue
            pairs = count_pairs(engine, table, key)
            if 0 < pairs <= pair_budget:
                chosen.append(BlockingChoice(key, pairs))
                combined += 1
    first, last = by_role.get("first_name", []), by_role.get("last_name", [])
    if first and last:  # names written the wrong way round
        f, s = first[0], last[0]
        sql = f"l.{f} = r.{s} AND l.{s} = r.{f}"
        chosen.append(BlockingChoice((f, s), 0, sql))
    return chosen


def _training_rules(
    columns: Sequence[PreparedColumn], blocking: Sequence[BlockingChoice], minimum: int
) -> list[BlockingChoice]:
    """Two EM sessions on disjoint columns, the most specific first (see module docstring)."""
    role_of = {c.field: c.role for c in columns}

    def rank(choice: BlockingChoice) -> tuple[int, int]:
        best = min(
            SPECIFICITY.index(role_of[c]) if role_of[c] in SPECIFICITY else len(SPECIFICITY)
            for c in choice.columns
        )
        return best, len(choice.columns)

    usable = sorted((c for c in blocking if c.sql is None and c.pairs >= minimum), key=rank)
    sessions: list[BlockingChoice] = []
    for choice in usable:
        if all(not set(choice.columns) & set(s.columns) for s in sessions):
            sessions.append(choice)
        if len(sessions) == 2:
            break
    return sessions


def train(
    splink_table: Any,
    records: PreparedRecords,
    engine: DuckDBEngine,
    table: str,
    *,
    pair_budget: int,
    seed: int = 42,
) -> TrainedModel:
    """Build and train the model on ``splink_table`` (registered with Splink's DB API)."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    blocking = choose_blocking(engine, table, records.columns, pair_budget)
    seconds["choose_blocking"] = time.perf_counter() - started
    if not blocking:
        from ctip.errors import CtipError

        raise CtipError(
            "no two records share any identifying value: nothing to link",
            hint="check the --columns roles",
        )
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=UID,
        comparisons=[comparison_for(c) for c in records.columns],
        blocking_rules_to_generate_predictions=[cast(Any, b.creator()) for b in blocking],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        additional_columns_to_retain=["source_file"],
    )
    linker = Linker(splink_table, settings, log_level=logging.ERROR)
    n = records.table.num_rows
    started = time.perf_counter()
    deterministic = _deterministic_rules(records.columns)
    with contextlib.suppress(Exception):  # no deterministic match at all: Splink's default prior
        linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    seconds["prior"] = time.perf_counter() - started
    started = time.perf_counter()
    max_pairs = min(5e6, max(1e5, n * (n - 1) / 2))
    # On Spark every chunk is a job with seconds of overhead: sample in one chunk there.
    chunks = 1 if linker._sql_dialect_str == "spark" else 10
    linker.training.estimate_u_using_random_sampling(
        max_pairs=max_pairs, seed=seed, num_chunks=chunks
    )
    seconds["u"] = time.perf_counter() - started
    started = time.perf_counter()
    sessions = _training_rules(records.columns, blocking, minimum=max(20, n // 2000))
    for session in sessions:
        linker.training.estimate_parameters_using_expectation_maximisation(
            session.creator(), max_pairs=2e6
        )
    seconds["em"] = time.perf_counter() - started
    return TrainedModel(linker, blocking, [s.label for s in sessions], seconds)


def _deterministic_rules(columns: Sequence[PreparedColumn]) -> list[BlockingRuleCreator | str]:
    by_role = {c.role: c.field for c in reversed(columns)}
    rules: list[BlockingRuleCreator | str] = []
    for role in ("identity", "email"):
        if role in by_role:
            rules.append(block_on(by_role[role]))
    names = [by_role[r] for r in ("first_name", "last_name", "full_name") if r in by_role]
    if names and "birth_date" in by_role:
        rules.append(block_on(*names, by_role["birth_date"]))
    elif names and "phone" in by_role:
        rules.append(block_on(*names, by_role["phone"]))
    return rules


def predictions_table(model: TrainedModel, floor: float) -> tuple[Any, float]:
    """Score every blocked pair; keep those with match probability >= ``floor``."""
    started = time.perf_counter()
    predictions = model.linker.inference.predict(
        threshold_match_probability=floor, warning_mode="never"
    )
    return predictions, time.perf_counter() - started


def probability(weight: float) -> float:
    return 1 - 1 / (1 + math.pow(2, weight))


def arrow_of(linker: Linker, sql: str) -> pa.Table:
    misc: Any = linker.misc  # query_sql carries no type hints
    frame = misc.query_sql(sql, output_type="pandas")
    return pa.Table.from_pandas(frame, preserve_index=False)
