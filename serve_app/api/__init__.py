"""The FastAPI application of API v1, independent of how the pipeline is deployed."""
