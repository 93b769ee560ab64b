"""Synthetic shelf data, COCO datasets, and the train / evaluate commands for the detector."""
