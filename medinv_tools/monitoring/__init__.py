"""Prometheus rules, Grafana dashboards and the local Prometheus of `make monitor`."""
