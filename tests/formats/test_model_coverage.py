"""Guard: every field of the study model is carried by the wire formats.

If the model gains a field, the formats must learn it (or the stored metadata
silently loses it). This test lists what the formats carry; a new model field
fails it until the codecs, the strategies and this list are updated together.
"""

from __future__ import annotations

import dataclasses

import pytest

from mintstore import model

CARRIED = {
    model.Study: {"study_instance_uid", "type", "version", "attributes", "series"},
    model.Series: {
        "series_instance_uid",
        "attributes",
        "normalized_attributes",
        "instances",
        "exclude",
    },
    model.Instance: {
        "sop_instance_uid",
        "transfer_syntax_uid",
        "attributes",
        "exclude",
        "preamble",
    },
    model.Attribute: {
        "tag",
        "vr",
        "val",
        "data",
        "bid",
        "bsize",
        "framecount",
        "items",
        "encapsulation",
        "exclude",
        "undefined_length",
    },
    model.Item: {"attributes", "undefined_length"},
    model.Encapsulation: {"offset_table", "frame_fragments"},
}


@pytest.mark.parametrize("cls", list(CARRIED), ids=lambda cls: cls.__name__)
def test_every_model_field_is_carried(cls: type) -> None:
    fields = {field.name for field in dataclasses.fields(cls)}
    assert fields == CARRIED[cls], "teach mintstore.formats the new model fields"
