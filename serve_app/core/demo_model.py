"""The shipped demo model: SSDlite trained from scratch on generated supply shelves.

`medinv-train demo` (training/) reproduces it; its weights and manifest are committed under
`models/`, so a fresh checkout serves real detections with no set-up. `medinv-train
demo-photos` fine-tunes it against real photographs (far fewer false items on real photos)
and exports that to ONNX twice (`medinv-train export-onnx`): once tiling camera frames as the
torch model does, and once seeing each frame whole at the tiles' scale (the `whole` tiling
plan: about half the forward cost of a 720p frame, and no item cut by a tile edge).
`medinv-train demo-frames` fine-tunes that again with negative images that count, and its
whole-plan export was served until `medinv-train demo-anneal` fine-tuned it once more, at a
low learning rate on mostly hard tiles: that one's whole-plan export is `DEFAULT_MODEL`, what
is served (docs/models.md#the-shipped-demo-model).
"""

from serve_app.core.payloads import ModelRef

DEMO_MODEL = ModelRef(name="medical-supplies-ssdlite", version="1.0.0")
# The demo model fine-tuned against real photographs (`medinv-train demo-photos`), and its
# ONNX exports: tiling large images, and seeing them whole (the served default).
PHOTO_MODEL = ModelRef(name="medical-supplies-ssdlite", version="1.2.0")
PHOTO_MODEL_ONNX = ModelRef(name="medical-supplies-ssdlite", version="1.3.0")
PHOTO_MODEL_ONNX_WHOLE = ModelRef(name="medical-supplies-ssdlite", version="1.4.0")
# 1.2.0 fine-tuned again (`medinv-train demo-frames`): negative images that count, real
# photographs at camera-frame scale; and its export, seeing large images whole.
FRAME_MODEL = ModelRef(name="medical-supplies-ssdlite", version="1.5.0")
FRAME_MODEL_ONNX_WHOLE = ModelRef(name="medical-supplies-ssdlite", version="1.6.0")
# 1.5.0 fine-tuned once more at a low learning rate (`medinv-train demo-anneal`), and its export.
ANNEALED_MODEL = ModelRef(name="medical-supplies-ssdlite", version="1.7.0")
ANNEALED_MODEL_ONNX_WHOLE = ModelRef(name="medical-supplies-ssdlite", version="1.8.0")
DEFAULT_MODEL = ANNEALED_MODEL_ONNX_WHOLE
