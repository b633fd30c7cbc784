"""Redis: rate limits (and, later, the cache layers)."""
