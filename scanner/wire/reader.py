"""A bounds-checked cursor over bytes, the only place that slices wire data.

Every read names the field being read so that a short or lying length becomes a
:class:`WireError` saying *which* field, how much was needed and how much was there.
"""

from __future__ import annotations

from .errors import WireError

__all__ = ["ByteReader"]


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

    def take(self, n: int, what: str = "data") -> bytes:
        """Return the next ``n`` bytes, or raise if fewer are left."""
        if n < 0:
            raise WireError(f"{what}: negative length {n}")
        if n > self.remaining:
            raise WireError(f"{what}: need {n} bytes, only {self.remaining} available")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def uint(self, size: int, what: str = "integer") -> int:
        """Read a big-endian unsigned integer of ``size`` bytes."""
        return int.from_bytes(self.take(size, what), "big")

    def u8(self, what: str = "uint8") -> int:
        return self.uint(1, what)

    def u16(self, what: str = "uint16") -> int:
        return self.uint(2, what)

    def u24(self, what: str = "uint24") -> int:
        return self.uint(3, what)

    def u32(self, what: str = "uint32") -> int:
        return self.uint(4, what)

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
        length = self.uint(length_size, f"{what} length")
        if length < min_length:
            raise WireError(f"{what}: length {length} is below the minimum {min_length}")
        if max_length is not None and length > max_length:
            raise WireError(f"{what}: length {length} exceeds the maximum {max_length}")
        if length > self.remaining:
            raise WireError(
                f"{what}: length field says {length} bytes, only {self.remaining} available"
            )
        return self.take(length, what)

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
