"""The engine seam: capability code runs SQL and Arrow batches through an ``Engine``.

Capability packages never import ``duckdb`` or ``pyspark`` for batch work; they take an Engine.
"""

from ctip.engine.base import ENGINE_GAPS, Engine, require
from ctip.engine.duckdb import DuckDBEngine

__all__ = ["ENGINE_GAPS", "DuckDBEngine", "Engine", "require"]
