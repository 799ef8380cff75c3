"""The natural keys a long file has named so far, in little memory: 12 bytes a slot, two to
four slots a key (at most 48 MB for a 1,000,000-row file), where a dict of the keys takes
over 110 MB.

Each key is kept as a 64-bit BLAKE2b digest of its text (two different keys share one with a
chance of about 1 in 10^7 in a file of a million rows) beside the number of the row that
named it first, in an open-addressing table of two arrays that doubles when half full.
"""

import hashlib
from array import array
from typing import Any

EMPTY = 0
START = 1 << 12  # slots


def digest(key: Any) -> int:
    """The key's 64-bit digest (never 0, which marks an empty slot)."""
    value = int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "big")
    return value or 1


class SeenKeys:
    def __init__(self) -> None:
        self._digests = array("Q", bytes(8 * START))
        self._rows = array("I", bytes(4 * START))
        self._count = 0

    def first(self, key: Any, row: int) -> int:
        """The row that named `key` first: `row` itself when none did before (it is kept)."""
        value = digest(key)
        digests, mask = self._digests, len(self._digests) - 1
        slot = value & mask
        while (found := digests[slot]) != EMPTY:
            if found == value:
                return self._rows[slot]
            slot = (slot + 1) & mask
        digests[slot] = value
        self._rows[slot] = row
        self._count += 1
        if self._count * 2 > len(digests):
            self._grow()
        return row

    def __len__(self) -> int:
        return self._count

    def _grow(self) -> None:
        old = zip(self._digests, self._rows, strict=True)
        size = len(self._digests) * 2
        self._digests = array("Q", bytes(8 * size))
        self._rows = array("I", bytes(4 * size))
        digests, rows, mask = self._digests, self._rows, size - 1
        for value, row in old:
            if value != EMPTY:
                slot = value & mask
                while digests[slot] != EMPTY:
                    slot = (slot + 1) & mask
                digests[slot] = value
                rows[slot] = row
