"""`loadtest chaos`: Locust load against a local cluster of its own while faults are injected
one after another, and the accounting of every request and record afterwards."""
