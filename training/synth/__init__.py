"""A deterministic renderer of hospital supply shelves with COCO annotations."""
