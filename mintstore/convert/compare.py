"""Element-by-element comparison of two datasets (the round-trip requirement).

Used by the tests, the round-trip report and anyone verifying a rebuilt
instance. It compares what pydicom decodes: tags, VRs, values, sequences
item by item, private tags, pixel bytes, and the file meta group (whose group
length is excluded: it is recomputed on writing).
"""

from __future__ import annotations

from pydicom.dataset import Dataset


def dataset_differences(original: Dataset, rebuilt: Dataset, limit: int = 20) -> list[str]:
    """Human-readable differences (empty when the datasets are equal)."""
    found: list[str] = []
    _compare(original, rebuilt, "", found, limit)
    meta_a = getattr(original, "file_meta", None) or Dataset()
    meta_b = getattr(rebuilt, "file_meta", None) or Dataset()
    _compare(meta_a, meta_b, "meta:", found, limit, skip_group_length=True)
    return found[:limit]


def _compare(
    a: Dataset,
    b: Dataset,
    path: str,
    found: list[str],
    limit: int,
    skip_group_length: bool = False,
) -> None:
    tags_a = {t for t in a._dict if not (skip_group_length and t & 0xFFFF == 0)}
    tags_b = {t for t in b._dict if not (skip_group_length and t & 0xFFFF == 0)}
    for tag in sorted(tags_a ^ tags_b):
        side = "rebuilt lacks" if tag in tags_a else "rebuilt adds"
        found.append(f"{path}{tag:08x}: {side} the element")
    for tag in sorted(tags_a & tags_b):
        if len(found) >= limit:
            return
        elem_a, elem_b = a[tag], b[tag]
        where = f"{path}{tag:08x}"
        if elem_a.VR != elem_b.VR:
            found.append(f"{where}: VR {elem_a.VR} != {elem_b.VR}")
            continue
        if elem_a.VR == "SQ":
            items_a, items_b = list(elem_a.value), list(elem_b.value)
            if len(items_a) != len(items_b):
                found.append(f"{where}: {len(items_a)} items != {len(items_b)}")
                continue
            for index, (item_a, item_b) in enumerate(zip(items_a, items_b, strict=True)):
                _compare(item_a, item_b, f"{where}[{index}].", found, limit)
        elif elem_a.value != elem_b.value:
            found.append(f"{where}: {_short(elem_a.value)} != {_short(elem_b.value)}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."
