"""Privacy jobs: a data subject's portable export, and their erasure with a receipt."""
