"""The ROBOT test vectors are the blocks the paper describes, whatever the random bytes."""

from __future__ import annotations

import pytest

from scanner.wire.bleichenbacher import ROBOT_VECTORS, robot_blocks, rsa_encrypt_raw


def first_zero_after_type(block: bytes) -> int | None:
    index = block.find(b"\x00", 2)
    return None if index < 0 else index


@pytest.mark.parametrize("attempt", range(50))  # the padding and premaster are random
def test_blocks(attempt: int) -> None:
    blocks = robot_blocks(256, 0x0303)
    assert list(blocks) == list(ROBOT_VECTORS)
    assert all(len(block) == 256 for block in blocks.values())
    separator = 256 - 49
    correct = blocks["correct"]
    assert correct[:2] == b"\x00\x02" and first_zero_after_type(correct) == separator
    assert correct[separator + 1:separator + 3] == b"\x03\x03"
    assert blocks["wrong_first_bytes"][:2] == b"\x41\x17"
    assert blocks["wrong_first_bytes"][2:] == correct[2:]
    assert first_zero_after_type(blocks["wrong_zero_position"]) == separator - 8
    assert blocks["no_zero"][:2] == b"\x00\x02"
    assert first_zero_after_type(blocks["no_zero"]) is None
    wrong_version = blocks["wrong_version"]
    assert first_zero_after_type(wrong_version) == separator
    assert wrong_version[separator + 1:separator + 3] == b"\x02\x02"


def test_textbook_rsa_round_trip() -> None:
    n, e, d = 3233, 17, 413  # p=61, q=53
    block = (65).to_bytes(2, "big")
    encrypted = rsa_encrypt_raw(block, n, e)
    assert pow(int.from_bytes(encrypted, "big"), d, n) == 65
