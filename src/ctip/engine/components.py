"""Connected components in SQL, for graphs too large for one machine's memory.

Used by jobs whose graphs may outgrow the driver (crypto co-spend clustering first). The
workspace finds components with SciPy on the driver; a Parquet job may hold more edges
than fit there, so it alternates the two steps of Kiveris et al.'s "large-star / small-star"
algorithm (Connected Components in MapReduce and Beyond, SoCC 2014) as SQL stages:

- large-star: every node links each *larger* neighbour to the smallest node it can see
  (itself or a neighbour);
- small-star: every node links itself and its *smaller* neighbours to the smallest of them.

Both keep the components and shrink every path, so labels jump towards the component's
minimum in O(log n) rounds, instead of the O(diameter) rounds of plain min-label
propagation; long peel chains (thousands of hops) converge in a few rounds. Edges always run
from a larger node ``a`` to a smaller ``b``. The work is done when the edges form stars: each
node has at most one edge and no edge ends at a node that has its own. Then ``b`` is the
minimum of ``a``'s component, which makes the cluster id (the smallest member) the same on
every engine and in every run.

Each step is a job stage (written to Parquet, then read back): a rerun after a failure resumes
at the round that failed, and on Spark the query plan stays one round deep instead of growing
with every round.
"""

from __future__ import annotations

from collections.abc import Callable

from ctip.engine.jobs import ParquetJob
from ctip.errors import CtipError

MAX_ROUNDS = 64

LARGE_STAR = """
WITH both_ways AS (
    SELECT a AS u, b AS v FROM {edges} UNION ALL SELECT b AS u, a AS v FROM {edges}
),
smallest AS (SELECT u, least(u, min(v)) AS m FROM both_ways GROUP BY u)
SELECT DISTINCT w.v AS a, s.m AS b
FROM both_ways w JOIN smallest s ON w.u = s.u
WHERE w.v > w.u
"""

SMALL_STAR = """
WITH smallest AS (SELECT a, min(b) AS m FROM {edges} GROUP BY a),
linked AS (
    SELECT e.b AS x, s.m FROM {edges} e JOIN smallest s ON e.a = s.a
    UNION ALL
    SELECT a AS x, m FROM smallest
)
SELECT DISTINCT x AS a, m AS b FROM linked WHERE x <> m
"""

# Edges left that stop the edges from being stars: a node with two edges, or an edge ending
# at a node that has its own edge.
NOT_STARS = """
SELECT (SELECT count(*) - count(DISTINCT a) FROM {edges})
     + (SELECT count(*) FROM {edges} e JOIN (SELECT DISTINCT a FROM {edges}) p ON e.b = p.a)
"""


def components(job: ParquetJob, edges: str, *, prefix: str = "cc") -> str:
    """Run large-star/small-star rounds as stages of ``job`` until the edges of the view
    ``edges`` (columns ``a > b``) are stars; return the view of the final edges, where ``b``
    is the smallest node of ``a``'s component and nodes without an edge are their own."""
    current = edges
    for number in range(1, MAX_ROUNDS + 1):
        for step, template in (("large", LARGE_STAR), ("small", SMALL_STAR)):
            if not _remaining(job, current):
                return current
            current = job.stage(f"{prefix}_{step}_{number:02d}", _step(template, current))
    if _remaining(job, current):
        raise CtipError(f"connected components did not converge in {MAX_ROUNDS} rounds")
    return current


def _step(template: str, edges: str) -> Callable[[], str]:
    return lambda: template.format(edges=edges)


def _remaining(job: ParquetJob, edges: str) -> int:
    return int(job.engine.scalar(NOT_STARS.format(edges=edges)) or 0)
