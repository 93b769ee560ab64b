"""Production's PostgreSQL: a CloudNativePG Cluster in place of the base's single pod, validated
offline against the vendored CRD schemas (kuberay/crds/), and the app pointed at its read-write
Service. Development and staging keep the single pod and its pg_dump CronJob."""

import re
from pathlib import Path
from typing import Any

import pytest

from medinv_tools.kuberay import kustomize
from medinv_tools.kuberay.disruption import selects
from medinv_tools.kuberay.environments import environment
from medinv_tools.kuberay.validate import validate_environment
from medinv_tools.paths import KUBERAY_CRDS, REPO_ROOT

CLUSTER = "kuberay/overlays/production/postgres-cluster.yaml"


def rendered(name: str, root: Path = REPO_ROOT) -> list[dict[str, Any]]:
    return kustomize.render(environment(root / "kuberay", name).directory)


def objects(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def _production_problems(root: Path) -> list[str]:
    return validate_environment(environment(root / "kuberay", "production"), KUBERAY_CRDS).problems


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_production_runs_a_three_instance_synchronous_cluster_backed_up_to_object_storage() -> None:
    manifests = rendered("production")
    [cluster] = objects(manifests, "Cluster").values()
    spec = cluster["spec"]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["metadata"]["namespace"] == "medical-inventory"
    assert spec["instances"] == 3
    assert spec["postgresql"]["synchronous"] == {
        "method": "any",
        "number": 1,
        "dataDurability": "required",
    }
    assert spec["bootstrap"]["initdb"]["secret"] == {"name": "postgres-credentials"}
    assert spec["storage"]["size"] == "50Gi" and spec["storage"]["storageClass"] == "fast-ssd"
    assert spec["resources"]["limits"] and spec["resources"]["requests"]
    assert spec["affinity"]["podAntiAffinityType"] == "required"
    # Backups: WAL archiving and base backups through the Barman Cloud plugin, daily.
    [plugin] = spec["plugins"]
    assert plugin["isWALArchiver"] is True
    store = objects(manifests, "ObjectStore")[plugin["parameters"]["barmanObjectName"]]
    credentials = store["spec"]["configuration"]["s3Credentials"]
    assert {ref["name"] for ref in credentials.values()} == {"medinv-db-backup-credentials"}
    [backup] = objects(manifests, "ScheduledBackup").values()
    assert backup["spec"]["cluster"] == {"name": cluster["metadata"]["name"]}
    assert backup["spec"]["method"] == "plugin"
    assert backup["spec"]["pluginConfiguration"]["name"] == plugin["name"]
    # Its metrics: a PodMonitor on the instances' exporter.
    monitor = objects(manifests, "PodMonitor")["medinv-db"]
    assert monitor["spec"]["selector"]["matchLabels"]["cnpg.io/cluster"] == "medinv-db"
    # The single pod, its budget and its dump CronJob are gone from production only.
    for kind, name in [
        ("StatefulSet", "postgres"),
        ("Service", "postgres"),
        ("PodDisruptionBudget", "postgres"),
        ("CronJob", "postgres-backup"),
        ("PersistentVolumeClaim", "postgres-backups"),
    ]:
        assert name not in objects(manifests, kind), (kind, name)
        for other in ("development", "staging"):
            assert name in objects(rendered(other), kind), (other, kind, name)
    assert not objects(rendered("staging"), "Cluster")


def _env(container: dict[str, Any]) -> list[dict[str, Any]]:
    return list(container["env"])


@pytest.mark.parametrize("where", ["Ingress workers", "migration Job"])
def test_production_connects_through_the_read_write_service_with_secret_references(
    where: str,
) -> None:
    manifests = rendered("production")
    if where == "Ingress workers":
        [rayservice] = objects(manifests, "RayService").values()
        [cpu] = [
            group
            for group in rayservice["spec"]["rayClusterConfig"]["workerGroupSpecs"]
            if group["groupName"] == "cpu"
        ]
        env = _env(cpu["template"]["spec"]["containers"][0])
    else:
        job = objects(manifests, "Job")["inventory-migrate"]
        env = _env(job["spec"]["template"]["spec"]["containers"][0])
    names = [e["name"] for e in env]
    url = env[names.index("MEDINV_DATABASE_URL")]["value"]

    assert re.fullmatch(
        r"postgresql\+psycopg://\$\(PGUSER\)@medinv-db-rw:5432/\$\(PGDATABASE\)"
        r"\?target_session_attrs=read-write",
        url,
    )
    # Kubernetes expands $(VAR) only from variables defined earlier in the list; libpq reads
    # PGPASSWORD itself. Each comes from postgres-credentials, none is written inline.
    for variable, key in [("PGUSER", "username"), ("PGDATABASE", "database")]:
        assert names.index(variable) < names.index("MEDINV_DATABASE_URL")
        reference = env[names.index(variable)]["valueFrom"]["secretKeyRef"]
        assert reference == {"name": "postgres-credentials", "key": key}
    password = env[names.index("PGPASSWORD")]["valueFrom"]["secretKeyRef"]
    assert password == {"name": "postgres-credentials", "key": "password"}


def test_the_network_policies_let_the_app_in_and_the_instances_replicate() -> None:
    manifests = rendered("production")
    [cluster] = objects(manifests, "Cluster").values()
    instance = {
        **cluster["spec"]["inheritedMetadata"]["labels"],
        "cnpg.io/cluster": "medinv-db",
        "cnpg.io/podRole": "instance",
    }
    policies = objects(manifests, "NetworkPolicy")
    # The app's egress and the `postgres` ingress policy select the instances by the base's
    # label; the Cluster's own policy lets them reach each other.
    ray_egress = policies["ray-pods"]["spec"]["egress"]
    assert any(
        selects(peer.get("podSelector"), instance)
        for rule in ray_egress
        for peer in rule["to"]
        if "to" in rule
    )
    assert selects(policies["postgres"]["spec"]["podSelector"], instance)
    own = policies["medinv-db"]["spec"]
    assert selects(own["podSelector"], instance)
    assert any(selects(peer.get("podSelector"), instance) for peer in own["ingress"][0]["from"])


def test_a_cluster_with_a_wrong_type_or_an_unknown_field_fails_validation(repo_copy: Path) -> None:
    cluster = repo_copy / CLUSTER
    _edit(cluster, "  instances: 3\n", '  instances: "three"\n')
    _edit(cluster, "    synchronous:\n", "    synchronus:\n")
    problems = _production_problems(repo_copy)
    assert len(problems) == 2, problems
    assert problems[0].startswith("Cluster/medinv-db: spec.instances: 'three' is not of type")
    assert problems[1].startswith("Cluster/medinv-db: spec.postgresql: Additional properties")
    assert "synchronus" in problems[1]


def test_a_scheduled_backup_with_an_unknown_method_fails_validation(repo_copy: Path) -> None:
    _edit(repo_copy / CLUSTER, "  method: plugin\n", "  method: snapshot\n")
    [problem] = _production_problems(repo_copy)
    assert problem.startswith("ScheduledBackup/medinv-db-daily: spec.method: 'snapshot' is not")


def test_a_cluster_image_without_a_digest_fails_in_production(repo_copy: Path) -> None:
    cluster = repo_copy / CLUSTER
    text = cluster.read_text()
    cluster.write_text(re.sub(r"(imageName: \S+?)@sha256:0+", r"\1", text, count=1))
    assert _production_problems(repo_copy) == [
        "Cluster/medinv-db: spec.imageName ghcr.io/cloudnative-pg/postgresql:17.6-standard-trixie "
        "is not referenced by digest (@sha256:...)"
    ]


def test_a_cluster_that_does_not_spread_over_zones_fails(repo_copy: Path) -> None:
    _edit(
        repo_copy / CLUSTER,
        "    - maxSkew: 1\n      topologyKey: topology.kubernetes.io/zone\n",
        "    - maxSkew: 1\n      topologyKey: topology.kubernetes.io/region\n",
    )
    assert _production_problems(repo_copy) == [
        "Cluster/medinv-db: topologySpreadConstraints over ['topology.kubernetes.io/region', "
        "'kubernetes.io/hostname'], not ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'] "
        "(zone first, then host)"
    ]


def test_a_cluster_without_the_operators_budgets_needs_one_of_its_own(repo_copy: Path) -> None:
    _edit(repo_copy / CLUSTER, "  enablePDB: true\n", "  enablePDB: false\n")
    assert _production_problems(repo_copy) == [
        "Cluster/medinv-db: no PodDisruptionBudget selects its pods"
    ]
