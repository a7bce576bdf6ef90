"""Property-based API testing with schemathesis against the OpenAPI schema, in process.

Every operation gets generated requests (valid and invalid data), as an admin of an agency that
holds records, so handlers run past authentication, and once more without credentials. No
response may be a 5xx. (The schema comes from a fixture, so the operations are looped here
rather than collected by schemathesis' pytest plugin.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from ctip.hub.api.app import create_app
from ctip.hub.runtime import Hub
from tests.hub.conftest import World, person

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def run_operations(api_schema: Any, headers: dict[str, str] | None, examples: int) -> list[str]:
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

            try:
                check()
            except Unsatisfiable:  # nothing to generate (e.g. no invalid input exists)
                continue
            except Exception as error:  # collect every failing operation, then report
                failures.append(f"{operation.label} ({mode.value}): {str(error)[:2000]}")
    return failures


@pytest.fixture(scope="module")
def api_schema(hub: Hub) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(hub=hub))


def test_no_server_errors(api_schema: Any, client: TestClient, world: World) -> None:
    admin = world.a["admin"]
    created = client.post(
        "/api/v1/cases",
        headers=admin.headers,
        json={
            "source": "schemathesis",
            "records": [person(), {"gender": "?", "legal_basis": "Consent"}],
        },
    )
    assert created.status_code == 201
    failures = run_operations(api_schema, admin.headers, examples=15)
    assert not failures, "\n\n".join(failures)


def test_no_server_errors_without_credentials(api_schema: Any) -> None:
    failures = run_operations(api_schema, None, examples=3)
    assert not failures, "\n\n".join(failures)
