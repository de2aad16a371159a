"""Update leases without compare-and-swap.

A lease is ``studies/<key>/lock/<gen>.json`` created once; releasing creates
``<gen>.released``. The current lease is the highest generation. Taking the
lock creates generation current+1, which is only allowed when the current
one is released or expired; two takers racing for the same generation are
decided by create-if-absent. Nothing is ever overwritten, so a holder whose
lease expired cannot be confused with the new holder: the token names its
generation.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from mintstore.adapters import ObjectStore, PutMode
from mintstore.adapters.lost_answers import create_unique
from mintstore.errors import AlreadyExists, Locked, LockInvalid, NotFound

from .config import StoreConfig
from .layout import lease_key, lock_prefix, release_key
from .records import dumps
from .types import Lease


@dataclass(frozen=True)
class _LeaseState:
    generation: int
    token: str
    owner: str
    expires: datetime
    released: bool


class Locks:
    def __init__(self, objects: ObjectStore, config: StoreConfig) -> None:
        self.objects = objects
        self.config = config

    def _current(self, skey: str) -> _LeaseState | None:
        newest = 0
        released = False
        for info in self.objects.list(lock_prefix(skey)):
            name = info.key.rsplit("/", 1)[-1]
            stem, _, suffix = name.partition(".")
            if not stem.isdigit():
                continue
            generation = int(stem)
            if generation > newest:
                newest, released = generation, False
            if generation == newest and suffix == "released":
                released = True
        if newest == 0:
            return None
        # Probe rather than trust the listing for what decides validity.
        while self.objects.exists(lease_key(skey, newest + 1)):
            newest += 1
            released = False
        if not released:
            released = self.objects.exists(release_key(skey, newest))
        doc = json.loads(self.objects.get_bytes(lease_key(skey, newest)))
        return _LeaseState(
            newest, doc["token"], doc["owner"], datetime.fromisoformat(doc["expires"]), released
        )

    def _is_free(self, state: _LeaseState | None, now: datetime) -> bool:
        return state is None or state.released or state.expires <= now

    def acquire(self, skey: str, owner: str, ttl: timedelta | None = None) -> Lease:
        now = self.config.clock()
        state = self._current(skey)
        if not self._is_free(state, now):
            raise Locked("the study is locked for update by someone else")
        generation = (state.generation if state else 0) + 1
        token = f"{generation}.{secrets.token_hex(16)}"
        expires = now + (ttl if ttl is not None else self.config.lock_ttl)
        document = {"token": token, "owner": owner, "expires": expires.isoformat()}
        try:
            create_unique(self.objects, lease_key(skey, generation), dumps(document))
        except AlreadyExists:
            raise Locked("the study was just locked by someone else") from None
        return Lease(token, expires)

    def _lease_of(self, skey: str, token: str) -> _LeaseState:
        stem = token.partition(".")[0]
        if not stem.isdigit():
            raise LockInvalid("malformed lock token")
        generation = int(stem)
        try:
            doc = json.loads(self.objects.get_bytes(lease_key(skey, generation)))
        except NotFound:
            raise LockInvalid("unknown lock token") from None
        if not secrets.compare_digest(doc["token"], token):
            raise LockInvalid("unknown lock token")
        released = self.objects.exists(release_key(skey, generation))
        return _LeaseState(
            generation, token, doc["owner"], datetime.fromisoformat(doc["expires"]), released
        )

    def release(self, skey: str, token: str) -> None:
        state = self._lease_of(skey, token)
        if state.released:
            return
        with contextlib.suppress(AlreadyExists):
            self.objects.put(release_key(skey, state.generation), b"", mode=PutMode.CREATE)

    def check(self, skey: str, token: str) -> None:
        """Raise LockInvalid unless the token's lease is current, held and not about to expire."""
        state = self._lease_of(skey, token)
        if state.released:
            raise LockInvalid("the lock was released")
        if self.objects.exists(lease_key(skey, state.generation + 1)):
            raise LockInvalid("the lock was taken over by someone else")
        if state.expires <= self.config.clock() + self.config.lock_margin:
            raise LockInvalid("the lock has expired")

    def check_unlocked(self, skey: str) -> None:
        """Raise Locked if someone holds a live lease (for updates without a token)."""
        if not self._is_free(self._current(skey), self.config.clock()):
            raise Locked("the study is locked for update by someone else")
