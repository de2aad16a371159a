"""``POST /studies/{study}?action=copy|move&target=...``.

A target is either the name of a store configured on the server
(``ServerConfig.copy_targets``) or the base URL of another mintstore server.
Named stores go through the engine's copy (only content missing at the
target travels, verified before the target commits); a remote server gets
the study as one MINT upload (metadata + binary items) streamed through the
client: only the instances it lacks (asked by their SOP Instance UIDs) and
their binary items travel, authenticated with the bearer token configured for
that URL (``ServerConfig.copy_tokens``).
"""

from __future__ import annotations

from flask import Response

from mintstore.errors import InvalidInput, ItemNotFound, StudyGone, StudyNotFound
from mintstore.model import Study
from mintstore.store import open_study_store
from mintstore.store.copying import missing_instances

from . import context
from .auth import require_scope
from .responses import document


def copy_or_move(study: str, action: str, target: str) -> Response:
    """Copy or move ``study`` to ``target``; answers with what travelled."""
    if action not in ("copy", "move"):
        raise InvalidInput(f"unknown action {action!r} (use copy or move)")
    require_scope("admin")
    config = context.config()
    if target in config.copy_targets:
        destination = open_study_store(
            config.copy_targets[target], config.environ, config.store_config
        )
        try:
            store = context.store()
            if action == "copy":
                report = store.copy_study(study, destination)
            else:
                report = store.move_study(study, destination, context.actor())
        finally:
            destination.close()
        return document(
            "copyReport",
            {
                "studyUUID": study,
                "action": action,
                "target": target,
                "bytesSent": report.bytes_sent,
                "bytesSkipped": report.bytes_skipped,
            },
        )
    if target.startswith(("http://", "https://")):
        return _copy_to_server(study, action, target)
    raise InvalidInput(
        f"unknown copy target {target[:80]!r}: use one of {sorted(config.copy_targets)} "
        "or another mintstore server's URL"
    )


def _copy_to_server(study: str, action: str, url: str) -> Response:
    """Send the instances the other server lacks, with the token configured for it."""
    from mintstore.client import MintClient

    store = context.store()
    version = store.open_version(study)
    client = MintClient(url, token=context.config().copy_token(url))
    try:
        try:
            theirs: Study | None = client.metadata(study)
        except (ItemNotFound, StudyNotFound, StudyGone):
            theirs = None
        part = missing_instances(version.metadata(), theirs)
        wanted = part.referenced_bids() if part is not None else set()
        total = sum(version.item_size(bid) for bid in version.item_ids())
        items = version.iter_items(sorted(wanted & set(version.item_ids())))
        sent = client.upload_mint(part, items) if part is not None else 0
    finally:
        client.close()
    if action == "move":
        store.delete(study, context.actor())
    return document(
        "copyReport",
        {
            "studyUUID": study,
            "action": action,
            "target": url,
            "bytesSent": sent,
            "bytesSkipped": total - sent,
        },
    )
