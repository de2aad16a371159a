"""The S3 module's IAM policy grants exactly what the S3 adapter calls, on the store only.

The operations are read from adapters/s3.py, which calls every S3 API as
``self._client.<operation>(``; each is mapped to its IAM action by the table
below. An operation missing from the table fails the test, so a new call in
the adapter forces a decision about its permission instead of an AccessDenied
in production.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .terraform_hcl import REPO, TERRAFORM_ROOT, load_dir, make_resolver, typed_blocks

ADAPTER = REPO / "adapters" / "s3.py"
MODULE = TERRAFORM_ROOT / "modules" / "aws-s3-store"

# boto3 client method -> IAM actions it needs. Methods that are not S3 requests map to
# an empty set. Keep this in step with the AWS "Actions, resources, and condition keys
# for Amazon S3" reference, not with what happens to be convenient.
OPERATION_ACTIONS: dict[str, frozenset[str]] = {
    "put_object": frozenset({"s3:PutObject"}),
    "create_multipart_upload": frozenset({"s3:PutObject"}),
    "upload_part": frozenset({"s3:PutObject"}),
    "complete_multipart_upload": frozenset({"s3:PutObject"}),
    "abort_multipart_upload": frozenset({"s3:AbortMultipartUpload"}),
    "list_parts": frozenset({"s3:ListMultipartUploadParts"}),
    "list_multipart_uploads": frozenset({"s3:ListBucketMultipartUploads"}),
    "get_object": frozenset({"s3:GetObject"}),
    "head_object": frozenset({"s3:GetObject"}),
    "delete_object": frozenset({"s3:DeleteObject"}),
    "delete_objects": frozenset({"s3:DeleteObject"}),
    "copy_object": frozenset({"s3:GetObject", "s3:PutObject"}),
    "list_objects_v2": frozenset({"s3:ListBucket"}),
    "list_objects": frozenset({"s3:ListBucket"}),
    "head_bucket": frozenset({"s3:ListBucket"}),
    "close": frozenset(),
}

# Actions whose resource is the bucket itself; all others act on objects.
BUCKET_ACTIONS = frozenset({"s3:ListBucket", "s3:ListBucketMultipartUploads"})

BUCKET = "test-dicom-archive"
PREFIX = "site-a/mint"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
KNOWN = {
    "var.bucket_name": BUCKET,
    "var.prefix": PREFIX,
    "data.aws_partition.current.partition": "aws",
}

_CLIENT_CALL = re.compile(r"self\._client\.([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def adapter_source() -> str:
    if not ADAPTER.exists():
        pytest.fail(f"{ADAPTER} is missing: the policy is checked against the S3 adapter")
    return ADAPTER.read_text(encoding="utf-8")


def adapter_operations(source: str) -> set[str]:
    return set(_CLIENT_CALL.findall(source))


def required_actions(operations: set[str]) -> set[str]:
    unknown = sorted(operations - set(OPERATION_ACTIONS))
    if unknown:
        pytest.fail(
            f"adapters/s3.py calls {unknown}, which OPERATION_ACTIONS does not map to IAM "
            "actions: add them to the table and to the policy in "
            "terraform/modules/aws-s3-store/main.tf"
        )
    return set().union(*(OPERATION_ACTIONS[op] for op in operations))


def policy_statements() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(static statements resolved to concrete values, dynamic statement templates)."""
    config = load_dir(MODULE)
    document = typed_blocks(config, "data")[("aws_iam_policy_document", "store")]
    resolve = make_resolver(config, KNOWN)
    static = [
        {
            "sid": s.get("sid"),
            "effect": s.get("effect", "Allow"),
            "actions": resolve(s["actions"]),
            "resources": resolve(s["resources"]),
            "conditions": [
                (c["test"], c["variable"], resolve(c["values"])) for c in s.get("condition", [])
            ],
            "other_keys": set(s) - {"sid", "effect", "actions", "resources", "condition"},
        }
        for s in document.get("statement", [])
    ]
    dynamic = [body for block in document.get("dynamic", []) for body in block.values()]
    return static, dynamic


def test_operation_regex_reads_calls() -> None:
    source = "x = self._client.put_object(\n  Bucket=b)\nself._client.get_object (Bucket=b)\n"
    assert adapter_operations(source) == {"put_object", "get_object"}


def test_unmapped_operation_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="restore_object"):
        required_actions({"get_object", "restore_object"})


def test_adapter_calls_s3_only_through_self_client() -> None:
    source = adapter_source()
    assert adapter_operations(source), "found no self._client.<operation>( calls"
    # Any other receiver would hide an operation from this test.
    for op, actions in OPERATION_ACTIONS.items():
        if not actions:  # not an S3 request (close): other objects have these methods too
            continue
        total = len(re.findall(rf"\.{op}\s*\(", source))
        via_client = len(re.findall(rf"self\._client\.{op}\s*\(", source))
        assert total == via_client, f"{op} is called on something other than self._client"
    assert "get_paginator" not in source, "paginators hide the operations they call"
    assert not re.search(r"getattr\(\s*self\._client", source), "dynamic client calls"


def test_policy_grants_exactly_the_adapters_actions() -> None:
    needed = required_actions(adapter_operations(adapter_source()))
    static, _ = policy_statements()
    granted = {a for s in static for a in s["actions"]}
    assert granted == needed, (
        f"missing: {sorted(needed - granted)}; not used by the adapter: {sorted(granted - needed)}"
    )


def test_policy_has_no_wildcards_and_only_allows() -> None:
    static, _ = policy_statements()
    for statement in static:
        assert statement["effect"] == "Allow"
        assert not statement["other_keys"], f"unexpected keys {statement['other_keys']}"
        for action in statement["actions"]:
            assert "*" not in action and "?" not in action, f"wildcard action {action}"
        for resource in statement["resources"]:
            assert resource not in ("*", "arn:aws:s3:::*"), f"wildcard resource {resource}"


def test_bucket_actions_are_limited_to_the_store_prefix() -> None:
    static, _ = policy_statements()
    for statement in static:
        bucket_level = set(statement["actions"]) & BUCKET_ACTIONS
        if not bucket_level:
            continue
        assert set(statement["actions"]) <= BUCKET_ACTIONS, "mixes bucket and object actions"
        assert statement["resources"] == [BUCKET_ARN]
        assert statement["conditions"] == [
            ("StringLike", "s3:prefix", [f"{PREFIX}/", f"{PREFIX}/*"])
        ], f"{statement['sid']} must be limited by s3:prefix to the store prefix"


def test_object_actions_are_limited_to_the_store_prefix() -> None:
    static, _ = policy_statements()
    object_statements = [s for s in static if not set(s["actions"]) & BUCKET_ACTIONS]
    assert object_statements
    for statement in object_statements:
        assert statement["resources"] == [f"{BUCKET_ARN}/{PREFIX}/*"], statement["resources"]


def test_optional_kms_statement_grants_only_key_use_through_s3() -> None:
    _, dynamic = policy_statements()
    assert len(dynamic) == 1
    (template,) = dynamic
    assert template["for_each"] == "${var.kms_key_arn == null ? [] : [var.kms_key_arn]}"
    (content,) = template["content"]
    assert sorted(content["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert content["resources"] == ["${statement.value}"]
    (condition,) = content["condition"]
    assert (condition["test"], condition["variable"]) == ("StringEquals", "kms:ViaService")
