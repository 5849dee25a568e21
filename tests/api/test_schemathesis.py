"""Property-based run of every operation in the OpenAPI document against a live server.

Generated inputs (valid and invalid) must never produce a 5xx, and responses must
match the document. Bounded: a few examples per operation.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.api.conftest import make_key
from tests.tickets.factories import ClusterFactory, CustomerFactory, TicketFactory
from tickets.models import ApiKey


def _document() -> dict:
    """The document /api/v1/schema/ serves (same generator), as plain JSON data."""
    import json

    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def api_key_header(transactional_db):
    _key, secret = make_key(ApiKey.Scope.WRITE, name="schemathesis")
    cluster = ClusterFactory(title="Generated inputs land here")
    TicketFactory(cluster=cluster, customer=CustomerFactory(external_id="c-1"))
    return {"Authorization": f"Api-Key {secret}"}


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_responses_match_the_document(case, live_server, api_key_header):
    response = case.call(base_url=f"{live_server.url}", headers=api_key_header, timeout=30)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance])
