"""Camera snapshots: polling registered cameras for frames on a schedule of their own."""
