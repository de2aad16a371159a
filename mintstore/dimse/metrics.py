"""The gateway's Prometheus counters, served by the gateway process itself.

The gateway is its own process (``mintstore dimse``, or the child that
``serve --dicom-port`` starts), so its counters cannot appear in serve's
``/metrics`` without sharing prometheus-client's multi-process directory,
whose files only gunicorn's workers clean up. The simplest honest design: the
gateway keeps its own registry and, with ``dimse.metrics_port`` set, serves it
on loopback (``http://127.0.0.1:PORT/metrics``) for the scraper to add as a
second target. Counted:

* ``mintstore_dimse_associations_total{result="accepted"|"rejected"}``;
* ``mintstore_dimse_operations_total{operation, status}``: one per C-ECHO,
  C-STORE, C-FIND, C-MOVE, C-GET, N-ACTION, labelled with the final status the
  answered (``0x0000``, ``0xa700``...), or ``complete`` when a C-MOVE /
  C-GET handler ended after its sub-operations and pynetdicom composed the final
  status from their counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, start_http_server

PENDING = frozenset({0xFF00, 0xFF01})


def _status_of(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    status = getattr(value, "Status", None)
    return int(status) if isinstance(status, int) else None


class GatewayMetrics:
    """Counters of one gateway process (its own registry, not the global one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.associations = Counter(
            "mintstore_dimse_associations",
            "DIMSE associations by result",
            ["result"],
            registry=self.registry,
        )
        self.operations = Counter(
            "mintstore_dimse_operations",
            "DIMSE operations by final status",
            ["operation", "status"],
            registry=self.registry,
        )

    def serve(self, port: int, host: str = "127.0.0.1") -> Any:
        """Serve ``/metrics`` on loopback in a daemon thread; returns the HTTP server."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server

    def count(self, operation: str, status: int | None) -> None:
        label = "complete" if status is None else f"0x{status:04x}"
        self.operations.labels(operation=operation, status=label).inc()

    def counted(self, operation: str, handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``handler`` (returning a status) with its final status counted."""

        def wrapper(event: Any) -> Any:
            result = handler(event)
            self.count(operation, _status_of(result[0] if isinstance(result, tuple) else result))
            return result

        return wrapper

    def counted_generator(
        self, operation: str, handler: Callable[[Any], Iterator[Any]], ended: int | None = None
    ) -> Callable[[Any], Iterator[Any]]:
        """A C-FIND / C-MOVE / C-GET handler (a generator of (status, identifier)
        pairs) with the last non-pending status counted when it ends; ``ended``
        is what pynetdicom answers when the handler stops after its pending
        answers (C-FIND: Success; C-MOVE / C-GET: composed from the
        sub-operations, counted as ``complete``)."""

        def wrapper(event: Any) -> Iterator[Any]:
            final: int | None = ended
            try:
                for item in handler(event):
                    if isinstance(item, tuple) and len(item) == 2:
                        status = _status_of(item[0])
                        if status is not None and status not in PENDING:
                            final = status
                    yield item
            finally:
                self.count(operation, final)

        return wrapper
