"""deploy/kubernetes holds together: every manifest parses, and the references between them (service
accounts, the Service's selector and port, SPARK_REMOTE, the secrets) point at objects that exist
with the rights Sail's kubernetes-cluster mode needs. No cluster here, so this is the check that a
rename in one file is not missed in another."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from omnilake.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"


def _objects() -> list[dict]:
    objects = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name == "airflow-values.yaml":  # Helm values, not Kubernetes objects
            continue
        objects += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return objects


OBJECTS = _objects()


def _one(kind: str, name: str) -> dict:
    found = [o for o in OBJECTS if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container["env"]}


@pytest.fixture
def server() -> tuple[dict, dict]:
    (deployment,) = [o for o in OBJECTS if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return deployment, container


def test_every_object_is_in_the_namespace_that_exists():
    _one("Namespace", "omnilake")
    for o in OBJECTS:
        if o["kind"] != "Namespace":
            assert o["metadata"].get("namespace") == "omnilake", o["metadata"]["name"]


def test_the_driver_may_manage_its_worker_pods_and_the_workers_account_exists(server):
    deployment, container = server
    driver_account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    _one("ServiceAccount", driver_account)
    _one("ServiceAccount", _env(container)["SAIL_KUBERNETES__WORKER_SERVICE_ACCOUNT_NAME"])
    bindings = [
        b
        for b in OBJECTS
        if b["kind"] == "RoleBinding" and any(s["name"] == driver_account for s in b["subjects"])
    ]
    assert bindings
    verbs = {
        verb
        for b in bindings
        for rule in _one("Role", b["roleRef"]["name"])["rules"]
        if "pods" in rule["resources"]
        for verb in rule["verbs"]
    }
    assert {"create", "get", "list", "watch", "delete"} <= verbs


def test_the_server_runs_in_cluster_mode_with_a_valid_worker_template(server):
    _, container = server
    env = _env(container)
    assert env["SAIL_MODE"] == "kubernetes-cluster"
    assert env["SAIL_KUBERNETES__IMAGE"] == container["image"]  # workers run the driver's version
    template = json.loads(env["SAIL_KUBERNETES__WORKER_POD_TEMPLATE"])
    assert set(template) <= {"metadata", "spec"}
    pool = template["spec"]["nodeSelector"]
    assert any(t["key"] in pool for t in template["spec"]["tolerations"])


def test_spark_remote_names_the_service_port_in_front_of_the_server(server):
    deployment, container = server
    service = _one("Service", "sail-spark-connect")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in container["ports"]}
    config = _one("ConfigMap", "omnilake-env")["data"]
    name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
    assert config["SPARK_REMOTE"] == f"sc://{name}.{namespace}.svc.cluster.local:{port['port']}"
    assert f"--port {container['ports'][0]['containerPort']}" in " ".join(container["args"])


def test_a_merge_fits_in_the_clusters_task_slots(server):
    """A MERGE needs a slot per target file at once (docs/sail_issues/merge_task_region.py)."""
    _, container = server
    env = _env(container)
    slots = int(env["SAIL_CLUSTER__WORKER_MAX_COUNT"]) * int(env["SAIL_CLUSTER__WORKER_TASK_SLOTS"])
    merge_max_files = int(_one("ConfigMap", "omnilake-env")["data"]["OMNILAKE_MERGE_MAX_FILES"])
    assert slots >= 2 * merge_max_files


def test_the_shared_environment_is_valid_omnilake_settings(monkeypatch):
    for key, value in _one("ConfigMap", "omnilake-env")["data"].items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OMNILAKE_PSEUDONYM_KEY", "a-production-key-from-the-secret")
    settings = Settings()
    settings.require_production_safe()
    assert (settings.engine, settings.lake.scheme) == ("remote", "s3")
    secrets = {o["metadata"]["name"] for o in OBJECTS if o["kind"] == "Secret"}
    assert {"omnilake-lake-credentials", "omnilake-pseudonym-key"} <= secrets
