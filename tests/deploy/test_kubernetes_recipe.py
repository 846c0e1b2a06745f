"""The Kubernetes recipe (deploy/kubernetes/), validated offline against the schemas of a fixed
Kubernetes version that kubernetes-validate bundles: every manifest the kustomization lists,
and nothing left out of it; Kringloop's parts run as a non-root user on a read-only file
system, with secrets taken by reference; and a broken manifest is caught."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
import yaml

from kringloop.resources import CHECKOUT
from tests.support.deployment import compose_file

RECIPE = CHECKOUT / "deploy" / "kubernetes"
KUBERNETES = "1.33.0"  # a version the package bundles; strict: unknown fields are errors
KUSTOMIZATION = yaml.safe_load((RECIPE / "kustomization.yaml").read_text())


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{name}: {document['kind']} {document['metadata']['name']}", document)
            for name in KUSTOMIZATION["resources"]
            for document in yaml.safe_load_all((RECIPE / name).read_text()) if document]


MANIFESTS = _manifests()
WORKLOADS = {doc["metadata"]["name"]: doc for _, doc in MANIFESTS
             if doc["kind"] in ("Deployment", "Job")}


def test_the_kustomization_lists_every_manifest_beside_it() -> None:
    beside = {path.name for path in RECIPE.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(KUSTOMIZATION["resources"]) == beside
    kinds = sorted(doc["kind"] for _, doc in MANIFESTS)
    assert kinds == ["Deployment", "Deployment", "Job", "Service"], kinds


@pytest.mark.parametrize(("where", "manifest"), MANIFESTS, ids=[w for w, _ in MANIFESTS])
def test_every_manifest_is_valid_for_kubernetes(where: str, manifest: dict[str, Any]) -> None:
    assert kubernetes_validate.validate(manifest, KUBERNETES, strict=True) == "1.33"


def test_a_broken_manifest_is_caught() -> None:
    broken = copy.deepcopy(WORKLOADS["kringloop-worker"])
    broken["spec"]["replicas"] = "two"
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_kringloop_runs_as_its_compose_service_does_without_rights_or_secrets_in_files(
        name: str) -> None:
    pod = WORKLOADS[name]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    service = {"kringloop-web": "web", "kringloop-worker": "worker",
               "kringloop-migrate": "migrate"}[name]
    assert container["command"] == compose_file()["services"][service]["command"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert volumes[mounts["/etc/kringloop"]]["configMap"]["name"] == "kringloop-org"
    sources = container["envFrom"]
    assert {"secretRef": {"name": "kringloop"}} in sources
    assert "env" not in container, "settings come from the ConfigMap, secrets from the Secret"


def test_the_organisation_file_and_settings_are_generated_config_maps() -> None:
    generated = {g["name"]: g for g in KUSTOMIZATION["configMapGenerator"]}
    assert generated["kringloop-org"]["files"] == ["org.toml"]
    literals = generated["kringloop-settings"]["literals"]
    settings = dict(literal.split("=", 1) for literal in literals)
    assert settings["KRINGLOOP_ORG_FILE"] == "/etc/kringloop/org.toml"
    assert not any(word in key for key in settings
                   for word in ("PASSWORD", "TOKEN", "SECRET", "KEYS", "DATABASE_URL"))


def test_workers_and_web_have_probes_and_the_worker_scales() -> None:
    web = WORKLOADS["kringloop-web"]["spec"]["template"]["spec"]["containers"][0]
    worker = WORKLOADS["kringloop-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert web["livenessProbe"]["tcpSocket"]["port"] == "http"
    assert worker["livenessProbe"]["exec"]["command"] == ["kringloop", "health"]
    assert WORKLOADS["kringloop-worker"]["spec"]["replicas"] >= 2
