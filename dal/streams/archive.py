"""Archive copies from the stream: a deleted business record's last state, kept.

The delete's own transaction holds nothing about the archive (no copy, no check of
the tenant's one hold item, which every delete would share). The consumer sees the
delete (a REMOVE with the old image) after it committed and writes the copy
(``privacy/archive.py``): with no expiry when the tenant is under legal hold, read
then, strongly consistent; a contact's only under hold (otherwise its delete is a
purge). The copy's transaction checks the hold still reads as it did, and moves the
shard's checkpoint: a hold set meanwhile fails it, and the batch goes again.

So a record deleted after a hold was set is kept without expiry: the consumer's
read of the hold comes after the delete committed, so after the hold was set.
"""

from __future__ import annotations

from typing import Any

from dal.dynamodb.client import Dynamo
from dal.models import Entity
from dal.privacy.archive import Archive
from dal.streams.apply import CODECS
from dal.streams.changes import Change, Scopes, is_record


class Archiver:
    def __init__(self, dynamo: Dynamo, scopes: Scopes) -> None:
        self.dynamo, self.scopes = dynamo, scopes

    async def operations(self, source: str, entity: Entity, change: Change) -> list[dict[str, Any]]:
        """The copy of a deleted record and the hold check (none for other changes)."""
        codec = CODECS.get(entity)
        old = change.old
        if codec is None or change.new is not None or old is None or not is_record(old):
            return []
        if not (codec.archived or codec.held_archive):
            return []
        scope = await self.scopes.of(source, entity, old)
        rec = codec.load(old)
        archive = Archive(self.dynamo, scope)
        held_only = not codec.archived
        public, about = codec.public(rec), codec.about(rec)
        return await archive.ops(entity, public, about, "", held_only=held_only)
