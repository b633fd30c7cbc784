"""Job files written a part at a time: a large file becomes a multipart upload of
5 MiB parts, a small one a plain put, a failed writer leaves nothing behind; and
read back a chunk or a line at a time."""

from __future__ import annotations

import pytest

from dal.jobs.files import JobFiles
from dal.privacy.scrub import Scrubber
from dal.storage import stream
from jobs.privacy import gathered
from services import Services

BUCKET = "imports-exports"
LINE = b"x" * 1023 + b"\n"  # 1 KiB


def _files(services: Services) -> JobFiles:
    files = services.store.job_files
    assert files is not None
    return files


async def test_a_file_larger_than_a_part_goes_up_in_parts_and_reads_back_by_line(
    services: Services,
) -> None:
    files = _files(services)
    key = "stream-test/big.jsonl"
    async with files.writer(BUCKET, key, "application/x-ndjson") as out:
        for _ in range(11 * 1024):  # 11 MiB in 1 KiB writes: parts of 5, 5 and 1 MiB
            await out.write(LINE)
    head = await services.s3_client.head_object(Bucket=files.bucket(BUCKET), Key=key)
    assert head["ContentLength"] == 11 * 1024 * 1024
    assert head["ETag"].strip('"').endswith("-3")  # a multipart object of three parts
    count = 0
    async for line in files.lines(BUCKET, key):
        assert line + b"\n" == LINE
        count += 1
    assert count == 11 * 1024


async def test_a_small_file_is_one_put_and_a_failed_writer_leaves_no_file_or_upload(
    services: Services,
) -> None:
    files, s3 = _files(services), services.s3_client
    async with files.writer(BUCKET, "stream-test/small.csv", "text/csv") as out:
        await out.write(b"a,b\n1,2\n")
    assert await files.blobs.get(files.bucket(BUCKET), "stream-test/small.csv") == b"a,b\n1,2\n"
    key = "stream-test/failed.csv"
    with pytest.raises(RuntimeError):
        await _fail_midway(files, key)
    assert await files.blobs.keys(files.bucket(BUCKET), key) == []
    uploads = await s3.list_multipart_uploads(Bucket=files.bucket(BUCKET), Prefix=key)
    assert uploads.get("Uploads", []) == []


async def _fail_midway(files: JobFiles, key: str) -> None:
    async with files.writer(BUCKET, key, "text/csv") as out:
        await out.write(LINE * 6 * 1024)  # one part sent: an upload in progress
        raise RuntimeError("the job failed")


def test_a_part_smaller_than_s3_takes_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        stream.Writer(None, "b", "k", "text/csv", part_size=1024)  # type: ignore[arg-type]


async def test_a_needle_across_two_chunks_is_found_and_a_word_that_goes_on_is_not(
    services: Services,
) -> None:
    files = _files(services)
    bucket = files.bucket(BUCKET)
    filler = b"x " * (stream.READ_CHUNK // 2 - 3)  # the needle starts 6 bytes before a chunk ends
    await files.blobs.put(
        bucket, "stream-test/across.csv", filler + b"Hilde Historia\n", "text/csv"
    )
    await files.blobs.put(
        bucket, "stream-test/longer.csv", filler + b"Hilde Historians\n", "text/csv"
    )
    scrub = Scrubber(["Hilde Historia"])
    assert await gathered.holds(files, scrub, bucket, "stream-test/across.csv", "null")
    assert not await gathered.holds(files, scrub, bucket, "stream-test/longer.csv", "null")
    end = filler[: stream.READ_CHUNK - 14] + b"Hilde Historia"  # ends exactly at a chunk's end
    await files.blobs.put(bucket, "stream-test/edge.csv", end + b"ns", "text/csv")
    assert not await gathered.holds(files, scrub, bucket, "stream-test/edge.csv", "null")
