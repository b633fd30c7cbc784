"""Data derived from records in the same transaction: aggregates and search terms."""
