"""The deployment files: docker-compose.yml as Compose reads it, the Kubernetes manifests against the
Kubernetes schemas, and every process of the system in both, with replicas and disruption budgets."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from mutualaid.services import APPS
from services.console.config import ConsoleSettings

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.31.0"  # the oldest release still supported upstream when these were written


def manifests() -> list[dict[str, Any]]:
    """Every resource the kustomization applies."""
    listed = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())["resources"]
    return [doc for name in listed for doc in yaml.safe_load_all((KUBERNETES / name).read_text()) if doc]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def test_docker_compose_reads_the_compose_file_and_runs_every_process() -> None:
    compose = shutil.which("docker-compose")
    assert compose, "the deployment tests need Debian's docker-compose package: apt-get install docker-compose"
    environment = os.environ | {"MUTUALAID_JWT_SECRET": "x" * 32, "TASKING_AUDIT_KEYS": '{"1": "' + "k" * 32 + '"}'}
    checked = subprocess.run([compose, "config", "-q"], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for app in APPS:
        assert services[app]["healthcheck"]["test"][-1].endswith("/readyz', timeout=3)"), app


@pytest.mark.parametrize("resource", manifests(), ids=lambda doc: f"{doc['kind']}-{doc['metadata']['name']}")
def test_each_kubernetes_manifest_is_valid_for_kubernetes(resource: dict[str, Any]) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_every_process_runs_as_two_replicas_with_a_disruption_budget_and_probes() -> None:
    deployments, services, budgets = of_kind("Deployment"), of_kind("Service"), of_kind("PodDisruptionBudget")
    assert set(deployments) == set(services) == set(budgets) == set(APPS)
    for app in APPS:
        assert deployments[app]["spec"]["replicas"] >= 2, app
        assert budgets[app]["spec"]["maxUnavailable"] == 1, app
        assert budgets[app]["spec"]["selector"] == deployments[app]["spec"]["selector"], app
        [container] = deployments[app]["spec"]["template"]["spec"]["containers"]
        assert container["args"][0] == app
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    partitions = int(of_kind("ConfigMap")["mutualaid-config"]["data"]["KAFKA_TOPIC_PARTITIONS"])
    assert partitions >= max(deployments[app]["spec"]["replicas"] for app in APPS)  # every replica gets one


def test_the_console_offers_no_development_sign_in_in_production() -> None:
    with pytest.raises(ValueError, match="use bearer in production"):
        ConsoleSettings(environment="production", jwt_secret="s" * 40, auth="development")
    assert ConsoleSettings(environment="production", jwt_secret="s" * 40, auth="bearer").auth == "bearer"


def test_the_grafana_dashboard_charts_only_metrics_the_services_export() -> None:
    from prometheus_client import REGISTRY

    import shared.metrics  # noqa: F401  (registers them)

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    exported = {f.name + end for f in REGISTRY.collect() if f.name.startswith("mutualaid_") for end in suffixes[f.type]}
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "mutualaid-services.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"mutualaid_\w+", target["expr"])
    }
    assert queried, dashboard["panels"]
    assert queried <= exported, queried - exported
