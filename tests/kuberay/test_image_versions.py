"""Versions written in more than one place (Ray, ONNX Runtime); they must agree."""

import re

from medinv_tools.kuberay.kuberay_rules import RAY_VERSION
from medinv_tools.paths import REPO_ROOT


def test_dockerfile_builds_on_the_rayservice_ray_version_as_non_root() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert f"ARG RAY_VERSION={RAY_VERSION}\n" in dockerfile
    assert "FROM rayproject/ray:${RAY_VERSION}-py311-${VARIANT}" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}


def test_the_package_pins_the_same_ray() -> None:
    assert f'"ray[serve]=={RAY_VERSION}"' in (REPO_ROOT / "pyproject.toml").read_text()


def test_rayservice_declares_that_version_and_gpu_pods_use_the_gpu_image() -> None:
    rayservice = (REPO_ROOT / "kuberay" / "base" / "rayservice.yaml").read_text()
    assert f'rayVersion: "{RAY_VERSION}"' in rayservice
    gpu_group = rayservice.split("groupName: gpu", 1)[1]
    assert re.search(r"image: \S+-gpu\n", gpu_group)
    assert not re.search(r"image: \S+-cpu\n", gpu_group)


def test_gpu_images_swap_in_onnxruntime_gpu_of_the_pinned_version() -> None:
    pinned = re.search(r'"onnxruntime==([^"]+)"', (REPO_ROOT / "pyproject.toml").read_text())
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert pinned is not None
    assert f"ARG ONNXRUNTIME_VERSION={pinned.group(1)}\n" in dockerfile
    assert "pip uninstall -y onnxruntime" in dockerfile, "both wheels in one image conflict"


def test_the_image_user_is_the_pods_and_its_home_the_ray_pods_emptydir() -> None:
    from medinv_tools.kuberay import kustomize
    from medinv_tools.kuberay.hardening import MIN_ID, RAY_HOME
    from medinv_tools.kuberay.pod_security import pod_specs

    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    user = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)[-1]
    uid, gid = (int(part) for part in user.split(":"))
    assert uid >= MIN_ID and gid >= MIN_ID
    assert f"useradd --uid {uid} --gid {gid}" in dockerfile
    assert f"ENV HOME={RAY_HOME}\n" in dockerfile
    # Every pod that runs the application image runs as its user.
    for manifest in kustomize.render(REPO_ROOT / "kuberay" / "overlays" / "production"):
        for where, pod in pod_specs(manifest):
            if "medinv/serve" in pod["containers"][0]["image"]:
                context = pod["securityContext"]
                assert (context["runAsUser"], context["runAsGroup"]) == (uid, gid), where
