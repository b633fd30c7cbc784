"""The stream consumer: what is derived from record writes after they commit."""
