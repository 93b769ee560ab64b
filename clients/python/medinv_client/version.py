"""The client's version: the API version it speaks (the service's `/openapi.json` info)."""

__version__ = "1.3.0"
API_VERSION = "1.3.0"
