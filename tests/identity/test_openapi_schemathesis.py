"""The REST API keeps its OpenAPI promise: schemathesis against the live daemon finds no
5xx and no response outside the documented schema."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

_STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.support.daemon import DaemonProcess

    d = DaemonProcess(tmp_path_factory.mktemp("schema"))
    d.start()
    d.cli("admin", "create-tenant", "--name", "ops")
    d.cli("admin", "create-user", "--tenant", "ops", "--email", "root@ops.test", "--role",
          "admin")
    _STATE["key"] = d.cli_json("admin", "create-api-key", "--email", "root@ops.test",
                               "--tier", "enterprise")["key"]
    yield d
    d.stop()


def test_api_conforms_to_its_openapi_document(live: Any) -> None:
    from hypothesis import given

    schema = schemathesis.openapi.from_url(f"{live.http_url}/api/openapi.json")
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance, negative_data_rejection]
    headers = {"Authorization": f"Bearer {_STATE['key']}"}
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 18
    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=10, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        run()
