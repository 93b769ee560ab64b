"""The model runtime: from encoded image bytes to detections, behind one inference contract."""
