"""A bounds-checked cursor over bytes, the only place that slices wire data.

Every read names the field being read so that a short or lying length becomes a
:class:`WireError` saying *which* field, how much was needed and how much was there.
"""

from __future__ import annotations

import struct

from .errors import WireError

__all__ = ["ByteReader"]

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class ByteReader:
    """Sequential reader over an immutable byte string."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        """Number of unread bytes."""
        return len(self._data) - self._pos

    @property
    def at_end(self) -> bool:
        """True once every byte has been consumed."""
        return self._pos >= len(self._data)

    @property
    def position(self) -> int:
        """Offset of the next unread byte."""
        return self._pos

    def _short(self, n: int, what: str) -> WireError:
        return WireError(f"{what}: need {n} bytes, only {self.remaining} available")

    # The methods below are the hottest code of a sweep (millions of calls): they read
    # ``_data`` in place rather than through ``take``, and build error text only on error.

    def take(self, n: int, what: str = "data") -> bytes:
        """Return the next ``n`` bytes, or raise if fewer are left."""
        pos = self._pos
        end = pos + n
        if n < 0:
            raise WireError(f"{what}: negative length {n}")
        if end > len(self._data):
            raise self._short(n, what)
        self._pos = end
        return self._data[pos:end]

    def uint(self, size: int, what: str = "integer") -> int:
        """Read a big-endian unsigned integer of ``size`` bytes."""
        pos = self._pos
        end = pos + size
        if size < 0:
            raise WireError(f"{what}: negative length {size}")
        if end > len(self._data):
            raise self._short(size, what)
        self._pos = end
        return int.from_bytes(self._data[pos:end], "big")

    def u8(self, what: str = "uint8") -> int:
        pos = self._pos
        if pos >= len(self._data):
            raise self._short(1, what)
        self._pos = pos + 1
        return self._data[pos]

    def u16(self, what: str = "uint16") -> int:
        pos = self._pos
        if pos + 2 > len(self._data):
            raise self._short(2, what)
        self._pos = pos + 2
        value: int = _U16.unpack_from(self._data, pos)[0]
        return value

    def u24(self, what: str = "uint24") -> int:
        return self.uint(3, what)

    def u32(self, what: str = "uint32") -> int:
        pos = self._pos
        if pos + 4 > len(self._data):
            raise self._short(4, what)
        self._pos = pos + 4
        value: int = _U32.unpack_from(self._data, pos)[0]
        return value

    def vector(
        self,
        length_size: int,
        what: str = "vector",
        *,
        min_length: int = 0,
        max_length: int | None = None,
    ) -> bytes:
        """Read a TLS ``opaque x<min..max>`` vector with a 1/2/3-byte length prefix.

        ``min_length``/``max_length`` are the RFC bounds; the default upper bound is
        what the prefix can express, so only the lower bound usually needs passing.
        """
        if length_size not in (1, 2, 3):
            raise ValueError(f"length_size must be 1, 2 or 3, not {length_size}")
        data = self._data
        pos = self._pos
        start = pos + length_size
        if start > len(data):
            raise self._short(length_size, f"{what} length")
        if length_size == 2:
            length = (data[pos] << 8) | data[pos + 1]
        elif length_size == 1:
            length = data[pos]
        else:
            length = int.from_bytes(data[pos:start], "big")
        self._pos = start
        if length < min_length:
            raise WireError(f"{what}: length {length} is below the minimum {min_length}")
        if max_length is not None and length > max_length:
            raise WireError(f"{what}: length {length} exceeds the maximum {max_length}")
        end = start + length
        if end > len(data):
            raise WireError(
                f"{what}: length field says {length} bytes, only {self.remaining} available"
            )
        self._pos = end
        return data[start:end]

    def sub_reader(
        self,
        length_size: int,
        what: str = "vector",
        *,
        min_length: int = 0,
        max_length: int | None = None,
    ) -> ByteReader:
        """Like :meth:`vector` but returns a reader over the vector's contents."""
        return ByteReader(
            self.vector(length_size, what, min_length=min_length, max_length=max_length)
        )

    def expect_end(self, what: str = "data") -> None:
        """Raise if unread bytes are left: trailing data means a length lied."""
        if self.remaining:
            raise WireError(f"{what}: {self.remaining} unexpected trailing bytes")
