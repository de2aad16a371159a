"""Honest answers while the object store fails (issue 15's "done when").

A real ``mintstore serve`` process stores into moto server through
:class:`FaultProxy`, which fails >= 10 % of the S3 requests: 500/503 answers,
connections reset before forwarding, resets after forwarding (the write
happened, its answer is lost) and delays past botocore's read timeout. Client
threads push studies (create, append, idempotent re-send), update them under
version guards (two at once, so one loses truthfully) and under locks, while a
follower pages the system change log. Afterwards, with the proxy passing
everything, the truth is read from the store's own commit records:

* every acknowledged write is there and equal (instances byte-compared);
* every answer is true: a success names a version holding that write, a 409 or
  "locked" names a write that never committed, every lease belongs to a client
  that was told it holds it (answers of unknown outcome, 5xx, are counted);
* the change log names every committed version exactly once, before verify
  had to backfill anything, and the follower's pages plus one more page from
  its last token give exactly that log (no skip, no repeat);
* ``mintstore verify`` is clean.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import boto3
import pydicom
from lxml import etree

from mintstore import errors
from mintstore.adapters.registry import open_store
from mintstore.client import MintClient
from mintstore.model import Attribute, Study
from mintstore.store import StoreConfig, StudyStore
from mintstore.store.layout import lock_prefix, study_key
from mintstore.synthetic import SyntheticSeries, write_ct_series
from mintstore.testing.fault_proxy import FAULT_KINDS, FaultPlan, FaultProxy
from mintstore.testing.mint_server import ServerProcess
from mintstore.testing.servers import AWS_TEST_ENVIRON, MotoServer

STUDIES = 20
WORKERS = 6
BUCKET = "faults"
STUDY_DESCRIPTION = 0x00081030
MINT = "{http://medical.nema.org/mint}"
#: botocore per attempt; the proxy's delays are longer, so they time out.
READ_TIMEOUT = 3
PLAN = FaultPlan(
    error=0.045, reset_before=0.03, reset_after=0.035, delay=0.008, delay_seconds=READ_TIMEOUT + 1
)

T = TypeVar("T")


@dataclass
class Answer:
    """One write a client sent and what it was told."""

    kind: str  # push | update | lock | unlock
    study: str
    outcome: str  # ok | conflict | locked | unknown | refused
    version: int | None = None
    changed: bool | None = None
    sops: tuple[str, ...] = ()
    description: str | None = None
    token: str | None = None


@dataclass
class Ledger:
    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: Answer) -> Answer:
        with self.lock:
            self.answers.append(answer)
        return answer


def _outcome(error: Exception) -> str:
    if isinstance(error, errors.VersionConflict):
        return "conflict"
    if isinstance(error, errors.Locked | errors.LockInvalid):
        return "locked"
    if isinstance(error, errors.StoreUnavailable | errors.StoreError):
        return "unknown"  # 5xx: the client cannot know, and is not told it failed
    return "refused"


def _retrying(read: Callable[[], T]) -> T:
    """Reads may be retried freely (writes are not: their first answer is judged)."""
    for _ in range(20):
        try:
            return read()
        except errors.StoreUnavailable:
            time.sleep(0.2)
    return read()


def _delta(study_uid: str, description: str) -> Study:
    delta = Study(study_instance_uid=study_uid)
    delta.attributes[STUDY_DESCRIPTION] = Attribute(STUDY_DESCRIPTION, "LO", val=description)
    return delta


def _push(client: MintClient, ledger: Ledger, series: SyntheticSeries, which: slice) -> None:
    paths = series.paths[which]
    sops = tuple(series.sop_instance_uids[which])
    answer = Answer("push", series.study_instance_uid, "ok", sops=sops)
    try:
        [result] = client.push_files(paths)
        answer.version, answer.changed = result.version, result.changed
    except errors.MintError as error:
        answer.outcome = _outcome(error)
    ledger.add(answer)


def _update(
    client: MintClient, ledger: Ledger, study: str, description: str, **guard: int | str
) -> Answer:
    answer = Answer("update", study, "ok", description=description)
    try:
        answer.version = client.update(study, _delta(study, description), **guard)  # type: ignore[arg-type]
    except errors.MintError as error:
        answer.outcome = _outcome(error)
    return ledger.add(answer)


def _workload(url: str, ledger: Ledger, series: SyntheticSeries, index: int) -> None:
    client = MintClient(url, timeout=300)
    rival = MintClient(url, timeout=300)
    study = series.study_instance_uid
    try:
        _push(client, ledger, series, slice(0, 2))  # create
        _push(client, ledger, series, slice(2, 4))  # append
        _push(client, ledger, series, slice(0, 1))  # idempotent re-send
        version = _retrying(lambda: client.study_version(study))
        # Two guarded updates of the same version at once: one may lose, truthfully.
        with ThreadPoolExecutor(2) as pair:
            first = pair.submit(_update, client, ledger, study, f"a-{index}", old_version=version)
            second = pair.submit(_update, rival, ledger, study, f"b-{index}", old_version=version)
            first.result(), second.result()
        lock = Answer("lock", study, "ok")
        try:
            lock.token, _ = client.lock(study)
        except errors.MintError as error:
            lock.outcome = _outcome(error)
        ledger.add(lock)
        if lock.outcome == "ok" and lock.token:
            _update(client, ledger, study, f"lock-{index}", lock_token=lock.token)
            unlock = Answer("unlock", study, "ok", token=lock.token)
            try:
                client.unlock(study, lock.token)
            except errors.MintError as error:
                unlock.outcome = _outcome(error)
            ledger.add(unlock)
        _update(client, ledger, study, f"stale-{index}", old_version=version)
    finally:
        client.close()
        rival.close()


def _changelog_page(client: MintClient, token: str | None) -> tuple[list[tuple[str, int]], str]:
    query: dict[str, str | int] = {"limit": 50}
    if token:
        query["continuation"] = token
    response = client.request(
        "GET", "/changelog", query=query, headers={"Accept": "application/xml"}
    )
    root = etree.fromstring(response.read(), etree.XMLParser(resolve_entities=False))
    changes = [
        (node.get("studyUUID", ""), int(node.get("changeNumber", "-1")))
        for node in root.iter(f"{MINT}change")
    ]
    return changes, root.get("continuation", "")


@dataclass
class Follower:
    """Pages /changelog with continuation tokens while the writers run."""

    url: str
    seen: list[tuple[str, int]] = field(default_factory=list)
    token: str | None = None
    pages: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client = MintClient(self.url, timeout=300)
        try:
            while not self.stop.is_set():
                try:
                    changes, token = _changelog_page(client, self.token)
                except errors.StoreUnavailable:
                    continue  # same token again: a failed page consumed nothing
                self.seen.extend(changes)
                self.token = token or self.token
                self.pages += 1
                if not changes:
                    time.sleep(0.2)
        finally:
            client.close()


def _page_all(client: MintClient, token: str | None) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    while True:
        changes, token = _retrying(lambda t=token: _changelog_page(client, t))  # type: ignore[misc]
        if not changes:
            return out
        out.extend(changes)


def _description(study: Study) -> str | None:
    attribute = study.attributes.get(STUDY_DESCRIPTION)
    return attribute.val if attribute is not None else None


def test_answers_stay_true_while_the_object_store_fails(tmp_path: Path) -> None:
    started = time.monotonic()
    series = [
        write_ct_series(tmp_path / f"s{i:02d}", 4, rows=32, columns=32, seed=i)
        for i in range(STUDIES)
    ]
    ledger = Ledger()
    with MotoServer() as moto:
        boto3.client(
            "s3",
            endpoint_url=moto.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=BUCKET)
        direct_url = f"s3://{BUCKET}/run?endpoint_url={moto.endpoint_url}"
        with FaultProxy(moto.endpoint_url, PLAN, seed=15) as proxy:
            proxy.enabled = False  # a clean start-up; faults from the first client request on
            store_url = (
                f"s3://{BUCKET}/run?endpoint_url={proxy.url}&retries=6"
                f"&read_timeout={READ_TIMEOUT}&connect_timeout={READ_TIMEOUT}"
            )
            with ServerProcess(
                store_url,
                environ=AWS_TEST_ENVIRON,
                # Room for every write this test has in flight at once (each
                # workload runs two guarded updates side by side): its subject
                # is the object store's faults, not the server's upload cap,
                # whose 503s would leave some studies never created.
                options=["--threads", str(2 * WORKERS + 4), "--max-uploads", str(2 * WORKERS + 2)],
                log_path=tmp_path / "server.log",
            ) as server:
                proxy.enabled = True
                follower = Follower(server.url)
                following = threading.Thread(target=follower.run)
                following.start()
                try:
                    with ThreadPoolExecutor(WORKERS) as pool:
                        runs = [
                            pool.submit(_workload, server.url, ledger, s, i)
                            for i, s in enumerate(series)
                        ]
                        for run in runs:
                            run.result()
                finally:
                    follower.stop.set()
                    following.join()
                proxy.enabled = False
                faults = proxy.report()
                client = MintClient(server.url)
                log = _page_all(client, None)
                rest = _page_all(client, follower.token)
                pulled = {
                    (s.study_instance_uid, sop): _instance(client, s, sop)
                    for s in series
                    for sop in s.sop_instance_uids
                }
                client.close()
        direct = StudyStore(open_store(direct_url, AWS_TEST_ENVIRON), StoreConfig())
        verdict = _judge(direct, series, ledger, log, follower.seen + rest, pulled)
        verify = subprocess.run(
            [sys.executable, "-m", "mintstore.cli", "verify", "--store", direct_url],
            capture_output=True,
            text=True,
            env={**AWS_TEST_ENVIRON, "PATH": "/usr/bin:/bin"},
            timeout=300,
        )
        direct.close()
    acknowledged = sum(1 for a in ledger.answers if a.outcome == "ok")
    outcomes = Counter(f"{a.kind}:{a.outcome}" for a in ledger.answers)
    fault_total = sum(faults[k] for k in FAULT_KINDS)
    print(
        f"\nfault injection: {faults['requests']} S3 requests, {fault_total} faults "
        f"({100 * fault_total / faults['requests']:.1f} %): "
        + ", ".join(f"{k} {faults[k]}" for k in FAULT_KINDS)
        + f"\n{len(ledger.answers)} writes answered, {acknowledged} acknowledged, "
        f"lost {len(verdict.lost)}, wrong answers {len(verdict.wrong)}, "
        f"unknown outcome (5xx) {outcomes_unknown(ledger)}; {dict(sorted(outcomes.items()))}"
        f"\nchange log: {len(log)} entries for {verdict.committed} committed versions "
        f"(follower: {len(follower.seen)} entries in {follower.pages} pages, then {len(rest)})"
        f"\nverify: {verify.stdout.strip()}  ({time.monotonic() - started:.0f} s)"
    )
    assert fault_total >= 0.10 * faults["requests"], faults
    assert all(faults[kind] > 0 for kind in FAULT_KINDS), faults
    assert not verdict.lost, verdict.lost[:5]
    assert not verdict.wrong, verdict.wrong[:5]
    assert verdict.log_problems == [], verdict.log_problems[:5]
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert " 0 problems" in verify.stdout and " 0 change-log entries backfilled" in verify.stdout
    assert outcomes["update:conflict"] >= STUDIES // 2  # most stale updates, truthfully
    assert acknowledged >= 5 * STUDIES


def outcomes_unknown(ledger: Ledger) -> int:
    return sum(1 for a in ledger.answers if a.outcome == "unknown")


def _instance(client: MintClient, series: SyntheticSeries, sop: str) -> bytes | None:
    out = io.BytesIO()
    try:
        _retrying(
            lambda: client.instance(series.study_instance_uid, series.series_instance_uid, sop, out)
        )
    except errors.ItemNotFound:
        return None
    return out.getvalue()


@dataclass
class Verdict:
    committed: int = 0
    lost: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    log_problems: list[str] = field(default_factory=list)


def _judge(
    store: StudyStore,
    series: list[SyntheticSeries],
    ledger: Ledger,
    log: list[tuple[str, int]],
    followed: list[tuple[str, int]],
    pulled: dict[tuple[str, str], bytes | None],
) -> Verdict:
    verdict = Verdict()
    described: dict[tuple[str, str], int] = {}  # (study, description) -> version committing it
    sops_at: dict[tuple[str, int], set[str]] = {}
    versions: set[tuple[str, int]] = set()
    for s in series:
        uid = s.study_instance_uid
        try:
            changes = store.study_changes(uid)
        except errors.StudyNotFound:
            changes = []
        for change in changes:
            versions.add((uid, change.number))
            payload = store.change_payload(uid, change.number)
            if change.number > 0 and (text := _description(payload)) is not None:
                described[(uid, text)] = change.number
            sops_at[(uid, change.number)] = {
                sop for part in store.metadata(uid, change.number).series.values()
                for sop in part.instances
            }  # fmt: skip
    verdict.committed = len(versions)
    originals = {
        (s.study_instance_uid, sop): path
        for s in series
        for sop, path in zip(s.sop_instance_uids, s.paths, strict=True)
    }
    tokens_told = {a.token for a in ledger.answers if a.kind == "lock" and a.token}
    unknown_locks = Counter(
        a.study for a in ledger.answers if a.kind == "lock" and a.outcome == "unknown"
    )
    for answer in ledger.answers:
        what = (
            f"{answer.kind} {answer.study} {answer.description or answer.sops} "
            f"-> {answer.outcome} v{answer.version}"
        )
        if answer.kind == "push" and answer.outcome == "ok":
            assert answer.version is not None
            present = sops_at.get((answer.study, answer.version), set())
            if not set(answer.sops) <= present:
                verdict.wrong.append(f"{what}: not at that version")
            for sop in answer.sops:
                stored = pulled[(answer.study, sop)]
                original = originals[(answer.study, sop)]
                if stored is None or _without_description(stored) != _without_description(
                    original.read_bytes()
                ):
                    verdict.lost.append(f"{what}: {sop} missing or different")
        elif answer.kind == "update" and answer.description is not None:
            committed_at = described.get((answer.study, answer.description))
            if answer.outcome == "ok" and committed_at != answer.version:
                verdict.wrong.append(f"{what}: committed at {committed_at}")
            if answer.outcome in ("conflict", "locked", "refused") and committed_at is not None:
                verdict.wrong.append(f"{what}: but committed at v{committed_at}")
    leases: set[str] = set()
    for s in series:
        skey = study_key(s.study_instance_uid)
        for info in store.objects.list(lock_prefix(skey)):
            if info.key.endswith(".json"):
                token = _lease_token(store.objects.get_bytes(info.key))
                leases.add(token)
                if token not in tokens_told:
                    if unknown_locks[s.study_instance_uid] > 0:
                        unknown_locks[s.study_instance_uid] -= 1
                    else:
                        verdict.wrong.append(f"lease {info.key} taken but its taker was told no")
    verdict.wrong += [f"lock told {t} but no such lease" for t in tokens_told - leases]
    counted = Counter(log)
    verdict.log_problems += [f"twice in the log: {k}" for k, n in counted.items() if n > 1]
    verdict.log_problems += [f"missing from the log: {v}" for v in sorted(versions - set(log))]
    verdict.log_problems += [f"not committed: {v}" for v in sorted(set(log) - versions)]
    if followed != log:
        verdict.log_problems.append(
            f"the follower saw {len(followed)} entries, the log has {len(log)}"
        )
    return verdict


def _without_description(part10: bytes) -> pydicom.Dataset:
    """The instance as stored, but for the study description the updates change."""
    dataset = pydicom.dcmread(io.BytesIO(part10))
    if STUDY_DESCRIPTION in dataset:
        del dataset[STUDY_DESCRIPTION]
    return dataset


def _lease_token(data: bytes) -> str:
    import json

    token: str = json.loads(data)["token"]
    return token
