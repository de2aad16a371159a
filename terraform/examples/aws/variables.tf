variable "region" {
  description = "AWS region of the bucket, e.g. eu-central-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region code such as eu-central-1."
  }
}

variable "bucket_name" {
  description = "Globally unique name of the new bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 characters of a-z, 0-9, '.', '-')."
  }
}

variable "prefix" {
  description = "Root prefix of the store inside the bucket."
  type        = string
  default     = "mintstore"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.prefix))
    error_message = "prefix must be '/'-separated segments of A-Z a-z 0-9 _ . - without leading or trailing '/'."
  }
}

variable "trusted_principal_arns" {
  description = "Principals allowed to assume the server role. Empty trusts this AWS account (arn:aws:iam::ACCOUNT:root), i.e. any of its users or roles whose own IAM policy allows sts:AssumeRole on the role."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.trusted_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/.+|user/.+)$", a))])
    error_message = "trusted_principal_arns must contain IAM ARNs (…:root, …:role/NAME, …:user/NAME)."
  }
}

variable "run_on_ec2" {
  description = "Also let EC2 assume the role and create an instance profile, for a server running on an EC2 instance."
  type        = bool
  default     = false
}

variable "archive_transition_days" {
  description = "Move blobs/ to GLACIER_IR after this many days; null keeps everything in STANDARD."
  type        = number
  default     = null

  validation {
    condition     = var.archive_transition_days == null || try(var.archive_transition_days >= 30, false)
    error_message = "archive_transition_days must be null or at least 30."
  }
}
