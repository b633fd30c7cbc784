"""Mobile sync: the change log, full and delta reads of it, pushed mutations.

The log's ordering (``sequence.py``) is why a reader cannot miss a change; the
journal (``journal.py``) writes an entry in the same transaction as the record,
which the stream consumer's sequencer (``dal/streams/sequencer.py``) numbers.
"""
