"""The Prometheus metrics of a mintstore process, defined once.

prometheus-client keeps metrics in module-level registries, so they are
defined here, once, and every front-end (HTTP, DICOMweb, DIMSE) records
into the same objects. Under gunicorn the runner sets
``PROMETHEUS_MULTIPROC_DIR`` before the first metric is built (:func:`get`),
and :func:`exposition` then merges the files of every worker.

Names follow Prometheus conventions: ``_total`` counters, ``_seconds``
histograms, ``_bytes_total`` byte counters; label values are bounded (route
templates, never raw paths).
"""

from __future__ import annotations

import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """Every metric of the process (built once, on first use: see :func:`get`)."""

    def __init__(self) -> None:
        self.http_requests = Counter(
            "mintstore_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
        )
        self.http_duration = Histogram(
            "mintstore_http_request_duration_seconds",
            "Time from the request's arrival to the last byte of its response",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
        )
        self.http_received = Counter(
            "mintstore_http_received_bytes", "Request body bytes read, by route", ["route"]
        )
        self.http_sent = Counter(
            "mintstore_http_sent_bytes", "Response body bytes sent, by route", ["route"]
        )
        self.objectstore_requests = Counter(
            "mintstore_objectstore_requests",
            "Object-store calls by operation (put, create, get, get_range, head, delete, "
            "list, sync) and outcome (ok, not_found, exists, error)",
            ["operation", "outcome"],
        )
        self.objectstore_duration = Histogram(
            "mintstore_objectstore_request_duration_seconds",
            "Duration of object-store calls (for get: until the reader is open)",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
        )
        self.commits = Counter(
            "mintstore_commits", "Commit records created (one per new study version)"
        )
        self.commit_conflicts = Counter(
            "mintstore_commit_conflicts",
            "Commit attempts that lost the race for a version number (retried or refused)",
        )
        self.version_conflicts = Counter(
            "mintstore_version_conflicts",
            "Requests refused with 409/412 because the study changed under them",
        )
        self.integrity_errors = Counter(
            "mintstore_integrity_errors",
            "Stored content that failed its digest or could not be read",
        )


_built: list[Metrics] = []
_lock = threading.Lock()


def get() -> Metrics:
    """The process's metrics, built on first use.

    Building late lets the gunicorn runner choose prometheus-client's
    multi-process value store first, whatever was imported before.
    """
    if not _built:
        with _lock:
            if not _built:
                _built.append(Metrics())
    return _built[0]


def built() -> bool:
    """True once any metric exists (the value store can no longer be changed)."""
    return bool(_built)


def exposition(multiprocess_dir: str | None) -> tuple[bytes, str]:
    """The text exposition of every metric (of every worker when multi-process)."""
    if multiprocess_dir:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
