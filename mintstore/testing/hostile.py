"""Hostile requests and what they cost a real server process (CPU seconds, peak RSS).

Shared by ``bench/hostile.py`` (prints the table) and ``tests/hostile``
(asserts the bounds). Each :class:`HostileCase` is one request built from
scratch; :func:`measure` sends it to a ``mintstore serve`` process and reads
that process's CPU time and memory high-water mark from ``/proc`` (the mark
is reset before each request through ``/proc/<pid>/clear_refs``, so the peak
is the request's own).
"""

from __future__ import annotations

import http.client
import io
import json
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    generate_uid,
)

Body = bytes | Callable[[], Iterable[bytes]]


@dataclass
class HostileCase:
    """One hostile request: what it is, how to send it, the statuses it may get."""

    name: str
    method: str
    path: str
    body: Body = b""
    headers: dict[str, str] | None = None
    length: int | None = None  # Content-Length of a streamed body
    expect: tuple[int, ...] = (400,)


@dataclass
class Cost:
    """What one request cost the server."""

    status: int
    cpu_seconds: float
    peak_extra_mib: float
    wall_seconds: float


# --- inputs ---------------------------------------------------------------------------


def part10_header(syntax: str = ExplicitVRLittleEndian, sop_uid: str | None = None) -> bytes:
    """Preamble, DICM and file meta information for a Secondary Capture instance."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    meta.MediaStorageSOPInstanceUID = UID(sop_uid or generate_uid())
    meta.TransferSyntaxUID = UID(syntax)
    meta.ImplementationClassUID = UID("1.2.826.0.1.3680043.8.498.1")
    out = DicomBytesIO()
    out.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(out, meta)
    return out.getvalue()


def deflate_bomb(inflated_mib: int = 64) -> bytes:
    """A deflated Part-10 whose data set inflates to ``inflated_mib`` MiB of zeros.

    Zeros read as eight million empty elements of tag (0000,0000): what cost
    29.6 s of CPU at 64 MiB (a 65 KB upload).
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = b"\x00" * 1024**2
    body = b"".join(compressor.compress(chunk) for _ in range(inflated_mib))
    return part10_header(DeflatedExplicitVRLittleEndian) + body + compressor.flush()


def element_bomb(mib: int = 16) -> bytes:
    """An uncompressed Part-10 of ``mib`` MiB of empty elements (2 million at 16 MiB)."""
    return part10_header() + b"\x00" * (mib * 1024**2)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (written by hand: a million add() calls are slow)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _gpb_attribute(tag: int) -> bytes:
    return b"\x08" + _varint(tag) + b"\x1a\x02US"  # tag = 1 (varint), vr = 3


def gpb_many_attributes(count: int = 1_000_000, *, spread: bool = False) -> bytes:
    """A GPB study with ``count`` empty US attributes: in one set, or 100 per instance.

    Field numbers as mint.proto: StudyData.attributes 2, series 3; SeriesData
    uid 1, instances 5; InstanceData uid 1, attributes 4.
    """
    study = _field(1, generate_uid().encode()) + _field(4, b"DICOM")
    if not spread:
        return study + b"".join(_field(2, _gpb_attribute(tag)) for tag in range(count))
    attributes = b"".join(_field(4, _gpb_attribute(0x00100000 + tag)) for tag in range(100))
    instances = b"".join(
        _field(5, _field(1, f"1.2.3.{index}".encode()) + attributes)
        for index in range(count // 100)
    )
    return study + _field(3, _field(1, generate_uid().encode()) + instances)


def json_many_attributes(count: int = 1_000_000) -> bytes:
    attributes = ",".join(f'"{0x00100000 + tag:08X}":{{"vr":"US"}}' for tag in range(count))
    return f'{{"studyInstanceUID":"{generate_uid()}","attributes":{{{attributes}}}}}'.encode()


def json_many_values(count: int = 2_000_001) -> bytes:
    """One DS attribute with ``count`` values: 4 MiB of JSON, 200 bytes per value to parse."""
    values = ",".join("1" for _ in range(count))
    return (
        f'{{"studyInstanceUID":"{generate_uid()}",'
        f'"attributes":{{"30060050":{{"vr":"DS","Value":[{values}]}}}}}}'
    ).encode()


def xml_many_attributes(count: int = 1_000_000) -> bytes:
    head = (
        f'<?xml version="1.0"?><study xmlns="http://medical.nema.org/mint" '
        f'studyInstanceUID="{generate_uid()}" type="DICOM"><attributes>'
    )
    attrs = "".join(f'<attr tag="{0x00100000 + tag:08x}" vr="US"/>' for tag in range(count))
    return (head + attrs + "</attributes><seriesList/></study>").encode()


def multipart(parts: Iterable[tuple[dict[str, str], bytes]], boundary: str) -> Iterator[bytes]:
    for headers, content in parts:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        yield f"--{boundary}\r\n{lines}\r\n".encode() + content + b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def many_binary_parts(count: int = 300, size: int = 1_000_000) -> tuple[bytes, str]:
    """A MINT upload: one JSON metadata part naming ``count`` binary items of ``size`` bytes."""
    study_uid, series_uid = generate_uid(), generate_uid()
    instances = [
        {
            "sopInstanceUID": generate_uid(),
            "transferSyntaxUID": "1.2.840.10008.1.2.1",
            "attributes": {
                "7FE00010": {
                    "vr": "OB",
                    "BulkDataURI": f"binaryitems/{bid}",
                    "MINT": {"bsize": size},
                }
            },
        }
        for bid in range(count)
    ]
    metadata = json.dumps(
        {
            "studyInstanceUID": study_uid,
            "seriesList": [{"seriesInstanceUID": series_uid, "instances": instances}],
        }
    ).encode()
    boundary = "hostile-parts"
    content = os.urandom(size)
    parts = [({"Content-Disposition": 'form-data; name="metadata"; filename="m.json"'}, metadata)]
    parts += [
        ({"Content-Disposition": f'form-data; name="binary{bid}"; filename="binary{bid}"'}, content)
        for bid in range(count)
    ]
    return b"".join(multipart(parts, boundary)), boundary


def large_part10(path: Path, mib: int) -> Path:
    """An explicit-VR Part-10 with ``mib`` MiB of OW pixel data, written to ``path``."""
    side = int((mib * 1024**2 // 2) ** 0.5) // 2 * 2
    sop = generate_uid()
    elements = []

    def element(tag: int, vr: bytes, value: bytes) -> None:
        if len(value) % 2:
            value += b"\x00" if vr == b"UI" else b" "
        elements.append(struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value)

    element(0x00080016, b"UI", b"1.2.840.10008.5.1.4.1.1.7")
    element(0x00080018, b"UI", sop.encode())
    element(0x0020000D, b"UI", generate_uid().encode())
    element(0x0020000E, b"UI", generate_uid().encode())
    element(0x00280002, b"US", struct.pack("<H", 1))
    element(0x00280004, b"CS", b"MONOCHROME2")
    element(0x00280010, b"US", struct.pack("<H", side))
    element(0x00280011, b"US", struct.pack("<H", side))
    element(0x00280100, b"US", struct.pack("<H", 16))
    element(0x00280101, b"US", struct.pack("<H", 16))
    element(0x00280102, b"US", struct.pack("<H", 15))
    element(0x00280103, b"US", struct.pack("<H", 0))
    size = side * side * 2
    with open(path, "wb") as out:
        out.write(part10_header(sop_uid=sop))
        out.write(b"".join(elements))
        out.write(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, size))
        block = os.urandom(1024**2)
        remaining = size
        while remaining:
            out.write(block[: min(remaining, len(block))])
            remaining -= min(remaining, len(block))
    return path


def file_body(path: Path) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        with open(path, "rb") as handle:
            while chunk := handle.read(1024**2):
                yield chunk

    return chunks


#: The red team's integer probes (issue 14, item 6), with {study} to fill in.
INTEGER_PROBES = [
    ("GET", "/studies?limit=%C2%B2"),
    ("GET", "/studies?offset=" + "9" * 5000),
    ("GET", "/changelog?limit=" + "9" * 5000),
    ("GET", "/studies/{study}/DICOM/metadata?version=%C2%B2"),
    ("GET", "/studies/{study}/changelog/%C2%B2"),
    ("GET", "/studies/{study}/DICOM/binaryitems/%C2%B2"),
    ("GET", "/studies/{study}/DICOM/binaryitems/" + "9" * 5000),
    ("POST", "/studies/{study}?lock=%C2%B2.0"),
    ("POST", "/studies/{study}?oldVersion=%C2%B2"),
    ("POST", "/studies/{study}?oldVersion=" + "9" * 5000),
    ("DELETE", "/studies/{study}/lock?token=%C2%B2.00000000000000000000000000000000"),
]


def delta_document(study: str) -> bytes:
    """An empty, valid XML update delta for ``study``."""
    return (
        f'<?xml version="1.0"?><study xmlns="http://medical.nema.org/mint" '
        f'studyInstanceUID="{study}" type="DICOM"><attributes/><seriesList/></study>'
    ).encode()


def _json_instance(series_uid: str, attributes: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "studyInstanceUID": generate_uid(),
            "seriesList": [
                {
                    "seriesInstanceUID": series_uid,
                    "instances": [{"sopInstanceUID": generate_uid(), "attributes": attributes}],
                }
            ],
        }
    ).encode()


def unreadable_cases(study: str) -> list[HostileCase]:
    """Uploads that used to be stored and then could not be read back (issue 14, item 5)."""
    us = _json_instance(generate_uid(), {"00280010": {"vr": "US", "Value": [0]}})
    us = us.replace(b"[0]", b"[" + b"9" * 100_000 + b"]")
    is_ = _json_instance(generate_uid(), {"00200013": {"vr": "IS", "Value": ["9" * 100_000]}})
    json_type = {"Content-Type": "application/json"}
    return [
        HostileCase("JSON metadata, US of 100k digits", "POST", "/studies/create", us, json_type),
        HostileCase("JSON metadata, IS of 100k digits", "POST", "/studies/create", is_, json_type),
        HostileCase(
            "JSON metadata, series UID ../../x",
            "POST",
            "/studies/create",
            _json_instance("../../x", {}),
            json_type,
        ),
        HostileCase(
            'If-Match: "²"',
            "POST",
            f"/studies/{study}",
            delta_document(study),
            {"Content-Type": "application/xml", "If-Match": '"\xb2"'},
        ),
        HostileCase(
            "jobs/updatestudy oldVersion=9x5000",
            "POST",
            "/jobs/updatestudy",
            b"".join(
                multipart(
                    [
                        ({"Content-Disposition": 'form-data; name="studyUUID"'}, study.encode()),
                        ({"Content-Disposition": 'form-data; name="oldVersion"'}, b"9" * 5000),
                    ],
                    "jobs-form",
                )
            ),
            {"Content-Type": "multipart/form-data; boundary=jobs-form"},
            expect=(303, 400),
        ),
    ]


def cases(*, scale: float = 1.0, workdir: Path, study: str) -> list[HostileCase]:
    """Every hostile input of issue 14 (``scale`` < 1 makes the big ones smaller for tests)."""
    million = int(1_000_000 * scale)
    found: list[HostileCase] = [
        HostileCase(
            "deflated Part-10, 64 MiB inflated",
            "POST",
            "/studies/create",
            deflate_bomb(max(1, int(64 * scale))),
            {"Content-Type": "application/dicom"},
        ),
        HostileCase(
            "Part-10 of 16 MiB of empty elements",
            "POST",
            "/studies/create",
            element_bomb(max(1, int(16 * scale))),
            {"Content-Type": "application/dicom"},
        ),
        HostileCase(
            f"GPB, {million} attributes in one set",
            "POST",
            "/studies/create",
            gpb_many_attributes(million),
            {"Content-Type": "application/x-protobuf"},
        ),
        HostileCase(
            f"GPB, {million} attributes, 100 per instance",
            "POST",
            "/studies/create",
            gpb_many_attributes(million, spread=True),
            {"Content-Type": "application/x-protobuf"},
        ),
        HostileCase(
            f"JSON, {million} attributes",
            "POST",
            "/studies/create",
            json_many_attributes(million),
            {"Content-Type": "application/json"},
        ),
        HostileCase(
            f"JSON, one DS of {2 * million + 1} values",
            "POST",
            "/studies/create",
            json_many_values(2 * million + 1),
            {"Content-Type": "application/json"},
        ),
        HostileCase(
            f"XML, {million} attributes",
            "POST",
            "/studies/create",
            xml_many_attributes(million),
            {"Content-Type": "application/xml"},
        ),
    ]
    count = max(10, int(300 * scale))
    body, boundary = many_binary_parts(count)
    found.append(
        HostileCase(
            f"{count} binary parts of 1 MB (valid: 201)",
            "POST",
            "/studies/create",
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
            expect=(201,),
        )
    )
    mib = max(8, int(300 * scale))
    path = large_part10(workdir / "large.dcm", mib)
    found.append(
        HostileCase(
            f"one application/dicom body of {mib} MiB (valid: 201)",
            "POST",
            "/studies/create",
            file_body(path),
            {"Content-Type": "application/dicom"},
            length=path.stat().st_size,
            expect=(201,),
        )
    )
    for method, template in INTEGER_PROBES:
        found.append(
            HostileCase(
                f"{method} {template[:60]}",
                method,
                template.replace("{study}", study),
                delta_document(study) if method == "POST" else b"",
                {"Content-Type": "application/xml"} if method == "POST" else None,
            )
        )
    return found + unreadable_cases(study)


# --- measuring ------------------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _proc_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server may hand requests to worker processes)."""
    found = [pid]
    for member in found:
        for task in Path(f"/proc/{member}/task").glob("*/children"):
            try:
                found += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


def measure(url: str, pid: int, case: HostileCase, timeout: float = 300.0) -> Cost:
    """Send ``case`` to the server at ``url`` (process ``pid``) and read what it cost.

    CPU is summed over the server's process tree; the memory figure is the
    largest growth of any one process's high-water mark over its RSS before.
    """
    processes = _process_tree(pid)
    rss_before = {}
    cpu_before = 0.0
    for member in processes:
        Path(f"/proc/{member}/clear_refs").write_text("5")  # reset the RSS high-water mark
        rss_before[member] = _proc_kib(member, "VmRSS")
        cpu_before += _proc_cpu(member)
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = dict(case.headers or {})
    started = time.monotonic()
    try:
        if callable(case.body):
            headers["Content-Length"] = str(case.length)
            connection.putrequest(case.method, parts.path + case.path)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            for chunk in case.body():
                connection.send(chunk)
        else:
            connection.request(case.method, parts.path + case.path, body=case.body, headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    finally:
        connection.close()
    wall = time.monotonic() - started
    time.sleep(0.05)  # let the handler thread finish its cleanup
    cpu_after = 0.0
    peak_extra = 0
    for member in processes:
        try:
            cpu_after += _proc_cpu(member)
            peak_extra = max(peak_extra, _proc_kib(member, "VmHWM") - rss_before[member])
        except OSError:  # a worker that exited (it cannot be measured any more)
            continue
    return Cost(
        status=status,
        cpu_seconds=cpu_after - cpu_before,
        peak_extra_mib=peak_extra / 1024,
        wall_seconds=wall,
    )


def seed_study(url: str, workdir: Path) -> str:
    """Store one small valid study (for the probes) and return its UID."""
    from mintstore.synthetic import write_ct_series

    series = write_ct_series(workdir / "seed", 1, rows=8, columns=8, seed=3)
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(
            "POST",
            parts.path + "/studies/create",
            body=io.BytesIO(Path(series.paths[0]).read_bytes()).getvalue(),
            headers={"Content-Type": "application/dicom"},
        )
        response = connection.getresponse()
        response.read()
        assert response.status == 201, response.status
    finally:
        connection.close()
    return series.study_instance_uid
