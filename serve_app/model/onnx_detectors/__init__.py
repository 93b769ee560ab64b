"""Detectors exported to ONNX: metadata, output layouts, decoders, the ONNX Runtime runtime."""
