"""Bulk loads and the demo seed."""
