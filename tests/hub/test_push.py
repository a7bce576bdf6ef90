"""``ctip push``: a workspace's cases reach the hub through a real HTTP server, once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from ctip.hub.runtime import Hub
from ctip.synth.ctdc import write_ctdc_csv
from tests.hub.conftest import World

pytestmark = pytest.mark.postgres


def test_push_sends_workspace_cases_once(
    cli: Callable[..., Any], tmp_path: Any, server_url: str, world: World, hub: Hub
) -> None:
    generated = write_ctdc_csv(tmp_path / "c.csv", 120, seed=3, bad_share=0.0)
    assert cli("import", "cases", generated.path).code == 0
    token = world.b["analyst"].token
    first = cli(
        "push",
        "--hub",
        server_url,
        "--token",
        token,
        "--legal-basis",
        "PublicTask",
        "--batch-size",
        "50",
        "--format",
        "json",
    )
    assert first.code == 0, first.err
    report = first.json()
    assert report["read"] == 120 and report["batches"] == 3
    assert report["loaded"] + report["quarantined"] == 120
    assert report["loaded"] > 100
    again = cli(
        "push",
        "--hub",
        server_url,
        "--token",
        token,
        "--legal-basis",
        "PublicTask",
        "--format",
        "json",
    ).json()
    assert again["loaded"] == 0 and again["duplicates"] + again["quarantined"] == 120
    with hub.owner.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT file_sha256, min(row_number), count(*) FROM cases WHERE agency_id = :a"
                " GROUP BY file_sha256"
            ),
            {"a": world.b.id},
        ).all()
    assert len(rows) == 1 and rows[0][2] == report["loaded"]


def test_push_with_a_bad_token_says_so(
    cli: Callable[..., Any], tmp_path: Any, server_url: str
) -> None:
    generated = write_ctdc_csv(tmp_path / "c.csv", 5, seed=4)
    cli("import", "cases", generated.path)
    result = cli(
        "push", "--hub", server_url, "--token", "ctip_wrong", "--legal-basis", "PublicTask"
    )
    assert result.code == 1 and "401" in result.err and "Traceback" not in result.err
    unreachable = cli("push", "--hub", "http://127.0.0.1:9", "--token", "ctip_x")
    assert unreachable.code == 1 and "cannot reach the hub" in unreachable.err
