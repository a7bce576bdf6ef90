"""The linkage page shows the agency's own PPRL questions and answers, and nobody else's."""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.hub.conftest import World

pytestmark = pytest.mark.postgres

SCHEMA = "ab" * 32
KEY = "0123456789abcdef"


def clk(seed: int) -> str:
    """A random 1,024-bit encoding per seed: about half the bits set, so two different seeds
    are at Dice about 0.5 and a seed matches only itself."""
    return base64.b64encode(random.Random(seed).randbytes(128)).decode()


def test_linkage_page_lists_answers_to_the_askers_agency_only(
    web_world: World, web_client: TestClient, signed_in: Callable[[str], TestClient]
) -> None:
    a, b = web_world.a, web_world.b
    contact = "linkage-desk@south.example"
    assert (
        web_client.put(
            "/api/v1/pprl/contact", json={"contact": contact}, headers=b["admin"].headers
        ).status_code
        == 200
    )
    deposit = {
        "schema_sha256": SCHEMA,
        "key_id": KEY,
        "encodings": [{"ref": f"SOUTH-{i}", "clk": clk(i)} for i in range(20)],
    }
    response = web_client.put("/api/v1/pprl/encodings", json=deposit, headers=b["admin"].headers)
    assert response.status_code == 200, response.text
    question = {
        "schema_sha256": SCHEMA,
        "key_id": KEY,
        "encodings": [
            {"ref": "NORTH-CASE-7", "clk": clk(7)},
            {"ref": "NORTH-CASE-X", "clk": clk(99)},
        ],
    }
    asked = web_client.post("/api/v1/pprl/query", json=question, headers=a["investigator"].headers)
    assert asked.status_code == 200, asked.text
    assert [r["query"] for r in asked.json()] == ["NORTH-CASE-7"]

    page = signed_in(a["investigator"].email).get("/linkage")
    assert page.status_code == 200
    table = page.text[page.text.index('<table id="pprl">') :]
    table = table[: table.index("</table>")]
    assert "NORTH-CASE-7" in table and b.name in table and contact in table
    assert "SOUTH-" not in page.text  # never the other agency's references
    assert re.search(r"<td class=\"num\">1\.0</td>", table)

    b_page = signed_in(b["admin"].email).get("/linkage")
    assert "NORTH-CASE" not in b_page.text  # B was asked about, but the log is A's
    viewer_page = signed_in(a["viewer"].email).get("/linkage")
    assert "NORTH-CASE" not in viewer_page.text
    assert "does not ask linkage questions" in viewer_page.text
