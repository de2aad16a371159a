"""Hand-built studies that use every value form the model has."""

from __future__ import annotations

import struct

from mintstore.model import Attribute, Encapsulation, Instance, Item, Series, Study

STUDY_UID = "1.2.826.0.1.3680043.8.498.1"
SERIES_A = "1.2.826.0.1.3680043.8.498.2"
SERIES_B = "1.2.826.0.1.3680043.8.498.10"
SOP_1 = "1.2.826.0.1.3680043.8.498.3.1"
SOP_2 = "1.2.826.0.1.3680043.8.498.3.2"
SOP_3 = "1.2.826.0.1.3680043.8.498.3.10"


def attrs(*attributes: Attribute) -> dict[int, Attribute]:
    return {attribute.tag: attribute for attribute in attributes}


def nested_sequence(depth: int) -> Attribute:
    """A sequence ``depth`` levels deep, each level with a value and a bid."""
    inner: list[Item] = [Item(attrs(Attribute(0x00081150, "UI", val="1.2.840.10008.5.1.4.1.1.2")))]
    for level in range(depth):
        inner = [
            Item(
                attrs(
                    Attribute(0x0040A010, "CS", val=f"LEVEL{level}"),
                    Attribute(0x00081199, "SQ", items=inner),
                    Attribute(0x00091010, "OB", bid=40 + level, bsize=1000),
                )
            ),
            Item({}, undefined_length=True),
        ]
    return Attribute(0x00081199, "SQ", items=inner, undefined_length=True)


def rich_study() -> Study:
    """One study exercising val, data, bid/bsize/framecount, encapsulation, items."""
    double = struct.pack("<2d", 0.1, -1e300)
    study_attributes = attrs(
        Attribute(0x00080020, "DA", val="20020711"),
        Attribute(0x00080090, "PN"),  # empty value
        Attribute(0x00100010, "PN", val="Yamada^Tarou=山田^太郎=やまだ^たろう"),
        Attribute(0x00100020, "LO", val="ID\\WITH\\\\EMPTY"),
        Attribute(0x00104000, "LT", val='multi\nline\r\n\ttext with \\ < & " >'),
        Attribute(0x0020000D, "UI", val=STUDY_UID),
        Attribute(0x00081032, "SQ", items=[]),  # empty sequence
        Attribute(0x00091001, "UN", data=b""),  # empty inline binary
        Attribute(0x00091002, "LO", val="control \x00 and ESC \x1b chars"),
    )
    series_a = Series(
        series_instance_uid=SERIES_A,
        attributes=attrs(
            Attribute(0x00080060, "CS", val="CT"),
            Attribute(0x0020000E, "UI", val=SERIES_A),
            Attribute(0x00200011, "IS", val="52"),
        ),
        normalized_attributes=attrs(
            Attribute(0x00180050, "DS", val="1.0"),
            Attribute(0x00181120, "DS", val="+0.0"),
            Attribute(0x00200037, "DS", val=" 1.000\\0\\0.0\\-0\\1E5\\0.0 "),
            Attribute(0x00280010, "US", val="512"),
            Attribute(0x00280106, "SS", val="-2000"),
            Attribute(0x00209165, "AT", val="00100010\\00100020"),
        ),
        instances={
            SOP_1: Instance(
                sop_instance_uid=SOP_1,
                transfer_syntax_uid="1.2.840.10008.1.2.1",
                preamble=b"II*\x00" + bytes(124),  # a TIFF header, as some files carry
                attributes=attrs(
                    Attribute(0x00080018, "UI", val=SOP_1),
                    Attribute(0x00189089, "FD", val="0.1\\-1e+300", data=double),
                    Attribute(0x00189087, "FL", data=b"\x00\x00\x80\x7f"),  # raw only
                    Attribute(0x00291010, "OB", data=bytes(range(256))[:200]),
                    Attribute(0x00291020, "OW", bid=7, bsize=4096),
                    Attribute(0x7FE00010, "OW", bid=0, bsize=524288),
                    Attribute(0xFFFFFFFF, "UN", data=b"\xff"),
                    nested_sequence(4),
                ),
            ),
            SOP_2: Instance(
                sop_instance_uid=SOP_2,
                transfer_syntax_uid="1.2.840.10008.1.2.4.50",
                attributes=attrs(
                    Attribute(0x00080018, "UI", val=SOP_2),
                    Attribute(
                        0x7FE00010,
                        "OB",
                        bid=1,
                        bsize=30000,
                        framecount=3,
                        encapsulation=Encapsulation(
                            offset_table=struct.pack("<3I", 0, 10008, 20016),
                            frame_fragments=[[10000], [4000, 6000], [9000, 1000]],
                        ),
                    ),
                ),
            ),
        },
    )
    series_b = Series(
        series_instance_uid=SERIES_B,
        attributes=attrs(Attribute(0x0020000E, "UI", val=SERIES_B)),
        instances={
            SOP_3: Instance(
                sop_instance_uid=SOP_3,
                attributes=attrs(
                    Attribute(
                        0x7FE00010,
                        "OB",
                        bid=4,
                        bsize=77,
                        encapsulation=Encapsulation(frame_fragments=[[77]]),
                    )
                ),
            ),
        },
    )
    return Study(
        study_instance_uid=STUDY_UID,
        version=12,
        attributes=study_attributes,
        series={SERIES_A: series_a, SERIES_B: series_b},
    )


def delta_study() -> Study:
    """An update delta: exclude markers at every level, plus a changed value."""
    return Study(
        study_instance_uid=STUDY_UID,
        attributes=attrs(
            Attribute(0x00100010, "PN", val="NEW^NAME"),
            Attribute(0x00101010, "AS", val="073Y", exclude=True),
        ),
        series={
            SERIES_A: Series(
                series_instance_uid=SERIES_A,
                attributes=attrs(Attribute(0x00400253, "SH", exclude=True)),
                normalized_attributes=attrs(Attribute(0x00080008, "CS", exclude=True)),
                instances={
                    SOP_1: Instance(sop_instance_uid=SOP_1, exclude=True),
                    SOP_2: Instance(
                        sop_instance_uid=SOP_2,
                        attributes=attrs(Attribute(0x00200013, "IS", val="27", exclude=True)),
                    ),
                },
            ),
            SERIES_B: Series(series_instance_uid=SERIES_B, exclude=True),
        },
    )
