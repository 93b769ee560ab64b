"""Load tests you can watch: Locust users for the REST and WebSocket APIs, load shapes, and a
runner that writes a per-second timeline (throughput, latency, errors, Serve replicas, Ray
nodes) as CSV and PNG. Works against a local cluster and, unchanged, against a cluster URL."""
