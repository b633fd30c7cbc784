"""The tenant seam: key and table formation per isolation model, and the tenants registry."""
