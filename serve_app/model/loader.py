"""Load a registered model: `<models root>/<name>/<version>/`, its manifest read and checked,
its weights' sha256 verified, its weights loaded by the runtime of the manifest's `format`."""

from collections.abc import Callable
from pathlib import Path

from serve_app.core.errors import ChecksumMismatchError, MissingWeightsError, ModelNotFoundError
from serve_app.core.payloads import ModelRef
from serve_app.model.checksum import sha256_file
from serve_app.model.inference import DetectionModel
from serve_app.model.manifest import ModelManifest, model_dir, read_manifest
from serve_app.model.onnx_detectors.runtime import OnnxRuntime
from serve_app.model.runtime import ModelRuntime, RuntimeOptions
from serve_app.model.torchvision_runtime import TorchvisionRuntime

# Each runtime loads a verified weights file for a manifest, on a device with a thread count.
RuntimeLoader = Callable[[Path, ModelManifest, RuntimeOptions], ModelRuntime]
RUNTIMES: dict[str, RuntimeLoader] = {
    "torchvision": TorchvisionRuntime.load,
    "onnx": OnnxRuntime.load,
}


def load_registered(
    root: Path, ref: ModelRef, options: RuntimeOptions | None = None
) -> DetectionModel:
    directory = model_dir(root, ref)
    if not directory.is_dir():
        raise ModelNotFoundError(f"no model {ref} under the models root")
    return load_directory(directory, options)


def load_directory(directory: Path, options: RuntimeOptions | None = None) -> DetectionModel:
    manifest = read_manifest(directory)
    weights_path = directory / manifest.weights
    if not weights_path.is_file():
        raise MissingWeightsError(f"weights file {weights_path} is missing")
    actual = sha256_file(weights_path)
    if actual != manifest.sha256:
        raise ChecksumMismatchError(
            f"checksum mismatch for {weights_path}: manifest {manifest.sha256}, file {actual}"
        )
    runtime = RUNTIMES[manifest.format](weights_path, manifest, options or RuntimeOptions())
    return DetectionModel(manifest, runtime)
