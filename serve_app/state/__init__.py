"""State the ingress replicas share, in Redis or in process: result cache, live-update bus,
resumable stream state."""
