"""Privacy and retention: the audit log, subject exports and erasures, suppression, archive."""
