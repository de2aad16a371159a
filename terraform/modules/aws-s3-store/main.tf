# An S3 bucket laid out for one mintstore store under var.prefix (MINT-SPEC section 6):
#   PREFIX/mintstore.json, PREFIX/blobs/..., PREFIX/studies/..., PREFIX/changes/...,
#   PREFIX/index/..., PREFIX/jobs/...
# Only blobs/ (immutable, content-addressed) may move to a colder class; everything the
# server reads on every request (commit logs, index, jobs, locks) stays in STANDARD.

data "aws_partition" "current" {}

locals {
  name = coalesce(var.role_name, substr("mintstore-${var.bucket_name}", 0, 56))

  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
  # Every object of the store, and nothing else in the bucket.
  store_objects_arn = "${local.bucket_arn}/${var.prefix}/*"
  # ListObjectsV2 Prefix values the server may send: the root itself and anything below it.
  store_list_prefixes = ["${var.prefix}/", "${var.prefix}/*"]

  tags = merge({ "mintstore:store" = "s3://${var.bucket_name}/${var.prefix}" }, var.tags)
}

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_144:Cross-region replication needs a second bucket, region and role chosen by the operator; add it around this module.
  # checkov:skip=CKV2_AWS_62:The server does not consume S3 event notifications; the change log lives in the bucket itself.
  # checkov:skip=CKV_AWS_18:Access logging is optional (var.access_log_bucket); the logging resource is conditional, which checkov cannot see.
  bucket              = var.bucket_name
  force_destroy       = var.force_destroy
  object_lock_enabled = var.object_lock != null
  tags                = local.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    # Disables ACLs: the bucket owner owns every object, access is by policy only.
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    # An overwrite or delete keeps the previous version until the lifecycle expires it.
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # One data key per bucket instead of one KMS call per object: fewer KMS requests and cost.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  dynamic "rule" {
    for_each = var.archive_transition_days == null ? [] : [var.archive_transition_days]

    content {
      id     = "archive-blobs"
      status = "Enabled"

      filter {
        prefix = "${var.prefix}/blobs/"
      }

      transition {
        days          = rule.value
        storage_class = var.archive_storage_class
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = var.abort_incomplete_multipart_days
      }
    }
  }

  # Lifecycle rules act on versions, so versioning must exist first.
  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  count  = var.object_lock == null ? 0 : 1
  bucket = aws_s3_bucket.this.id

  rule {
    default_retention {
      mode = var.object_lock.mode
      days = var.object_lock.days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count  = var.access_log_bucket == null ? 0 : 1
  bucket = aws_s3_bucket.this.id

  target_bucket = var.access_log_bucket
  target_prefix = var.access_log_prefix
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # A bucket policy put before the public access block could be judged public.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# Exactly the S3 actions the mintstore S3 adapter (adapters/s3.py) calls, on the store
# prefix only. tests/terraform/test_s3_iam_policy.py derives the operations from the
# adapter's source and fails if this document misses one or grants anything more.
data "aws_iam_policy_document" "store" {
  statement {
    sid       = "ListStorePrefix"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.store_list_prefixes
    }
  }

  statement {
    sid    = "ReadWriteStoreObjects"
    effect = "Allow"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = [local.store_objects_arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid    = "UseStoreKeyThroughS3"
      effect = "Allow"
      # GenerateDataKey for writes (and multipart uploads), Decrypt for reads and for
      # completing multipart uploads.
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${aws_s3_bucket.this.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_policy" "store" {
  name        = "${local.name}-store"
  description = "mintstore server access to s3://${var.bucket_name}/${var.prefix}"
  policy      = data.aws_iam_policy_document.store.json
  tags        = local.tags
}

data "aws_iam_policy_document" "assume" {
  dynamic "statement" {
    for_each = length(var.role_trusted_services) == 0 ? [] : [var.role_trusted_services]

    content {
      sid     = "TrustedServices"
      effect  = "Allow"
      actions = ["sts:AssumeRole"]

      principals {
        type        = "Service"
        identifiers = statement.value
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.role_trusted_principal_arns) == 0 ? [] : [var.role_trusted_principal_arns]

    content {
      sid     = "TrustedPrincipals"
      effect  = "Allow"
      actions = ["sts:AssumeRole"]

      principals {
        type        = "AWS"
        identifiers = statement.value
      }
    }
  }
}

resource "aws_iam_role" "server" {
  count              = var.create_role ? 1 : 0
  name               = local.name
  description        = "Assumed by the mintstore server for s3://${var.bucket_name}/${var.prefix}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = local.tags

  lifecycle {
    precondition {
      condition     = length(var.role_trusted_services) + length(var.role_trusted_principal_arns) > 0
      error_message = "create_role needs at least one of role_trusted_services or role_trusted_principal_arns."
    }
  }
}

resource "aws_iam_role_policy_attachment" "server" {
  count      = var.create_role ? 1 : 0
  role       = aws_iam_role.server[0].name
  policy_arn = aws_iam_policy.store.arn
}
