"""Medical inventory detection served with Ray Serve."""
