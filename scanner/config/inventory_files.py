"""What a scan must know about an inventory file before it loads one: the size limits that
choose whole-document or entry-by-entry reading, and the error both readers raise. A module
of its own so that a scan of endpoints named on the command line does not import the
inventory models (tests/test_scan_imports.py holds this)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scanner.yamlsource import SourceFileError

if TYPE_CHECKING:
    from scanner.config.targets import Target

#: Read whole (with its anchors, aliases and cross-references) up to this size.
MAX_INVENTORY_BYTES = 16 * 1024 * 1024

#: Read entry by entry up to this size (about 2.7 million one-line targets); a larger file,
#: or one whose size the system does not report (a FIFO), takes the whole-document path and
#: its bounded read refuses it.
MAX_STREAMED_INVENTORY_BYTES = 64 * 2**20


class InventoryError(SourceFileError):
    """The inventory cannot be used; the message is one line naming file, line and key."""


def is_inventory(path: Path) -> bool:
    """A YAML file within the whole-document limit, its size reported (a regular file)."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return path.suffix.lower() in (".yaml", ".yml") and size <= MAX_INVENTORY_BYTES


def too_large(path: Path) -> str | None:
    """Why ``load_inventory`` refuses the file by its reported size, or None."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    mb = f"{path}: file is {size / 1e6:.1f} MB"
    if size > MAX_STREAMED_INVENTORY_BYTES:
        return (f"{mb}, over the {MAX_STREAMED_INVENTORY_BYTES // 2**20} MiB limit for an "
                "inventory (even read entry by entry); split it into several files")
    if size > MAX_INVENTORY_BYTES:
        return (f"{mb}, over the {MAX_INVENTORY_BYTES // 2**20} MiB limit for an inventory "
                f"loaded whole; sweep it alone with JSON Lines output to read it entry by "
                f"entry (up to {MAX_STREAMED_INVENTORY_BYTES // 2**20} MiB), or split it")
    return None


def is_large_inventory(path: Path) -> bool:
    """A YAML file over the whole-document limit (and within the streamed one): read with
    ``inventory_stream.stream_inventory``."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return path.suffix.lower() in (".yaml", ".yml") \
        and MAX_INVENTORY_BYTES < size <= MAX_STREAMED_INVENTORY_BYTES


def duplicate_message(target: Target, first_index: int, first: Target) -> str:
    """The one line for a target given twice (a loaded or a streamed inventory alike)."""
    return (f"{target.origin}: duplicate target {target.label} (same host, port and sni as "
            f"targets[{first_index}] at {first.origin}); remove one of them")
