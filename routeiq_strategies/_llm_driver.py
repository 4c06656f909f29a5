"""Driving a sans-I/O decision procedure: one driver for the sync and the async path.

An LLM-calling strategy writes its procedure once, as a generator that yields
:class:`~._llm_binding.LLMRequest` objects (or lists of them) and receives the reply
texts. :func:`drive` runs it against an ``answer`` coroutine function; the sync path
passes an ``answer`` that never suspends and runs the same coroutine with
:func:`run_to_completion`, so there is exactly one loop.

Sync calls with a timeout run on one bounded, process-wide executor
(:func:`call_with_timeout`): a provider that never answers occupies at most
``MAX_LLM_THREADS`` threads, and a call that cannot start in time times out like
one that started and hung. No thread is ever created per call.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from routeiq_core import Estimate

from ._llm_binding import LLMCallError, LLMRequest

__all__ = [
    "MAX_LLM_THREADS",
    "Procedure",
    "Reply",
    "Step",
    "call_with_timeout",
    "drive",
    "one",
    "run_to_completion",
    "submit",
]

Step = LLMRequest | list[LLMRequest]
Reply = str | list[str]
Procedure = Generator[Step, Reply, Estimate]
T = TypeVar("T")

#: Threads that run sync LLM calls with a timeout, for the whole process.
MAX_LLM_THREADS = 8

@functools.cache
def _pool() -> ThreadPoolExecutor:
    """The process-wide executor (created on first use)."""
    return ThreadPoolExecutor(max_workers=MAX_LLM_THREADS, thread_name_prefix="routeiq-llm")


def submit(fn: Callable[[], T]) -> Future[T]:
    """Run ``fn()`` on the bounded executor (the async path wraps the future with ``asyncio.wrap_future``)."""
    return _pool().submit(fn)


def call_with_timeout(fn: Callable[[], T], timeout: float | None) -> T:
    """``fn()`` on the bounded executor, waiting at most ``timeout`` seconds (None: inline, no limit)."""
    if timeout is None:
        return fn()
    future = submit(fn)
    try:
        return future.result(timeout)
    except FutureTimeout:
        future.cancel()  # not started yet (every thread busy): it never will
        raise TimeoutError(f"no reply within {timeout} s") from None


def one(reply: Reply) -> str:
    """The reply to a single request (a procedure that yields one ``LLMRequest`` receives a str)."""
    if not isinstance(reply, str):
        raise TypeError(f"expected one reply text, got {type(reply).__name__}")
    return reply


async def drive(procedure: Procedure, answer: Callable[[Step], Awaitable[Reply]]) -> Estimate:
    """Run ``procedure`` to its Estimate. A failing call is thrown into the generator as
    :class:`LLMCallError`; if the generator does not handle it, the error propagates."""
    advance: Callable[[], Step] = functools.partial(next, procedure)
    while True:
        try:
            step = advance()
        except StopIteration as stop:
            return stop.value
        try:
            reply = await answer(step)
        except LLMCallError as exc:
            advance = functools.partial(procedure.throw, exc)
        else:
            advance = functools.partial(procedure.send, reply)


def run_to_completion(coro: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends (the sync path of :func:`drive`)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("a sync LLM procedure suspended; its answer function must not await")
