"""Orthanc 1.10 + its DICOMweb plugin as a third-party client of mintstore.

Run inside a private network namespace (Orthanc binds 0.0.0.0) by
``test_orthanc.py``: ``python -m tests.dicomweb.orthanc_scenario WORKDIR``.
Orthanc pushes a study to mintstore with STOW-RS and pulls others from it
with WADO-RS, both through the plugin's ``Servers`` configuration; each
instance is compared element by element with the file it came from. The
last line printed is a JSON report.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pydicom
from dicomweb_client.api import DICOMwebClient

from mintstore.testing.mint_server import ServerProcess, free_port
from mintstore.testing.orthanc import OrthancProcess

from .corpus import MULTI, prepare, same_elements

RETRIEVED = ("jpeg", "rle", "multiframe", "j2k")


def main(workdir: Path) -> dict[str, object]:
    corpus = prepare(workdir)
    store_dir = workdir / "mint-data"
    store_dir.mkdir()
    port = free_port()
    mint_root = f"http://127.0.0.1:{port}/dicom-web"
    options = ["--port", str(port), "--dicomweb-url", mint_root]
    report: dict[str, object] = {}
    with ServerProcess(store_dir.as_uri(), options=options, log_path=workdir / "mint.log"):
        config = {"DicomWeb": {"Servers": {"mint": [mint_root + "/"]}}}
        with OrthancProcess(config, log_path=workdir / "orthanc.log") as orthanc:
            # Orthanc -> mintstore (STOW-RS)
            study_ids = set()
            for name in MULTI:
                answer = orthanc.request("POST", "/instances", raw=corpus[name].path.read_bytes())
                study_ids.add(answer["ParentStudy"])
            stow = orthanc.request(
                "POST", "/dicom-web/servers/mint/stow", {"Resources": sorted(study_ids)}
            )
            report["stow_answer"] = stow
            client = DICOMwebClient(mint_root)
            pushed = client.retrieve_study(corpus["ct1"].study)
            by_sop = {corpus[n].sop: corpus[n] for n in MULTI}
            report["pushed"] = {
                ds.SOPInstanceUID: same_elements(by_sop[ds.SOPInstanceUID].dataset, ds)
                for ds in pushed
            }
            # mintstore -> Orthanc (WADO-RS, Orthanc as the client)
            client.store_instances([corpus[n].dataset for n in RETRIEVED])
            resources = [{"Study": corpus[n].study} for n in RETRIEVED]
            report["retrieve_answer"] = orthanc.request(
                "POST", "/dicom-web/servers/mint/retrieve", {"Resources": resources}
            )
            retrieved: dict[str, list[str]] = {}
            for name in RETRIEVED:
                found = orthanc.request(
                    "POST",
                    "/tools/find",
                    {"Level": "Instance", "Query": {"SOPInstanceUID": corpus[name].sop}},
                )
                for orthanc_id in found:
                    data = orthanc.request("GET", f"/instances/{orthanc_id}/file")
                    ds = pydicom.dcmread(io.BytesIO(data))
                    problems = same_elements(corpus[name].dataset, ds)
                    if (
                        ds.file_meta.TransferSyntaxUID
                        != corpus[name].dataset.file_meta.TransferSyntaxUID
                    ):
                        problems.append("transfer syntax changed")
                    retrieved[name] = problems
            report["retrieved"] = retrieved
    return report


if __name__ == "__main__":
    result = main(Path(sys.argv[1]))
    print(json.dumps(result, default=str))
