"""The co-spend rules as SQL, written once for the workspace and for Parquet jobs on any engine.

Clustering starts from one question per transaction: does it join its input addresses into one
owner? The answer (how many distinct input addresses, how its outputs split into equal-value
groups, and which CoinJoin rule, if any, it meets) is computed here in SQL over two relations:

- inputs: ``tx, address`` (one row per input; ``address`` NULL when not known),
- outputs: ``tx, value`` (one row per output, value in coin units).

The workspace feeds it ``crypto_inputs``/``crypto_outputs`` (integer ids), a Parquet job the
flat input/output table (strings); DuckDB runs it as written and Spark after transpiling
(``ctip.engine.dialect``). Keeping the rule in one place is what makes "same clusters on both
engines" a property of the code rather than of two implementations kept in step by hand.

The rules themselves are described in ``ctip.crypto.cluster``. Numbers are inlined as
literals (validated floats and ints): Spark and DuckDB spell query parameters differently, and
``CAST(... AS DOUBLE)`` keeps Spark from reading ``0.00001`` as a DECIMAL.
"""

from __future__ import annotations

COINJOIN_RULES = ("equal-outputs", "many-owners")

FEATURES = """
WITH cin AS ({inputs}),
cout AS ({outputs}),
multi AS (
    SELECT tx, CAST(count(*) AS BIGINT) AS n_in,
           CAST(count(DISTINCT address) AS BIGINT) AS d_in, min(address) AS first_address
    FROM cin WHERE address IS NOT NULL
    GROUP BY tx HAVING count(DISTINCT address) >= 2
),
value_groups AS (
    SELECT o.tx, o.value, CAST(count(*) AS BIGINT) AS c
    FROM cout o JOIN (SELECT tx FROM multi) m ON o.tx = m.tx
    GROUP BY o.tx, o.value
),
output_shape AS (
    SELECT tx, CAST(sum(c) AS BIGINT) AS n_out,
           CAST(coalesce(max(CASE WHEN value > {dust} THEN c END), 0) AS BIGINT) AS k,
           CAST(coalesce(sum(CASE WHEN c >= 2 AND value > {dust} THEN c END), 0) AS BIGINT) AS eq
    FROM value_groups GROUP BY tx
),
features AS (
    SELECT m.tx, m.n_in, m.d_in, m.first_address,
           coalesce(s.n_out, CAST(0 AS BIGINT)) AS n_out,
           coalesce(s.k, CAST(0 AS BIGINT)) AS k,
           coalesce(s.eq, CAST(0 AS BIGINT)) AS eq
    FROM multi m LEFT JOIN output_shape s ON s.tx = m.tx
)
SELECT tx, n_in, d_in, first_address, n_out, k, eq,
       CASE WHEN k >= 2 AND d_in >= k AND 2 * eq >= n_out - 1 THEN 'equal-outputs'
            WHEN d_in >= {many_owners} AND n_out >= {many_owners} THEN 'many-owners'
       END AS coinjoin
FROM features
"""

EDGES = """
WITH cin AS ({inputs})
SELECT DISTINCT i.address AS a, f.first_address AS b
FROM cin i JOIN {features} f ON i.tx = f.tx
WHERE i.address IS NOT NULL AND i.address <> f.first_address{exclusion}
"""


def features_sql(inputs: str, outputs: str, *, dust: float, many_owners: int) -> str:
    """Per multi-input transaction: input and output counts, equal-value groups, CoinJoin rule.

    Only transactions with at least two distinct input addresses are listed: the others link
    nothing. Columns: ``tx, n_in, d_in, first_address, n_out, k, eq, coinjoin`` where ``k`` is
    the largest group of equal non-dust outputs, ``eq`` the outputs in such groups, and
    ``coinjoin`` the rule met (NULL for an ordinary transaction).
    """
    return FEATURES.format(
        inputs=inputs,
        outputs=outputs,
        dust=f"CAST({float(dust)!r} AS DOUBLE)",
        many_owners=int(many_owners),
    )


def edges_sql(inputs: str, features: str, *, exclude_coinjoins: bool) -> str:
    """Co-spend links ``a -> b`` from each input address to the smallest input address of its
    transaction (a star per transaction is enough for connected components), with ``a > b``.
    CoinJoins (a non-NULL ``coinjoin``) link nothing unless ``exclude_coinjoins`` is off."""
    exclusion = " AND f.coinjoin IS NULL" if exclude_coinjoins else ""
    return EDGES.format(inputs=inputs, features=features, exclusion=exclusion)
