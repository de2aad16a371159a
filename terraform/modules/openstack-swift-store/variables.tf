variable "container_name" {
  description = "Name of the Swift container holding the store; it appears in the store URL swift://CONTAINER/PREFIX."
  type        = string
  default     = "mintstore"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$", var.container_name))
    error_message = "container_name must be 1-255 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit."
  }
}

variable "prefix" {
  description = "Object name prefix (root) of the store inside the container, without leading or trailing '/'. Empty puts the store at the container root."
  type        = string
  default     = "mintstore"

  validation {
    condition     = var.prefix == "" || (can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.prefix)) && !can(regex("(^|/)\\.\\.?(/|$)", var.prefix)))
    error_message = "prefix must be empty or '/'-separated segments of A-Z a-z 0-9 _ . - (no leading/trailing '/', no empty, '.' or '..' segments)."
  }
}

variable "region" {
  description = "OpenStack region of the object store. null uses the provider's region."
  type        = string
  default     = null

  validation {
    condition     = var.region == null || can(regex("^[A-Za-z0-9_.-]+$", var.region))
    error_message = "region must be null or a region name of A-Z a-z 0-9 _ . -."
  }
}

variable "server_acl_principals" {
  description = "Swift ACL elements for the server's user, granted read (GET/HEAD/list) and write (PUT/POST/DELETE) on the container: PROJECT_ID:USER_ID with Keystone, ACCOUNT:USER with tempauth. Empty means only the container's owning project (its operators) has access."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.server_acl_principals : can(regex("^[^,:\\s*.][^,:\\s]*:[^,:\\s]+$", p)) && p != "*:*" && !endswith(p, ":*")])
    error_message = "server_acl_principals elements must name a user: PROJECT_ID:USER_ID (or ACCOUNT:USER); no referrer (.r:) entries, no ':*' wildcards, no commas."
  }
}

variable "object_versioning" {
  description = "Turn on Swift object versioning (X-Versions-Enabled; needs the object_versioning middleware, Swift 2.24+). Overwrites and deletes keep the previous version. Mutually exclusive with versions_container_name."
  type        = bool
  default     = false
}

variable "versions_container_name" {
  description = "Name of a second container receiving every overwritten or deleted object (legacy X-History-Location versioning, for clusters without object_versioning). null disables it. The server's user gets write access to it, as Swift's versioned_writes requires."
  type        = string
  default     = null

  validation {
    condition     = var.versions_container_name == null || can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$", var.versions_container_name))
    error_message = "versions_container_name must be null or 1-255 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit."
  }
}

variable "storage_policy" {
  description = "Swift storage policy of the container(s) (e.g. a replicated or erasure-coded policy of the cluster). null uses the cluster default. Cannot be changed after creation."
  type        = string
  default     = null

  validation {
    condition     = var.storage_policy == null || can(regex("^[A-Za-z0-9_-]+$", var.storage_policy))
    error_message = "storage_policy must be null or a policy name of A-Z a-z 0-9 _ -."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty containers. Keep false for an archive: it deletes every study."
  type        = bool
  default     = false
}
