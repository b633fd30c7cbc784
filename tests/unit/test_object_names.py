"""Object keys and file names: what the server builds, and what it accepts back."""

from __future__ import annotations

import pytest

from dal.models import DocumentKind
from dal.storage.names import NAME_BYTES, ObjectKey, disposition, normalised, parse

NAMES = {
    "report.pdf": "report.pdf",
    "../../etc/passwd": "passwd",
    "C:\\Users\\me\\Q3.xlsx": "Q3.xlsx",
    "a\x00b\x1fc.txt": "a_b_c.txt",
    "   spaced    out  .pdf ": "spaced out .pdf",
    "...hidden": "hidden",
    "..": "file",
    'what?*:<>|".pdf': "what_______.pdf",
    "Café Ümlaut.pdf": "Café Ümlaut.pdf",
    # boto turns a key ending in ${filename} into a starts-with condition.
    "${filename}": "__filename_",
}


@pytest.mark.parametrize(("given", "kept"), NAMES.items())
def test_file_names_are_normalised(given: str, kept: str) -> None:
    assert normalised(given) == kept


def test_long_names_keep_their_extension_within_the_byte_limit() -> None:
    name = normalised("é" * 300 + ".pdf")
    assert name.endswith(".pdf")
    assert len(name.encode()) <= NAME_BYTES


def test_keys_parse_back_and_nothing_else_does() -> None:
    key = ObjectKey("acme", "cus_1", DocumentKind.ATTACHMENT, "doc_1", "a.pdf")
    assert str(key) == "acme/customers/cus_1/attachments/doc_1/a.pdf"
    assert parse(str(key)) == key
    for other in (
        "acme/customers/cus_1/attachments/doc_1/a/b.pdf",
        "acme/customers/cus_1/other/doc_1/a.pdf",
        "acme/imports/imp_1/a.csv",
        "/acme/customers/cus_1/documents/doc_1/a.pdf",
        "acme/customers//documents/doc_1/a.pdf",
    ):
        assert parse(other) is None, other


def test_downloads_keep_the_original_name() -> None:
    header = disposition('Q3 "final"\r\n.pdf')
    assert header.startswith('attachment; filename="Q3 _final___.pdf"')
    assert header.endswith("filename*=UTF-8''Q3%20%22final%22%0D%0A.pdf")
