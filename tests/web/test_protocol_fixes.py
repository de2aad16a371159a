"""Small protocol fixes seen with the MINT RI's clients: one Date header per response."""

from __future__ import annotations

from mintstore.client import MintClient
from mintstore.testing.mint_server import ServerProcess

from .data import RI_STUDY_UID, ri_dicom_files
from .raw_http import raw_header_lines


def test_one_date_header_per_response(server: ServerProcess, client: MintClient) -> None:
    client.push_files(ri_dicom_files())
    base = f"/studies/{RI_STUDY_UID}"
    paths = ["/types", f"{base}/DICOM/metadata.xml", f"{base}/DICOM/binaryitems/0", base]
    for path in paths:
        assert raw_header_lines(server.url, path, "date") == 1, path
