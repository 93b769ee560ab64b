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
