"""The real services the source adapter tests run against: PostgreSQL, Redis and a loopback HTTP server."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import redis
from psycopg import sql

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/11"


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh schema `exhaust_src_<random>`, dropped afterwards."""
    name = f"exhaust_src_{secrets.token_hex(4)}"
    try:
        yield name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@contextmanager
def redis_keys() -> Iterator[tuple[redis.Redis, set[str]]]:
    """Redis DB 11 and a set the test adds its keys to; those keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    keys: set[str] = set()
    try:
        yield client, keys
    finally:
        if keys:
            client.delete(*keys)
        client.close()


@contextmanager
def redis_commands(client: redis.Redis) -> Iterator[list[str]]:
    """Every command the Redis server runs on DB 11 while the block runs (observed with MONITOR)."""
    marker = f"end-of-capture-{secrets.token_hex(4)}"
    seen: list[str] = []
    ready = threading.Event()

    def watch() -> None:
        with client.monitor() as monitor:
            ready.set()
            for event in monitor.listen():
                if marker in event["command"]:
                    return
                if event.get("db") == 11:
                    seen.append(event["command"])

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    time.sleep(0.1)
    try:
        yield seen
    finally:
        client.echo(marker)
        thread.join(10)


Handler = Callable[[str, str, dict | None], tuple[int, object]]


@dataclass(frozen=True)
class Seen:
    """One request the loopback server received."""

    method: str
    path: str
    body: dict | None
    headers: dict[str, str]


@contextmanager
def http_server(handle: Handler) -> Iterator[tuple[str, list[Seen]]]:
    """A loopback HTTP server answering with `handle(method, path, json_body) -> (status, body)`.

    Yields the base URL and the list of requests it received.
    """
    requests: list[Seen] = []

    class _Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            requests.append(Seen(self.command, self.path, body, dict(self.headers.items())))
            status, payload = handle(self.command, self.path, body)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
