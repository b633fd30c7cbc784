"""Talking to DynamoDB: the client wrapper, conditions, write operations, tables, provisioning."""
