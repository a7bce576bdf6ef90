"""Splink on Apache Spark (``--engine spark``): a local-mode session with Splink's UDF jar.

The workspace engine still prepares the records (a DuckDB query); Spark scores the pairs. The
session is created here, lazily, because starting a JVM costs seconds and most runs do not need
it. Splink's similarity functions (Jaro-Winkler and friends) are Scala UDFs shipped in a jar
inside the splink wheel, so nothing is downloaded.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ctip.errors import CtipError, EngineGapError


@contextmanager
def spark_api(master: str) -> Iterator[Any]:
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import SparkAPI, similarity_jar_location
    except ImportError as error:  # pragma: no cover - the dev extras install pyspark
        raise CtipError("--engine spark needs pyspark", hint="pip install 'ctip[spark]'") from error
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    checkpoints = tempfile.mkdtemp(prefix="ctip-spark-")
    session = (
        SparkSession.builder.master(master)
        .appName("ctip-link")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.default.parallelism", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    if similarity_jar_location() not in str(session.sparkContext.getConf().get("spark.jars", "")):
        # getOrCreate handed back a session started elsewhere in this process, without the jar;
        # Splink's comparisons would then fail deep inside with "unresolved function".
        raise EngineGapError(
            "the spark engine cannot link here: a Spark session without Splink's similarity jar"
            " is already running in this process",
            hint="run 'ctip link dedupe --engine spark' in its own process",
        )
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(checkpoints)
    try:
        api: Any = SparkAPI
        yield api(spark_session=session, break_lineage_method="persist")
    finally:
        session.stop()
