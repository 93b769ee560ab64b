"""The shipped demo model: SSDlite trained from scratch on generated supply shelves.

`medinv-train demo` (training/) reproduces it; its weights and manifest are committed under
`models/`, so a fresh checkout serves real detections with no set-up. `DEFAULT_MODEL` is the
same network exported to ONNX (`medinv-train export-onnx`): the same detections, about three
times faster on a CPU (docs/models.md#the-shipped-demo-model), so it is what is served.
"""

from serve_app.core.payloads import ModelRef

DEMO_MODEL = ModelRef(name="medical-supplies-ssdlite", version="1.0.0")
DEFAULT_MODEL = ModelRef(name="medical-supplies-ssdlite", version="1.1.0")
