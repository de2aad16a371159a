"""PS3.4 C.2.2.2 matching on MINT text values (pure, no server)."""

from __future__ import annotations

import pytest

from mintstore.web.dicomweb.matching import Condition


@pytest.mark.parametrize(
    ("vr", "query", "stored", "expected"),
    [
        ("LO", "", None, True),  # a return key only
        ("PN", "*", None, True),  # * alone is universal matching, empty values included
        ("LO", "PID-1", "PID-1", True),
        ("LO", "PID-1", "PID-10", False),
        ("LO", "PID-?", "PID-1", True),
        ("LO", "PID*", "pid-1", False),  # case-sensitive outside PN
        ("PN", "doe^j*", "DOE^JOHN", True),
        ("PN", "DOE^JOHN", "DOE^JOHN^^", True),  # trailing empty components
        ("PN", "YAMADA*", "Yamada^Tarou=山田^太郎=やまだ^たろう", True),
        ("PN", "山田*", "Yamada^Tarou=山田^太郎=やまだ^たろう", True),  # another group
        ("UI", "1.2,1.3", "1.3", True),
        ("UI", "1.2\\1.4", "1.3", False),
        ("DA", "20200101-20201231", "20200615", True),
        ("DA", "20200101-20201231", "20210101", False),
        ("DA", "-20200101", "19991231", True),
        ("DA", "20200101-", "20191231", False),
        ("TM", "0800-1200", "115959.123", True),
        # an upper bound covers its whole precision: 12:00 includes 12:00:01
        ("TM", "0800-1200", "120001", True),
        ("TM", "0800-1200", "120100", False),
        ("DT", "20200101120000-20200101130000", "20200101123000", True),
        ("IS", "2", "2", True),
        ("DS", "1.50", "1.5", True),
        ("CS", "CT", "MR\\CT", True),  # any of a multi-valued attribute
        ("CS", "MR\\US", "CT", False),
    ],
)
def test_matching(vr: str, query: str, stored: str | None, expected: bool) -> None:
    assert Condition(0x00100010, vr, query).matches(stored) is expected


def test_fuzzy_person_names() -> None:
    fuzzy = Condition(0x00100010, "PN", "joh", fuzzy=True)
    assert fuzzy.matches("DOE^JOHN")
    assert not Condition(0x00100010, "PN", "joh").matches("DOE^JOHN")
    assert not fuzzy.matches("SMITH^JANE")
