"""Serialised answers about completed runs, kept as bytes with a strong ETag.

A completed run never changes: its lines, proof items and figure sources are the same on every
read, so the JSON or CSV an API route makes of them is made once per run, route and query, and
then sent as it is. Under the load benchmark (50 clients reading results) building and
serialising the answer was a third of a request's CPU; a cached answer costs a dictionary look-up.

What is cached and what is not:
- only answers about a run whose status is ``completed``, keyed by its run id, so a new close of
  the period (a new run id) is never answered from an older run's entry;
- never sign-off state, locks or the audit log: they change while the run does not, and every
  read of them goes to the run store;
- the caller is authenticated on every request before the cache is consulted, so a 304 or a
  cached body is never given to someone who may not read it.

Clients may revalidate with ``If-None-Match``; the answer is then ``304 Not Modified`` without a
body. ``Cache-Control: private, no-cache`` makes browsers and proxies ask again each time (the
URL without ``run_id`` means "the latest completed run", which a new close changes).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from fastapi import Request
from fastapi.responses import Response
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

JSON = "application/json"
CSV = "text/csv; charset=utf-8"
MAX_ENTRIES = 2048
MAX_BYTES = 64 * 1024 * 1024  # a memory bound however many distinct queries are asked

_ANY = TypeAdapter(Any)  # the serialiser FastAPI itself uses: same bytes as an uncached answer


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str
    etag: str
    headers: tuple[tuple[str, str], ...] = ()


class ResponseCache:
    """Least recently used answers, bounded by count and by total bytes; safe across threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, Answer] = OrderedDict()
        self._bytes = 0
        self._guard = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple) -> Answer | None:
        with self._guard:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple, answer: Answer) -> None:
        size = len(answer.body)
        if size > self.max_bytes // 8:
            return  # one huge page would push out everything else
        with self._guard:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[key] = answer
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)


    def forget(self, run_id: str) -> None:
        """Drop every answer about ``run_id``: a disposition revised its lines."""
        with self._guard:
            for key in [k for k in self._entries if k[0] == run_id]:
                self._bytes -= len(self._entries.pop(key).body)


def make(body: bytes, media_type: str, filename: str | None = None) -> Answer:
    headers = (("Content-Disposition", f'attachment; filename="{filename}"'),) if filename else ()
    return Answer(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', headers)


def json_bytes(doc: Any) -> bytes:
    return _ANY.dump_json(doc)


async def answer(request: Request, run: dict, build: Callable[[], Answer]) -> Response:
    """The answer ``build`` makes for ``request`` about ``run``: from the cache when the run is
    completed and the same route and query were answered before. ``build`` reads files and the
    run store, so it runs in a worker thread; a cache hit never leaves the event loop."""
    cache: ResponseCache = request.app.state.answers
    if run.get("status") == "completed":
        key = (run["id"], request.url.path, tuple(sorted(request.query_params.multi_items())))
        found = cache.get(key)
        if found is None:
            found = await run_in_threadpool(build)
            cache.put(key, found)
    else:
        found = await run_in_threadpool(build)  # a running close: its results are still being written
    return respond(request, found)


def respond(request: Request, found: Answer) -> Response:
    headers = {"ETag": found.etag, "Cache-Control": "private, no-cache", **dict(found.headers)}
    if _matches(request.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


def _matches(header: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match asks: ``W/`` prefixes are ignored."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags
