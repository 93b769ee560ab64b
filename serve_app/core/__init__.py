"""Settings, domain errors, plain data and metrics that every layer shares; no web
framework, no torch."""
