"""Bad values fail at render time (schema, or the template's cross-field check) with a message naming the field."""

import pytest
from chartlib import render_error


@pytest.mark.parametrize(
    "sets, set_json, field",
    [
        ({"prod": "maybe"}, None, "/prod"),
        ({"replicaCount": "1"}, None, "/replicaCount"),
        ({"autoscaling.minReplicas": "2"}, None, "/autoscaling/minReplicas"),
        ({"autoscaling.maxReplicas": "2"}, None, "/autoscaling/maxReplicas"),
        ({"replicas": "3"}, None, "'replicas'"),
        (None, {"resources.requests.cpu": "[]"}, "/resources/requests/cpu"),
        ({"resources.requests.cpu": "lots"}, None, "/resources/requests/cpu"),
        ({"resources.requests.gpu": "1"}, None, "'gpu'"),
        ({"digest": "sha256:abc"}, None, "/digest"),
        ({"hub": "https://registry.example.com"}, None, "/hub"),
        ({"podAntiAffinity": "sometimes"}, None, "/podAntiAffinity"),
        (None, {"env": '{"COUNT": 3}'}, "/env/COUNT"),
        (None, {"readinessProbe": '{"exec": {"command": ["true"]}}'}, "/readinessProbe"),
        ({"securityContext.privileged": "yes"}, None, "/securityContext/privileged"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
def test_schema_rejects_bad_value_naming_the_field(sets, set_json, field):
    assert field in render_error(sets=sets, set_json=set_json)


def test_unknown_top_level_key_is_rejected_by_name():
    error = render_error(sets={"replicaCont": "3"})
    assert "additional properties 'replicaCont' not allowed" in error


def test_max_replicas_below_min_replicas_fails_with_a_clear_message():
    error = render_error(sets={"autoscaling.minReplicas": "6", "autoscaling.maxReplicas": "4"})
    assert "autoscaling.maxReplicas (4) must be at least autoscaling.minReplicas (6)" in error
