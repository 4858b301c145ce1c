"""bcrypt hashing with the real bcrypt: never truncated, re-hashed when outdated, off the loop."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable

import bcrypt
import pytest

from authgate.passwords import WORKER_NICENESS, BcryptPasswordHasher, fits_bcrypt

PASSWORD = "correct horse battery staple"


@pytest.fixture
def hasher() -> BcryptPasswordHasher:
    return BcryptPasswordHasher(rounds=4)


async def test_hash_and_verify(hasher: BcryptPasswordHasher) -> None:
    stored = await hasher.hash(PASSWORD)
    assert stored.startswith("$2b$04$")
    assert PASSWORD not in stored
    assert await hasher.verify_and_update(PASSWORD, stored) == (True, None)


async def test_each_hash_is_salted(hasher: BcryptPasswordHasher) -> None:
    first, second = await hasher.hash(PASSWORD), await hasher.hash(PASSWORD)
    assert first != second
    assert await hasher.verify_and_update(PASSWORD, second) == (True, None)


@pytest.mark.parametrize(
    "wrong",
    [
        "correct horse battery stapl",
        "correct horse battery staple ",
        "Correct horse battery staple",
        "",
        "x",
    ],
)
async def test_wrong_password_does_not_verify(hasher: BcryptPasswordHasher, wrong: str) -> None:
    stored = await hasher.hash(PASSWORD)
    assert await hasher.verify_and_update(wrong, stored) == (False, None)


async def test_non_ascii_password_round_trips(hasher: BcryptPasswordHasher) -> None:
    password = "pässwörd-€-密码-🔑"
    stored = await hasher.hash(password)
    assert await hasher.verify_and_update(password, stored) == (True, None)
    assert await hasher.verify_and_update("passwörd-€-密码-🔑", stored) == (False, None)


async def test_a_72_byte_password_is_used_whole(hasher: BcryptPasswordHasher) -> None:
    password = "p" * 71 + "q"
    assert len(password.encode()) == 72
    stored = await hasher.hash(password)
    assert await hasher.verify_and_update(password, stored) == (True, None)
    assert await hasher.verify_and_update("p" * 72, stored) == (False, None)
    assert await hasher.verify_and_update("p" * 71, stored) == (False, None)


async def test_a_73_byte_password_never_matches_its_72_byte_prefix(
    hasher: BcryptPasswordHasher,
) -> None:
    prefix = "k" * 72
    stored = await hasher.hash(prefix)
    # bcrypt itself would only look at the first 72 bytes; authgate must not.
    assert await hasher.verify_and_update(prefix + "x", stored) == (False, None)
    assert await hasher.verify_and_update(prefix + "k" * 100, stored) == (False, None)


async def test_a_multibyte_password_over_72_bytes_never_matches_its_prefix(
    hasher: BcryptPasswordHasher,
) -> None:
    prefix = "€" * 24  # 72 bytes
    stored = await hasher.hash(prefix)
    assert await hasher.verify_and_update(prefix + "€", stored) == (False, None)


@pytest.mark.parametrize(
    "password",
    ["k" * 73, "€" * 25, "a" * 1000, "password\x00", "\x00" + "x" * 10, "before\x00after"],
    ids=["73-bytes", "75-bytes-of-euro", "1000-bytes", "nul-at-end", "nul-first", "nul-inside"],
)
async def test_hash_refuses_what_bcrypt_cannot_hash_whole(
    hasher: BcryptPasswordHasher, password: str
) -> None:
    assert not fits_bcrypt(password)
    with pytest.raises(ValueError, match=r"72 bytes|NUL"):
        await hasher.hash(password)


async def test_nul_never_verifies_against_the_part_before_it(
    hasher: BcryptPasswordHasher,
) -> None:
    stored = await hasher.hash("password")
    # A C string ends at NUL: bcrypt would see only "password".
    assert await hasher.verify_and_update("password\x00evil", stored) == (False, None)
    assert await hasher.verify_and_update("password\x00", stored) == (False, None)


async def test_cost_below_the_configured_one_is_reported_for_rehashing() -> None:
    old = await BcryptPasswordHasher(rounds=4).hash(PASSWORD)
    hasher = BcryptPasswordHasher(rounds=5)
    verified, new_hash = await hasher.verify_and_update(PASSWORD, old)
    assert verified
    assert new_hash is not None
    assert new_hash.startswith("$2b$05$")
    assert await hasher.verify_and_update(PASSWORD, new_hash) == (True, None)
    # A wrong password against the outdated hash is just a failure, with nothing to store.
    assert await hasher.verify_and_update("not the password", old) == (False, None)


async def test_stronger_hash_is_not_downgraded(hasher: BcryptPasswordHasher) -> None:
    strong = await BcryptPasswordHasher(rounds=5).hash(PASSWORD)
    assert await hasher.verify_and_update(PASSWORD, strong) == (True, None)


async def test_a_2a_hash_from_node_bcrypt_verifies_and_is_rehashed() -> None:
    # What Node's bcrypt produces: the $2a$ variant at cost 10.
    node_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()
    assert node_hash.startswith("$2a$10$")
    hasher = BcryptPasswordHasher(rounds=10)
    verified, new_hash = await hasher.verify_and_update(PASSWORD, node_hash)
    assert verified
    assert new_hash is not None
    assert new_hash.startswith("$2b$10$")
    assert bcrypt.checkpw(PASSWORD.encode(), new_hash.encode())
    assert await hasher.verify_and_update("wrong password", node_hash) == (False, None)


async def test_a_2y_hash_from_php_verifies(hasher: BcryptPasswordHasher) -> None:
    php_hash = "$2y$" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()[4:]
    verified, new_hash = await hasher.verify_and_update(PASSWORD, php_hash)
    assert verified
    assert new_hash is not None
    assert new_hash.startswith("$2b$")


@pytest.mark.parametrize(
    "stored",
    ["", "not a hash", "$2b$04$tooshort", "$argon2id$v=19$m=65536,t=3,p=4$abc$def", "*"],
)
async def test_something_that_is_not_a_bcrypt_hash_never_verifies(
    hasher: BcryptPasswordHasher, stored: str
) -> None:
    assert await hasher.verify_and_update(PASSWORD, stored) == (False, None)


@pytest.mark.parametrize("password", [PASSWORD, "", "x" * 200, "nul\x00inside"])
async def test_dummy_verify_accepts_any_password(
    hasher: BcryptPasswordHasher, password: str
) -> None:
    # Even what bcrypt itself would reject (NUL, over 72 bytes) must not raise here.
    await hasher.dummy_verify(password)
    await hasher.dummy_verify(password)  # and again, with the dummy hash already made


async def test_dummy_verify_costs_about_as_much_as_a_real_verification() -> None:
    # Unknown user and wrong password must take the same time.
    hasher = BcryptPasswordHasher(rounds=10)
    stored = await hasher.hash(PASSWORD)
    await hasher.dummy_verify("warm up")  # the first call also creates the dummy hash

    async def fastest(action: Callable[[], Awaitable[object]]) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            await action()
            times.append(time.perf_counter() - start)
        return min(times)

    real = await fastest(lambda: hasher.verify_and_update("wrong password", stored))
    dummy = await fastest(lambda: hasher.dummy_verify("wrong password"))
    too_long = await fastest(lambda: hasher.verify_and_update("x" * 100, stored))
    assert dummy >= 0.5 * real
    assert too_long >= 0.5 * real  # a refused over-long password is no faster either


@pytest.mark.parametrize("operation", ["hash", "verify_and_update", "dummy_verify"])
async def test_bcrypt_runs_off_the_event_loop(operation: str) -> None:
    hasher = BcryptPasswordHasher(rounds=12)
    stored = bcrypt.hashpw(b"another password", bcrypt.gensalt(rounds=12)).decode()
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # let the ticker start
    start = time.perf_counter()
    try:
        if operation == "hash":
            await hasher.hash(PASSWORD)
        elif operation == "verify_and_update":
            assert await hasher.verify_and_update(PASSWORD, stored) == (False, None)
        else:
            await hasher.dummy_verify(PASSWORD)
    finally:
        elapsed = time.perf_counter() - start
        done.set()
        await task
    assert elapsed >= 0.08, "rounds 12 should take a noticeable time"
    # Had bcrypt held the loop, the ticker could not have run while it worked.
    assert ticks >= 5


async def test_bcrypt_threads_yield_the_core_to_the_event_loop() -> None:
    hasher = BcryptPasswordHasher(rounds=4)

    def priority() -> tuple[int, int]:
        thread = threading.get_native_id()
        return os.sched_getscheduler(thread), os.getpriority(os.PRIO_PROCESS, thread)

    loop_policy, loop_nice = priority()
    worker_policy, worker_nice = await hasher._run(priority)
    # the kernel's idle class, or (where that is refused) the lowest nice level
    assert worker_policy == os.SCHED_IDLE or worker_nice == min(19, loop_nice + WORKER_NICENESS)
    assert priority() == (loop_policy, loop_nice)  # the loop's own thread is left as it was
