variable "bucket_name" {
  description = "Name of the S3 bucket that holds the store. Globally unique; it appears in the store URL s3://BUCKET/PREFIX."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.|^\\d+\\.\\d+\\.\\d+\\.\\d+$|^xn--|-s3alias$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit, not an IP address."
  }
}

variable "prefix" {
  description = "Key prefix (root) of the store inside the bucket, without leading or trailing '/'. The IAM policy grants access to this prefix only, so it may not be empty."
  type        = string
  default     = "mintstore"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.prefix)) && !can(regex("(^|/)\\.\\.?(/|$)", var.prefix))
    error_message = "prefix must be one or more '/'-separated segments of A-Z a-z 0-9 _ . - (no leading/trailing '/', no empty, '.' or '..' segments)."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key for default SSE-KMS encryption. null uses the AWS-managed key aws/s3. With a customer key the IAM policy also grants kms:GenerateDataKey and kms:Decrypt on that key, through S3 only."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID); aliases are not accepted because IAM policies need the key ARN."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted (noncurrent) object versions are removed for good. This is the window in which an accidental overwrite or delete can still be undone."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days == floor(var.noncurrent_version_expiration_days)
    error_message = "noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which multipart uploads that were never completed (a crashed server) are aborted, so their parts stop costing storage."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1 && var.abort_incomplete_multipart_days == floor(var.abort_incomplete_multipart_days)
    error_message = "abort_incomplete_multipart_days must be a whole number of days, at least 1."
  }
}

variable "archive_transition_days" {
  description = "Move objects under PREFIX/blobs/ to archive_storage_class this many days after they are written. null disables the transition. Metadata, commit logs, index and job objects are never transitioned."
  type        = number
  default     = null

  validation {
    condition     = var.archive_transition_days == null || try(var.archive_transition_days >= 30 && var.archive_transition_days == floor(var.archive_transition_days), false)
    error_message = "archive_transition_days must be null or a whole number of days, at least 30 (S3's minimum before STANDARD_IA/ONEZONE_IA)."
  }
}

variable "archive_storage_class" {
  description = "Storage class for the blobs/ transition. Only classes that are read instantly are allowed: the server reads blobs with GetObject and cannot wait for a restore from GLACIER or DEEP_ARCHIVE."
  type        = string
  default     = "GLACIER_IR"

  validation {
    condition     = contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"], var.archive_storage_class)
    error_message = "archive_storage_class must be one of STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR (GLACIER and DEEP_ARCHIVE need a restore before every read)."
  }
}

variable "object_lock" {
  description = "Optional S3 Object Lock (WORM) default retention for every new object version. null disables it. Object Lock can only be switched on when the bucket is created. mode is GOVERNANCE or COMPLIANCE (COMPLIANCE cannot be shortened by anyone, including the account root)."
  type = object({
    mode = string
    days = number
  })
  default = null

  validation {
    condition     = var.object_lock == null || try(contains(["GOVERNANCE", "COMPLIANCE"], var.object_lock.mode), false)
    error_message = "object_lock.mode must be GOVERNANCE or COMPLIANCE."
  }

  validation {
    condition     = var.object_lock == null || try(var.object_lock.days >= 1 && var.object_lock.days == floor(var.object_lock.days), false)
    error_message = "object_lock.days must be a whole number of days, at least 1."
  }
}

variable "access_log_bucket" {
  description = "Name of an existing bucket that receives S3 server access logs for this bucket. null disables access logging. The target bucket must allow the S3 logging service to write (bucket policy for logging.s3.amazonaws.com)."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket))
    error_message = "access_log_bucket must be null or a valid S3 bucket name."
  }
}

variable "access_log_prefix" {
  description = "Key prefix for the access log objects in access_log_bucket."
  type        = string
  default     = "s3-access-logs/"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./-]*$", var.access_log_prefix))
    error_message = "access_log_prefix may contain only A-Z a-z 0-9 _ . / -."
  }
}

variable "create_role" {
  description = "Create an IAM role with the store policy attached, for the server to assume (EC2 instance profile, ECS task, or another principal)."
  type        = bool
  default     = false
}

variable "role_name" {
  description = "Name of the IAM role (when create_role) and prefix of the IAM policy name. null derives it from bucket_name."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,56}$", var.role_name))
    error_message = "role_name must be null or 1-56 characters of A-Z a-z 0-9 + = , . @ _ -."
  }
}

variable "role_trusted_services" {
  description = "AWS service principals allowed to assume the role, e.g. [\"ec2.amazonaws.com\"] or [\"ecs-tasks.amazonaws.com\"]."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.role_trusted_services : can(regex("^[a-z0-9.-]+\\.amazonaws\\.com(\\.cn)?$", s))])
    error_message = "role_trusted_services must contain service principals such as ec2.amazonaws.com."
  }
}

variable "role_trusted_principal_arns" {
  description = "IAM principal ARNs (accounts, roles or users) allowed to assume the role. No wildcards."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.role_trusted_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/.+|user/.+)$", a)) && !strcontains(a, "*")])
    error_message = "role_trusted_principal_arns must contain IAM ARNs (arn:aws:iam::ACCOUNT:root, :role/NAME or :user/NAME) without wildcards."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a non-empty bucket. Keep false for an archive: it deletes every study."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource the module creates."
  type        = map(string)
  default     = {}
}
