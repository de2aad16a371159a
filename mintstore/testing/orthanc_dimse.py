"""Orthanc 1.10 as a DIMSE peer of the gateway, inside a network namespace of its own.

Orthanc binds 0.0.0.0 and has no option to change it, so everything that
talks to it runs inside ``unshare -n`` with only loopback up: :func:`run_in_namespace`
re-runs this module there (``python -m mintstore.testing.orthanc_dimse``),
which starts Orthanc and ``mintstore dimse`` side by side and then:

1. uploads study A to Orthanc over its REST API and has Orthanc C-STORE it
   to the gateway (``POST /modalities/mint/store``);
2. sends study B to the gateway with storescu, C-MOVEs it from the gateway
   to Orthanc (movescu ``-aem ORTHANC``) and downloads what Orthanc received
   into ``WORK/from-orthanc/``.

The caller (outside the namespace: the file system is shared) compares the
results. Every process started is stopped by its PID before returning.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from mintstore.testing.dcmtk import dcmtk_tool

ORTHANC_HTTP = 8042
ORTHANC_DICOM = 4242
GATEWAY_PORT = 11112


def run_in_namespace(work: Path, study_a: Path, study_b: Path, timeout: float = 300) -> str:
    """Run the exchange in a fresh network namespace; returns its output (raises on failure)."""
    command = (
        "ip link set lo up && exec "
        f"{sys.executable} -m mintstore.testing.orthanc_dimse {work} {study_a} {study_b}"
    )
    result = subprocess.run(
        ["unshare", "-n", "bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the Orthanc exchange failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def start_orthanc(
    work: Path, gateway_port: int, peers: dict[str, list[Any]] | None = None
) -> subprocess.Popen[bytes]:
    """Orthanc with the gateway declared as modality ``mint`` (and ``peers``:
    name -> [AE title, host, port], more modalities it may send to)."""
    config = {
        "Name": "mint-peer",
        "StorageDirectory": str(work / "orthanc-storage"),
        "IndexDirectory": str(work / "orthanc-index"),
        "HttpPort": ORTHANC_HTTP,
        "DicomPort": ORTHANC_DICOM,
        "DicomAet": "ORTHANC",
        "DicomServerEnabled": True,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowMove": True,
        "AuthenticationEnabled": False,
        "RemoteAccessAllowed": False,
        "StorageCompression": False,
        "DicomModalities": {"mint": ["MINTSTORE", "127.0.0.1", gateway_port], **(peers or {})},
    }
    path = work / "orthanc.json"
    path.write_text(json.dumps(config))
    process = subprocess.Popen(
        ["Orthanc", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=open(work / "orthanc.log", "wb"),  # noqa: SIM115 - the child owns it
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            rest("GET", "/system")
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("Orthanc did not start")


def rest(method: str, path: str, body: bytes | None = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{ORTHANC_HTTP}{path}", data=body, method=method
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        data = response.read()
    return json.loads(data) if data[:1] in (b"{", b"[") else data


def _exchange(work: Path, study_a: Path, study_b: Path) -> None:
    orthanc = start_orthanc(work, GATEWAY_PORT)
    gateway = subprocess.Popen(
        [
            sys.executable, "-m", "mintstore.commands.dimse_entry",
            "--store", (work / "store").as_uri(),
            "--port", str(GATEWAY_PORT), "--destination", f"ORTHANC=127.0.0.1:{ORTHANC_DICOM}",
        ],
        stdout=subprocess.PIPE,
        stderr=open(work / "gateway.log", "wb"),  # noqa: SIM115 - the child owns it
        start_new_session=True,
    )  # fmt: skip
    try:
        assert gateway.stdout is not None
        print(gateway.stdout.readline().decode().strip(), flush=True)
        # 1. Orthanc C-STOREs study A into the gateway
        study_ids = set()
        for path in sorted(study_a.iterdir()):
            study_ids.add(rest("POST", "/instances", path.read_bytes())["ParentStudy"])
        for study_id in study_ids:
            job = rest("POST", "/modalities/mint/store", json.dumps([study_id]).encode())
            print("orthanc store:", json.dumps(job), flush=True)
        # 2. the gateway C-MOVEs study B to Orthanc
        subprocess.run(
            [
                dcmtk_tool("storescu"),
                "-aec",
                "MINTSTORE",
                "+sd",
                "127.0.0.1",
                str(GATEWAY_PORT),
                str(study_b),
            ],
            check=True,
        )
        from pydicom import dcmread

        study_uid = dcmread(next(study_b.iterdir()), stop_before_pixels=True).StudyInstanceUID
        subprocess.run(
            [dcmtk_tool("movescu"), "-S", "-aec", "MINTSTORE", "-aem", "ORTHANC",
             "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
             "127.0.0.1", str(GATEWAY_PORT)],
            check=True,
        )  # fmt: skip
        found = rest("POST", "/tools/find", json.dumps(
            {"Level": "Instance", "Query": {"StudyInstanceUID": str(study_uid)}}
        ).encode())  # fmt: skip
        out = work / "from-orthanc"
        out.mkdir()
        for instance_id in found:
            (out / f"{instance_id}.dcm").write_bytes(rest("GET", f"/instances/{instance_id}/file"))
        print(f"orthanc holds {len(found)} instances of study B", flush=True)
    finally:
        for process in (gateway, orthanc):
            if process.poll() is None:
                os.killpg(process.pid, 15)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, 9)
                    process.wait()


if __name__ == "__main__":
    _exchange(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
