"""What the case-based pages analyse: an in-memory DuckDB of the records an agency may see.

The analytics functions (``ctip.analytics``) work on a workspace's ``cases`` and
``case_events`` tables. For a hub agency those tables are built from its own records and the
copies shared with it, with the **non-personal** fields only: the hub stores personal fields
encrypted apart from the ``record`` JSON, so they never reach this database. Reading goes
through the API's database role inside ``tenant(...)``, so row-level security applies here as
everywhere else.

A dataset is cached per agency and rebuilt when the set of visible records changes (a cheap
fingerprint: count and summed hashes of the ids, own and shared, checked on every request).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import pyarrow as pa
import sqlalchemy as sa

from ctip.engine.duckdb import DuckDBEngine
from ctip.hub.database import tenant
from ctip.hub.records import personal_keys
from ctip.hub.runtime import Hub
from ctip.ingest.mapping import EVENT_TYPES
from ctip.workspace.migrator import migrate

MAX_CACHED_AGENCIES = 16
MAX_RESULTS = 64  # analysis results kept per dataset (charts, tables of one page view)
T = TypeVar("T")
PROVENANCE = ("case_id", "source", "import_id", "file_sha256", "row_number", "imported_at")
EVENT_ATTRIBUTES = (
    "country",
    "state",
    "city",
    "street",
    "postal_code",
    "latitude",
    "longitude",
    "date",
    "description",
)

FINGERPRINT_SQL = """
SELECT
  (SELECT count(*) || ':' || coalesce(sum(hashtext(id::text)::bigint), 0)
     FROM cases WHERE agency_id = :a)
  || '/' ||
  (SELECT count(*) || ':' || coalesce(sum(hashtext(sc.share_id::text || sc.case_id::text)::bigint), 0)
     FROM shared_cases sc JOIN shares s ON s.id = sc.share_id
    WHERE sc.recipient_agency_id = :a AND s.status = 'active' AND sc.expires_at > now())
"""

RECORDS_SQL = """
SELECT id::text AS case_id, record::text AS record, source, import_id::text AS import_id,
       file_sha256, row_number, imported_at, 'own' AS scope
  FROM cases WHERE agency_id = :a
UNION ALL
SELECT * FROM (
  SELECT DISTINCT ON (sc.case_id) sc.case_id::text, sc.record::text, 'shared by ' || a.name,
         s.id::text, 'share:' || s.id::text, 0::bigint, sc.shared_at, 'shared'
    FROM shared_cases sc JOIN shares s ON s.id = sc.share_id
    JOIN agencies a ON a.id = sc.owner_agency_id
   WHERE sc.recipient_agency_id = :a AND s.status = 'active' AND sc.expires_at > now()
   ORDER BY sc.case_id, sc.shared_at DESC) shared
"""


@dataclass
class CaseDataset:
    """One agency's visible, non-personal case records as a DuckDB workspace schema."""

    agency_id: str
    fingerprint: str
    engine: DuckDBEngine
    own: int
    shared: int
    built_at: float
    build_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    results: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)

    @property
    def total(self) -> int:
        return self.own + self.shared

    @contextmanager
    def use(self) -> Iterator[DuckDBEngine]:
        """The engine, for one request at a time (a DuckDB connection is not thread-safe)."""
        with self.lock:
            yield self.engine

    def memo(self, key: tuple[Any, ...], compute: Callable[[DuckDBEngine], T]) -> T:
        """``compute(engine)`` once per key: the dataset never changes once built (a change
        of the visible records builds a new one), so its results can be kept with it."""
        with self.lock:
            if key in self.results:
                self.results.move_to_end(key)
                return cast(T, self.results[key])
            value = compute(self.engine)
            self.results[key] = value
            while len(self.results) > MAX_RESULTS:
                self.results.popitem(last=False)
            return value


def _fingerprint(hub: Hub, agency_id: str) -> str:
    with tenant(hub.app, agency_id) as connection:
        return str(connection.execute(sa.text(FINGERPRINT_SQL), {"a": agency_id}).scalar_one())


def _field(key: str) -> str:
    return 's."' + key.replace('"', "") + '"'


def _structure_type(sql_type: str) -> str:
    """How ``from_json`` reads a column: lists as lists, JSON as JSON, the rest as text
    (then cast with TRY_CAST, so one odd value becomes NULL rather than failing the build)."""
    if sql_type.endswith("[]"):
        return "VARCHAR[]"
    return "JSON" if sql_type == "JSON" else "VARCHAR"


def _extract(key: str, sql_type: str) -> str:
    if sql_type.endswith("[]"):
        return f"COALESCE({_field(key)}, [])"
    if sql_type in ("VARCHAR", "JSON"):
        return _field(key)
    return f"TRY_CAST({_field(key)} AS {sql_type})"


def _columns(engine: DuckDBEngine, table: str) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in engine.rows(f"DESCRIBE {table}")]


def build_dataset(hub: Hub, agency_id: str, fingerprint: str) -> CaseDataset:
    """Read the agency's visible records from the hub into a fresh in-memory database."""
    started = time.perf_counter()
    with tenant(hub.app, agency_id) as connection:
        result = connection.execute(sa.text(RECORDS_SQL), {"a": agency_id})
        names = list(result.keys())
        rows = result.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    table = pa.table(
        {
            "case_id": pa.array(columns[0], pa.string()),
            "record": pa.array(columns[1], pa.string()),
            "source": pa.array(columns[2], pa.string()),
            "import_id": pa.array(columns[3], pa.string()),
            "file_sha256": pa.array(columns[4], pa.string()),
            "row_number": pa.array(columns[5], pa.int64()),
            "imported_at": pa.array(columns[6], pa.timestamp("us", tz="UTC")),
            "scope": pa.array(columns[7], pa.string()),
        }
    )
    engine = DuckDBEngine(threads=2)
    migrate(engine)
    engine.register("_hub_records", table)
    personal = set(personal_keys())
    case_columns = [
        (name, sql_type)
        for name, sql_type in _columns(engine, "cases")
        if name not in PROVENANCE and name not in personal
    ]
    event_types = dict(_columns(engine, "case_events"))
    event_keys = {
        event_type: [
            (a, event_types[a])
            for a in EVENT_ATTRIBUTES
            if a in event_types and f"events.{event_type}.{a}" not in personal
        ]
        for event_type in EVENT_TYPES
    }
    # Parse each record's JSON once, into a struct of every wanted key.
    structure = {name: _structure_type(sql_type) for name, sql_type in case_columns}
    for event_type, attributes in event_keys.items():
        structure.update({f"events.{event_type}.{a}": _structure_type(t) for a, t in attributes})
    engine.sql(
        "CREATE TEMP TABLE _parsed AS SELECT * EXCLUDE (record),"
        " from_json(record, ?) AS s FROM _hub_records",
        [json.dumps(structure)],
    )
    engine.unregister("_hub_records")
    selects = [f"{_extract(name, sql_type)} AS {name}" for name, sql_type in case_columns]
    engine.sql(
        f"INSERT INTO cases ({', '.join(PROVENANCE)}, {', '.join(n for n, _ in case_columns)})"
        f" SELECT {', '.join(PROVENANCE)}, {', '.join(selects)} FROM _parsed"
    )
    for event_type, attributes in event_keys.items():
        keys = [f"events.{event_type}.{a}" for a, _ in attributes]
        values = [_extract(key, t) for key, (_, t) in zip(keys, attributes, strict=True)]
        present = " OR ".join(f"{_field(key)} IS NOT NULL" for key in keys)
        engine.sql(
            f"INSERT INTO case_events (case_id, event_type, {', '.join(a for a, _ in attributes)},"
            f" import_id) SELECT case_id, '{event_type.capitalize()}', {', '.join(values)},"
            f" import_id FROM _parsed WHERE {present}"
        )
    engine.sql(
        "INSERT INTO imports (import_id, kind, source, file_name, file_sha256, file_size,"
        " started_at, status, read, loaded) SELECT import_id, 'cases', any_value(source),"
        " any_value(source), any_value(file_sha256), 0, min(imported_at), 'completed',"
        " count(*), count(*) FROM _parsed GROUP BY import_id"
    )
    engine.sql("DROP TABLE _parsed")
    own = sum(1 for scope in columns[7] if scope == "own")
    return CaseDataset(
        agency_id=agency_id,
        fingerprint=fingerprint,
        engine=engine,
        own=own,
        shared=len(rows) - own,
        built_at=time.time(),
        build_seconds=time.perf_counter() - started,
    )


class DatasetCache:
    """Datasets per agency, rebuilt when the fingerprint changes; least recently used dropped."""

    def __init__(self, hub: Hub, size: int = MAX_CACHED_AGENCIES) -> None:
        self.hub = hub
        self.size = size
        self._datasets: OrderedDict[str, CaseDataset] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _agency_lock(self, agency_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(agency_id, threading.Lock())

    def get(self, agency_id: str) -> CaseDataset:
        fingerprint = _fingerprint(self.hub, agency_id)
        with self._agency_lock(agency_id):
            cached = self._datasets.get(agency_id)
            if cached is not None and cached.fingerprint == fingerprint:
                with self._guard:
                    self._datasets.move_to_end(agency_id)
                return cached
            dataset = build_dataset(self.hub, agency_id, fingerprint)
            with self._guard:
                old = self._datasets.pop(agency_id, None)
                self._datasets[agency_id] = dataset
                while len(self._datasets) > self.size:
                    self._datasets.popitem(last=False)
            # A replaced dataset may still serve a request in another thread: it is closed by
            # the garbage collector once nothing refers to it.
            del old
            return dataset

    def close(self) -> None:
        with self._guard:
            datasets = list(self._datasets.values())
            self._datasets.clear()
        for dataset in datasets:
            with dataset.lock:
                dataset.engine.close()


def summary(engine: DuckDBEngine) -> dict[str, Any]:
    """Key figures of a dataset (exact counts; callers protect small ones)."""
    return engine.records(
        "SELECT count(*) AS records,"
        " count(*) FILTER (WHERE list_contains(exploitation_types, 'SexualExploitation')) AS sexual,"
        " count(*) FILTER (WHERE list_contains(exploitation_types, 'ForcedLabour')) AS labour,"
        " count(*) FILTER (WHERE majority_status = 'Minor' OR age_broad IN ('0--8', '9--17'))"
        " AS minors, count(DISTINCT country_of_exploitation) AS destinations,"
        " min(COALESCE(year_of_registration, year(registration_date))) AS first_year,"
        " max(COALESCE(year_of_registration, year(registration_date))) AS last_year,"
        " count(DISTINCT source) AS sources FROM cases"
    )[0]
