"""The shipped demo model: SSDlite trained from scratch on generated supply shelves.

`medinv-train demo` (training/) reproduces it; its weights and manifest are committed under
`models/`, so a fresh checkout serves real detections with no set-up.
"""

from serve_app.core.payloads import ModelRef

DEMO_MODEL = ModelRef(name="medical-supplies-ssdlite", version="1.0.0")
