"""The production HTTP front: gunicorn with threaded workers, tuned against slow clients.

:mod:`.options` holds the server's tunables, :mod:`.worker` the gthread worker
that reads request heads without holding a thread, :mod:`.continue_gate` the
``100 Continue`` that waits for the application, :mod:`.runner` the arbiter
with its hooks (listening line, metrics directory, graceful stop).
"""
