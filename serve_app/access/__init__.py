"""Who may call what, and how often: API keys and their storage, authentication, rate limits."""
