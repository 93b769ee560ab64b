"""Production's Redis with Sentinel (kuberay/components/redis-sentinel): three pods, each a
server and a Sentinel, one per node; the app's settings name every Sentinel by its stable DNS
name and are accepted as they are rendered; Ray's GCS is pointed at the Sentinels; the
Sentinels' quorum survives one pod; the NetworkPolicies let the pods replicate and vote."""

from functools import cache
from typing import Any

from medinv_tools.kuberay import kustomize
from medinv_tools.kuberay.kustomize import Manifest
from medinv_tools.paths import REPO_ROOT
from serve_app.core.settings import Settings

PRODUCTION = REPO_ROOT / "kuberay" / "overlays" / "production"
SCRIPTS = REPO_ROOT / "kuberay" / "components" / "redis-sentinel"


@cache
def _rendered() -> list[Manifest]:
    return kustomize.render(PRODUCTION)


def _one(kind: str, name: str) -> Manifest:
    [found] = [m for m in _rendered() if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def _cpu_env() -> dict[str, dict[str, Any]]:
    rayservice = _one("RayService", "medinv")
    [cpu] = [
        group
        for group in rayservice["spec"]["rayClusterConfig"]["workerGroupSpecs"]
        if group["groupName"] == "cpu"
    ]
    return {e["name"]: e for e in cpu["template"]["spec"]["containers"][0]["env"]}


def test_three_redis_pods_replace_the_single_one() -> None:
    kinds = {(m["kind"], m["metadata"]["name"]) for m in _rendered()}
    assert ("Deployment", "redis") not in kinds
    assert ("Service", "redis") not in kinds, "a Service over three pods would reach replicas"
    redis = _one("StatefulSet", "redis")
    assert redis["spec"]["replicas"] == 3 and redis["spec"]["serviceName"] == "redis-nodes"
    pod = redis["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["redis", "sentinel"]
    [anti] = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti["topologyKey"] == "kubernetes.io/hostname", "one pod per node"
    [claim] = redis["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "fast-ssd"
    assert _one("Service", "redis-nodes")["spec"]["publishNotReadyAddresses"] is True


def test_a_failover_needs_two_sentinels_of_three() -> None:
    script = (SCRIPTS / "sentinel.sh").read_text()
    assert "sentinel monitor medinv $master 6379 2\n" in script
    budget = _one("PodDisruptionBudget", "redis")
    assert budget["spec"]["maxUnavailable"] == 1, "a drain leaves two Sentinels: a quorum"


def test_the_app_is_given_every_sentinel_and_accepts_its_settings() -> None:
    env = _cpu_env()
    sentinels = env["MEDINV_REDIS_SENTINELS"]["value"].split(",")
    assert sentinels == [f"redis-{i}.redis-nodes:26379" for i in range(3)]
    for name in ("MEDINV_REDIS_PASSWORD", "MEDINV_REDIS_SENTINEL_PASSWORD"):
        assert env[name]["valueFrom"]["secretKeyRef"] == {
            "name": "redis-credentials",
            "key": "password",
        }
    values = {name: e.get("value", "from-a-secret") for name, e in env.items()}
    settings = Settings(**{n.removeprefix("MEDINV_").lower(): v for n, v in values.items()
                           if n.startswith("MEDINV_")})  # fmt: skip
    assert settings.redis_url is None and settings.redis_sentinel_master == "medinv"
    assert settings.spool_store == "redis" and settings.spool_min_replicas == 1


def test_the_gcs_asks_the_sentinels_for_the_master() -> None:
    rayservice = _one("RayService", "medinv")
    options = rayservice["spec"]["rayClusterConfig"]["gcsFaultToleranceOptions"]
    assert options["redisAddress"] == "redis-sentinel:26379"
    service = _one("Service", "redis-sentinel")
    assert [p["port"] for p in service["spec"]["ports"]] == [26379]
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "redis"}


def test_the_redis_pods_may_reach_each_other_and_the_ray_pods_them() -> None:
    policy = _one("NetworkPolicy", "redis")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    [ingress] = policy["spec"]["ingress"]
    assert {p["port"] for p in ingress["ports"]} == {6379, 26379}
    sources = [s["podSelector"]["matchLabels"] for s in ingress["from"]]
    assert {"app.kubernetes.io/name": "redis"} in sources
    assert {"ray.io/is-ray-node": "yes"} in sources
    peers = policy["spec"]["egress"][0]
    assert peers["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "redis"}}}]
    ray = _one("NetworkPolicy", "ray-pods")
    to_redis = [rule for rule in ray["spec"]["egress"] if rule.get("to") == peers["to"]]
    assert [{p["port"] for p in rule["ports"]} for rule in to_redis] == [{6379, 26379}]
