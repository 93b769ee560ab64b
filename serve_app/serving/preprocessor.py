"""The CPU preprocessing deployment: encoded bytes in, model-sized uint8 views (tiles) out;
and annotated images (detections drawn on the original) for `POST /v1/detect` as JPEG."""

from ray import serve

from serve_app.core.args import LimitsArgs
from serve_app.core.payloads import Detection, InputSpec, PreprocessedImage
from serve_app.model.annotate import annotate_image
from serve_app.model.imaging import ImageLimits, preprocess_image


@serve.deployment(name="Preprocessor")
class Preprocessor:
    def __init__(self, limits: LimitsArgs) -> None:
        self._limits = ImageLimits.of(limits)

    def process(self, data: bytes, spec: InputSpec) -> PreprocessedImage:
        # Sync on purpose: Serve runs it in a thread so the replica's event loop stays free.
        return preprocess_image(data, spec, self._limits)

    def annotate(self, data: bytes, detections: list[Detection]) -> bytes:
        return annotate_image(data, detections, self._limits)
