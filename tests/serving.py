"""Running a real server in tests: uvicorn on loopback in a thread of this process."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import uvicorn
from fastapi import FastAPI


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int | None = None, ready_timeout_s: float = 300.0
) -> Iterator[str]:
    """Run ``app`` with uvicorn on ``host`` (loopback) in a daemon thread; yield its base URL once
    ``/healthz`` is 200, and stop the server on exit."""
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    base = f"http://{host}:{port}"
    deadline = time.monotonic() + ready_timeout_s
    try:
        while True:
            if not thread.is_alive():
                raise RuntimeError(f"uvicorn on {base} exited during start-up")
            with contextlib.suppress(httpx.TransportError):
                resp = httpx.get(f"{base}/healthz", timeout=5.0)
                if resp.status_code == 200:
                    break
                if resp.json().get("status") == "failed":
                    raise RuntimeError(f"pilotkg failed to start: {resp.text}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{base} not ready after {ready_timeout_s}s")
            time.sleep(0.05)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)
