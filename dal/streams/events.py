"""A batch of one stream shard delivered by a Lambda event source mapping.

The mapping hands the function the records of one shard in order (its tumbling
window names the shard: ``shardId``). They are applied through the same
``Applier`` as the worker's, from the shard's checkpoint: the part of a batch
already applied (a redelivery after a timeout, a bisected half, the worker's
consumer ahead) is skipped by sequence number, and the rest commits under the
checkpoint's condition, so nothing counts twice. What could not be applied is
reported from its first record (``ReportBatchItemFailures``): the mapping
delivers it again from there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from dal.errors import DalError
from dal.streams import checkpoints
from dal.streams.apply import Applier
from dal.streams.changes import parse
from dal.streams.checkpoints import Moved, aggregates_of
from dal.streams.consumer import entity_of

log = logging.getLogger("zebros.streams")
ATTEMPTS = 3  # a checkpoint moved by another consumer: read it again, go again


def table_of(arn: str) -> str:
    """``arn:aws:dynamodb:…:table/{name}/stream/{label}`` -> ``{name}``."""
    return arn.split(":table/", 1)[1].split("/stream/", 1)[0]


async def deliver(
    applier: Applier, prefix: str, arn: str, shard: str, records: Sequence[Mapping[str, Any]]
) -> str | None:
    """Apply a delivered batch; the sequence number to deliver again from, or None."""
    source = table_of(arn)
    entity = entity_of(prefix, source)
    if entity is None or not records:
        return None
    changes = [parse(r) for r in records]
    table = aggregates_of(source, entity)
    for _ in range(ATTEMPTS):
        at = await checkpoints.read(applier.dynamo, table, source, shard)
        try:
            await applier.apply(at, entity, changes, _as_of(records))
            return None
        except Moved:
            continue
        except DalError as exc:
            log.warning("stream %s#%s: %s; delivered again", source, shard, exc)
            break
    at = await checkpoints.read(applier.dynamo, table, source, shard)
    return next((c.seq for c in changes if at.after(c.seq)), None)


def _as_of(records: Sequence[Mapping[str, Any]]) -> datetime:
    """What a delivered batch can vouch for: the changes up to its last record, made a
    moment before that record's (approximate, to the second) creation time."""
    made = records[-1]["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(made, datetime):
        return made.astimezone(UTC) - timedelta(seconds=1)
    if isinstance(made, int | float):
        return datetime.fromtimestamp(made, UTC) - timedelta(seconds=1)
    return checkpoints.NEVER
