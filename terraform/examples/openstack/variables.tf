variable "container_name" {
  description = "Name of the store's container."
  type        = string
  default     = "mintstore"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$", var.container_name))
    error_message = "container_name must be 1-201 characters of A-Z a-z 0-9 _ . -."
  }
}

variable "server_user_id" {
  description = "Keystone user ID of a dedicated server user (no role in the project) that gets read/write ACLs on the container. null: the server runs as you (your openrc), which needs no ACL."
  type        = string
  default     = null

  validation {
    condition     = var.server_user_id == null || can(regex("^[A-Za-z0-9_-]+$", var.server_user_id))
    error_message = "server_user_id must be null or a Keystone user ID."
  }
}

variable "keep_versions" {
  description = "Keep every overwritten or deleted object in a CONTAINER-versions container (legacy history versioning, works on every Swift)."
  type        = bool
  default     = true
}
