"""The HTTP front: keep-alive vs. a connection per request; liveness under a slow-client attack.

Usage: python bench/serving.py [--requests 2000] [--attackers 16]

One ``mintstore serve`` (gunicorn, 2 workers x 2 threads, a file store) and,
measured in the same run:

* ``GET /healthz`` and ``GET /studies`` (an empty search), N requests on one
  kept-alive connection vs. N requests each on a new connection: requests/s
  and the ratio;
* the ``/healthz`` latency (median, max) of a liveness probe every 0.2 s for
  8 s, alone vs. while ``--attackers`` clients each send one header byte
  every 2 s (the slow-client attack of issue 14): the ratio of the medians.

Figures print whatever they are; quote ``uptime`` with them.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from mintstore.testing.mint_server import ServerProcess


def _rate(host: str, port: int, path: str, count: int, *, keep_alive: bool) -> float:
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=10)
    for _ in range(count):
        if not keep_alive:
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        assert response.status == 200
    connection.close()
    return count / (time.perf_counter() - started)


def _probe(host: str, port: int, seconds: float) -> list[float]:
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        connection = http.client.HTTPConnection(host, port, timeout=5)
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        connection.close()
        latencies.append(time.perf_counter() - started)
        time.sleep(0.2)
    return latencies


def _attack(host: str, port: int, stop: threading.Event) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 500
    while not stop.is_set():
        try:
            with socket.create_connection((host, port), timeout=10) as sock:
                for byte in head:
                    sock.sendall(bytes([byte]))
                    if stop.wait(2.0):
                        return
        except OSError:
            continue  # cut off by the server: come back, as an attacker would


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--attackers", type=int, default=16)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as workdir:
        options = ["--threads", "2", "--header-timeout", "5"]
        with ServerProcess(Path(workdir).as_uri(), workers=2, options=options) as server:
            parts = urlsplit(server.url)
            host, port = parts.hostname or "127.0.0.1", parts.port or 80
            print(f"{'':24}{'keep-alive':>12}{'new conn':>12}{'ratio':>8}")
            for path in ("/healthz", "/studies"):
                kept = _rate(host, port, path, args.requests, keep_alive=True)
                fresh = _rate(host, port, path, args.requests, keep_alive=False)
                label = f"GET {path} (req/s)"
                print(f"{label:24}{kept:12.0f}{fresh:12.0f}{kept / fresh:8.2f}")
            alone = _probe(host, port, 8)
            stop = threading.Event()
            attackers = [
                threading.Thread(target=_attack, args=(host, port, stop))
                for _ in range(args.attackers)
            ]
            for attacker in attackers:
                attacker.start()
            time.sleep(1)
            try:
                attacked = _probe(host, port, 8)
            finally:
                stop.set()
                for attacker in attackers:
                    attacker.join()
            print(f"{'':24}{'median ms':>12}{'max ms':>12}")
            for label, values in (("probe alone", alone), ("probe under attack", attacked)):
                print(
                    f"{label:24}{statistics.median(values) * 1000:12.1f}{max(values) * 1000:12.1f}"
                )
            ratio = statistics.median(attacked) / statistics.median(alone)
            print(f"ratio of medians under attack / alone: {ratio:.2f}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
