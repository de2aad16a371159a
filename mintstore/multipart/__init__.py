"""The multipart wire format, for the server and the client alike (no Flask, no werkzeug).

``reader`` parses bodies (streamed and spooled, or by Content-Length the
way the RI's MINT2DICOM reads); ``writer`` produces them (the RI's LF
layout, RFC 2046 ``multipart/related``, ``multipart/form-data``) as
generators with their exact length known up front.
"""

from .reader import (
    SPOOL_IN_MEMORY,
    Headers,
    Part,
    boundary_of,
    iter_counted_parts,
    iter_parts,
    parse_options_header,
)
from .writer import (
    OutPart,
    ReadStream,
    form_content_type,
    form_part,
    iter_multipart,
    multipart_length,
    new_boundary,
    related_content_type,
    ri_content_type,
)

__all__ = [
    "SPOOL_IN_MEMORY",
    "Headers",
    "OutPart",
    "Part",
    "ReadStream",
    "boundary_of",
    "form_content_type",
    "form_part",
    "iter_counted_parts",
    "iter_multipart",
    "iter_parts",
    "multipart_length",
    "new_boundary",
    "parse_options_header",
    "related_content_type",
    "ri_content_type",
]
