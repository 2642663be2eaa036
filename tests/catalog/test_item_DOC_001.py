"""DOC_001 IPE catalog master: the catalog as a document, produced by `soxauto catalog export`."""

from __future__ import annotations

from soxauto.catalog import load_catalog


def test_doc_001_is_a_document_without_query():
    catalog = load_catalog()
    item = catalog.item("DOC_001")
    assert (item.kind, item.control, item.version) == ("DOC", "C-PG-1", "1.0.0")
    assert item.query is None and not item.extractable
    assert item.derived_from == ()
    assert "soxauto catalog export" in item.description
    assert item not in catalog.extractable()
