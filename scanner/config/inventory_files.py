"""What a scan must know about an inventory file before it loads one: the size limits that
choose whole-document or entry-by-entry reading, and the error both readers raise. A module
of its own so that a scan of endpoints named on the command line does not import the
inventory models (tests/test_scan_imports.py holds this)."""

from __future__ import annotations

from pathlib import Path

from scanner.yamlsource import SourceFileError

#: Read whole (with its anchors, aliases and cross-references) up to this size.
MAX_INVENTORY_BYTES = 16 * 1024 * 1024

#: Read entry by entry up to this size (about 2.7 million one-line targets); a larger file,
#: or one whose size the system does not report (a FIFO), takes the whole-document path and
#: its bounded read refuses it.
MAX_STREAMED_INVENTORY_BYTES = 64 * 2**20


class InventoryError(SourceFileError):
    """The inventory cannot be used; the message is one line naming file, line and key."""


def is_large_inventory(path: Path) -> bool:
    """A YAML file over the whole-document limit (and within the streamed one): read with
    ``inventory_stream.stream_inventory``."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return path.suffix.lower() in (".yaml", ".yml") \
        and MAX_INVENTORY_BYTES < size <= MAX_STREAMED_INVENTORY_BYTES
