"""`make bench`: the bare pipeline vs Ray Serve vs a plain FastAPI server, on the same images."""
