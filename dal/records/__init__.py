"""The CRM records: codecs, the generic repository, cursors, one module per entity."""
