import copy
import json
from pathlib import Path
from typing import Any

import pytest

from medinv_tools.kuberay import crd_schema
from medinv_tools.paths import KUBERAY_CRDS

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["groups"],
            "properties": {
                "groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "maxReplicas"],
                        "properties": {
                            "name": {"type": "string"},
                            "maxReplicas": {"type": "integer", "default": 5},
                        },
                    },
                },
                "free": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"a": {"type": "string"}},
                },
            },
        }
    },
}


def test_nulls_are_pruned_like_the_api_server_does() -> None:
    assert crd_schema.prune_nulls({"a": None, "b": [{"c": None, "d": 1}]}) == {"b": [{"d": 1}]}


def test_defaults_satisfy_required_fields() -> None:
    resource = {"spec": {"groups": [{"name": "cpu"}]}}
    assert crd_schema.validate(resource, SCHEMA) == []
    assert crd_schema.apply_defaults(resource, SCHEMA)["spec"]["groups"][0]["maxReplicas"] == 5


def test_defaults_do_not_create_missing_parents() -> None:
    assert crd_schema.validate({"spec": {}}, SCHEMA) == ["spec: 'groups' is a required property"]


def test_unknown_fields_are_rejected_except_where_preserved() -> None:
    typo = {"spec": {"groups": [{"name": "cpu", "maxReplica": 3}], "free": {"zzz": 1}}}
    [problem] = crd_schema.validate(typo, SCHEMA)
    assert problem.startswith("spec.groups.0: Additional properties are not allowed")
    assert "maxReplica" in problem


def test_strict_leaves_the_original_schema_alone() -> None:
    original = copy.deepcopy(SCHEMA)
    crd_schema.strict(SCHEMA)
    assert original == SCHEMA


@pytest.mark.parametrize(("api_version", "kind"), sorted(crd_schema.SCHEMA_FILES))
def test_the_vendored_schemas_load(api_version: str, kind: str) -> None:
    schema = crd_schema.load_schema(KUBERAY_CRDS, api_version, kind)
    assert schema["properties"]["spec"]["type"] == "object"
    assert schema["properties"]["kind"]["type"] == "string"


def test_a_schema_directory_without_a_file_falls_back_to_the_vendored_one(tmp_path: Path) -> None:
    """`--schemas DIR` with KubeRay's CRDs only: the CloudNativePG objects still validate."""
    (tmp_path / "cnpg_cluster_v1.schema.json").write_text(json.dumps(SCHEMA))
    assert crd_schema.load_schema(tmp_path, "postgresql.cnpg.io/v1", "Cluster") == SCHEMA
    vendored = crd_schema.load_schema(KUBERAY_CRDS, "postgresql.cnpg.io/v1", "ScheduledBackup")
    assert crd_schema.load_schema(tmp_path, "postgresql.cnpg.io/v1", "ScheduledBackup") == vendored
