"""The client API of a live member (writes through the log, linearizable reads), mixed
into EtcdServer.

A write is validated, checked against the quota (over it: the NOSPACE alarm goes through
the log first, as in etcd), proposed on the Ready loop's next turn and answered once this
member applied it. A linearizable read waits for ReadIndex: it is served once this member
has applied everything committed when the read was asked. Callers on other threads (the
gRPC workers) use `submit` / `submit_read` with a Future instead of a trio task each.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Callable

import trio

from engine.kv import AlarmAction, AlarmRequest, AlarmType, ErrorKind, KVError, encode_request

from . import errors_etcd as err
from .envelope import Kind, wrap
from .reads import Read

if TYPE_CHECKING:
    from .server import EtcdServer


class ClientMixin:
    async def propose(self: EtcdServer, request, trace: str = "") -> object:
        """Replicate one keyspace request and return the result of applying it here;
        its entry carries the client's `trace` id if it gave one (tracing.py)."""
        self.kv.validate(request)
        payload = encode_request(request)
        if len(payload) > self.cfg.max_request_bytes:
            raise err.too_large()
        if not self.kv.quota_available(request):
            await self._raise_nospace()
        return await self._wait_applied(Kind.KV, payload, trace)

    def submit(self: EtcdServer, request, future: Future, trace: str = "") -> None:
        """`propose` for a caller on another thread: call through the trio token's
        run_sync_soon; `future` gets the result once applied here. Cheaper than a trio
        task per request, which matters at thousands of requests a second."""
        try:
            self.kv.validate(request)
            payload = encode_request(request)
            if len(payload) > self.cfg.max_request_bytes:
                raise err.too_large()
        except (KVError, err.ServerError, ValueError) as e:
            future.set_exception(e)
            return
        if not self.kv.quota_available(request):
            trio.lowlevel.spawn_system_task(self._submit_slow, request, future, trace)
            return
        rid = self.ids.next()
        self.waiters.register(rid, future)
        future.request_id = rid
        self._post(("prop", wrap(Kind.KV, rid, payload, trace)))

    async def _submit_slow(self: EtcdServer, request, future: Future, trace: str) -> None:
        try:
            future.set_result(await self.propose(request, trace))
        except (KVError, err.ServerError) as e:
            future.set_exception(e)

    def abandon(self: EtcdServer, future: Future) -> None:
        """The waiting thread gave up: forget its waiter."""
        rid = getattr(future, "request_id", None)
        if rid is not None:
            self.waiters.forget(rid)

    async def _wait_applied(self: EtcdServer, kind: Kind, payload: bytes,
                            trace: str = "") -> object:
        rid = self.ids.next()
        waiter = self.waiters.register(rid)
        self._post(("prop", wrap(kind, rid, payload, trace)))
        return await self._applied_result(rid, waiter)

    async def _applied_result(self: EtcdServer, rid: int, waiter) -> object:
        """What applying proposal `rid` here gave (or its error), within the request
        timeout."""
        with trio.move_on_after(self.cfg.request_timeout):
            await waiter.done.wait()
            if waiter.error is not None:
                raise waiter.error
            return waiter.result
        self.waiters.forget(rid)
        raise err.timed_out() if self.lead else err.no_leader()

    async def _raise_nospace(self: EtcdServer) -> None:
        """Over quota: raise the NOSPACE alarm through the log, then refuse (etcd)."""
        alarm = AlarmRequest(AlarmAction.ACTIVATE, self.id, AlarmType.NOSPACE)
        with trio.move_on_after(self.cfg.request_timeout):
            await self._wait_applied(Kind.KV, encode_request(alarm))
        raise KVError(ErrorKind.NO_SPACE)

    async def linearizable_barrier(self: EtcdServer) -> None:
        """Return once this member has applied everything committed before the call
        (ReadIndex); a read served after that is linearizable."""
        done, expired = trio.Event(), []
        self._queue_read(done.set, lambda: (expired.append(True), done.set()))
        await done.wait()
        if expired:
            raise err.timed_out() if self.lead else err.no_leader()

    def submit_read(self: EtcdServer, serve: Callable[[], object], future: Future) -> None:
        """A linearizable read for a caller on another thread (through run_sync_soon):
        `serve` runs on the loop once this member has caught up, its result or KVError
        goes to `future`."""
        def answer() -> None:
            try:
                future.set_result(serve())
            except KVError as e:
                future.set_exception(e)

        def give_up() -> None:
            future.set_exception(err.timed_out() if self.lead else err.no_leader())

        self._queue_read(answer, give_up)

    def _queue_read(self: EtcdServer, on_ready: Callable[[], None],
                    on_timeout: Callable[[], None]) -> None:
        deadline = trio.current_time() + self.cfg.request_timeout
        self.reads.add(Read(on_ready, on_timeout, deadline))
        self._post(("read",))

    async def _read_retrier(self: EtcdServer) -> None:
        while True:
            await trio.sleep(self.reads.retry_after / 2)
            if self.reads.tick(trio.current_time()):
                self._post(("read",))
