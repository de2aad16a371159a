"""Headless Chromium driven over the DevTools protocol, for browser tests of the web view.

``--dump-dom`` shows what a page says but cannot fill a form or tell whether
an image decoded. This drives one real Chromium (installed by
scripts/setup/50-chromium.sh) through its DevTools WebSocket: navigate, run
JavaScript in the page, read cookies, take screenshots. The WebSocket client
is tornado's (already installed with dask's distributed). Chromium runs in
its own process group and is stopped with it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from tornado.websocket import WebSocketClientConnection, websocket_connect

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


class ChromiumError(RuntimeError):
    """Chromium could not be started or a DevTools command failed."""


class HeadlessChromium:
    """One browser with one page; use as a context manager."""

    def __init__(self, profile: Path, *, width: int = 1280, height: int = 1000) -> None:
        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        if binary is None:
            raise ChromiumError("chromium is not installed: run scripts/setup/50-chromium.sh")
        profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        self._loop = asyncio.new_event_loop()
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        try:
            port = self._devtools_port(profile / "DevToolsActivePort")
            socket_url = self._page_socket(port)

            async def connect() -> WebSocketClientConnection:
                # Inside our loop, so tornado binds the connection to it.
                return await websocket_connect(socket_url, max_message_size=256 * 1024**2)

            self._connection = self._run(connect())
            self.call("Page.enable")
            self.call("Runtime.enable")
            self.call("Network.enable")
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, marker: Path) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if marker.exists():
                first = marker.read_text().splitlines()[:1]
                if first and first[0].isdigit():
                    return int(first[0])
            if self.process.poll() is not None:
                raise ChromiumError("chromium exited during start-up")
            time.sleep(0.05)
        raise ChromiumError("chromium did not open its DevTools port in 30 s")

    def _page_socket(self, port: int) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.loads(answer.read())
        for target in targets:
            if target.get("type") == "page":
                return str(target["webSocketDebuggerUrl"])
        raise ChromiumError("chromium has no page target")

    def _run(self, awaitable: Any) -> Any:
        return self._loop.run_until_complete(asyncio.wait_for(awaitable, 60))

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        connection: WebSocketClientConnection = self._connection
        self._next_id += 1
        wanted = self._next_id
        await connection.write_message(
            json.dumps({"id": wanted, "method": method, "params": params})
        )
        while True:
            message = await connection.read_message()
            if message is None:
                raise ChromiumError("the DevTools connection closed")
            data = json.loads(message)
            if data.get("id") == wanted:
                if "error" in data:
                    raise ChromiumError(f"{method}: {data['error']}")
                result: dict[str, Any] = data.get("result", {})
                return result
            if "method" in data:
                self._events.append(data)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; its result."""
        result: dict[str, Any] = self._run(self._call(method, params))
        return result

    def _wait_event(self, name: str, timeout: float) -> None:
        async def wait() -> None:
            while True:
                for index, event in enumerate(self._events):
                    if event.get("method") == name:
                        del self._events[: index + 1]
                        return
                message = await self._connection.read_message()
                if message is None:
                    raise ChromiumError("the DevTools connection closed")
                self._events.append(json.loads(message))

        self._loop.run_until_complete(asyncio.wait_for(wait(), timeout))

    def navigate(self, url: str, timeout: float = 60) -> None:
        """Load ``url`` and wait for its load event (images included)."""
        self._events.clear()
        self.call("Page.navigate", url=url)
        self._wait_event("Page.loadEventFired", timeout)

    def evaluate(self, expression: str, *, wait_load: bool = False) -> Any:
        """Run JavaScript in the page; its value (promises awaited)."""
        if wait_load:
            self._events.clear()
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise ChromiumError(f"page script failed: {result['exceptionDetails']}")
        if wait_load:
            self._wait_event("Page.loadEventFired", 60)
        return result.get("result", {}).get("value")

    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def cookies(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("Network.getCookies").get("cookies", [])
        return found

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page."""
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        """Stop Chromium and its helper processes (the whole process group)."""
        connection = getattr(self, "_connection", None)
        if connection is not None:
            connection.close()
        # Renderer and helper processes share the group; stop all of it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._loop.close()

    def __enter__(self) -> HeadlessChromium:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
