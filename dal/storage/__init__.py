"""S3: buckets and their rules."""
