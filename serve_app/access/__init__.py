"""Who may call what, how often: API keys, rate limits and the result cache of the ingress."""
