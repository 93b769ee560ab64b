"""Settings, domain errors, plain data and metrics shared by every layer; no web framework, no torch."""
