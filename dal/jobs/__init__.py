"""Jobs: their records in DynamoDB and the queue that hands them to workers."""
