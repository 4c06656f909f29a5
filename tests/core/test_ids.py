"""Decision ids: UUIDv7 layout, order within a process, and random bits no seed can repeat."""

from __future__ import annotations

import os
import random
import time
import uuid

import pytest

from routeiq_core import _ids
from routeiq_core._ids import id_time, is_decision_id, new_decision_id

RANDOM_BITS = (1 << 62) - 1


def test_ids_are_uuid7_strictly_increasing_and_carry_their_time():
    before = time.time()
    ids = [new_decision_id() for _ in range(5000)]  # more than 4096 per millisecond is likely here
    after = time.time()
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for value in ids[:50] + ids[-50:]:
        parsed = uuid.UUID(value)
        assert str(parsed) == value and parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert is_decision_id(value)
    assert before - 0.002 <= id_time(ids[0]) <= id_time(ids[-1]) <= after + 5.0  # borrowed ms run ahead


def test_a_seeded_global_random_does_not_repeat_the_random_bits():
    random.seed(0)
    first = uuid.UUID(new_decision_id()).int & RANDOM_BITS
    random.seed(0)
    second = uuid.UUID(new_decision_id()).int & RANDOM_BITS
    assert first != second


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_draws_other_random_bits_than_its_parent():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the state of its generator right after the fork
        os.write(write, repr(hash(_ids._random.getstate())).encode())
        os._exit(0)
    os.close(write)
    child_state = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    os.close(read)
    assert child_state and child_state != repr(hash(_ids._random.getstate()))
