variable "resource_group_name" {
  description = "Existing resource group the storage account is created in."
  type        = string

  validation {
    condition     = can(regex("^[-\\w._()]{1,90}$", var.resource_group_name)) && !endswith(var.resource_group_name, ".")
    error_message = "resource_group_name must be 1-90 characters of letters, digits, '-', '_', '.', '(' and ')', not ending in '.'."
  }
}

variable "location" {
  description = "Azure region of the storage account, e.g. westeurope."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+$", replace(lower(var.location), " ", "")))
    error_message = "location must be an Azure region name such as westeurope or \"West Europe\"."
  }
}

variable "storage_account_name" {
  description = "Name of the storage account (globally unique, 3-24 lowercase letters and digits). It forms the account URL https://NAME.blob.core.windows.net/."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.storage_account_name))
    error_message = "storage_account_name must be 3-24 lowercase letters and digits."
  }
}

variable "container_name" {
  description = "Name of the private blob container holding the store; it appears in the store URL azure://CONTAINER/PREFIX."
  type        = string
  default     = "mintstore"

  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9])*$", var.container_name)) && length(var.container_name) >= 3 && length(var.container_name) <= 63
    error_message = "container_name must be 3-63 characters of lowercase letters, digits and single '-', starting and ending with a letter or digit."
  }
}

variable "prefix" {
  description = "Blob name prefix (root) of the store inside the container, without leading or trailing '/'. Empty puts the store at the container root."
  type        = string
  default     = "mintstore"

  validation {
    condition     = var.prefix == "" || (can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.prefix)) && !can(regex("(^|/)\\.\\.?(/|$)", var.prefix)))
    error_message = "prefix must be empty or '/'-separated segments of A-Z a-z 0-9 _ . - (no leading/trailing '/', no empty, '.' or '..' segments)."
  }
}

variable "replication_type" {
  description = "Account replication. Geo-redundant by default: an archive should survive the loss of a region."
  type        = string
  default     = "GZRS"

  validation {
    condition     = contains(["GRS", "RAGRS", "GZRS", "RAGZRS"], var.replication_type)
    error_message = "replication_type must be one of the geo-redundant kinds GRS, RAGRS, GZRS, RAGZRS."
  }
}

variable "blob_soft_delete_days" {
  description = "Days a deleted blob (or overwritten version) stays recoverable."
  type        = number
  default     = 30

  validation {
    condition     = var.blob_soft_delete_days >= 1 && var.blob_soft_delete_days <= 365 && var.blob_soft_delete_days == floor(var.blob_soft_delete_days)
    error_message = "blob_soft_delete_days must be a whole number between 1 and 365."
  }
}

variable "container_soft_delete_days" {
  description = "Days a deleted container stays recoverable."
  type        = number
  default     = 30

  validation {
    condition     = var.container_soft_delete_days >= 1 && var.container_soft_delete_days <= 365 && var.container_soft_delete_days == floor(var.container_soft_delete_days)
    error_message = "container_soft_delete_days must be a whole number between 1 and 365."
  }
}

variable "immutability" {
  description = "Optional version-level immutability (WORM) for every blob version in the account: days of retention after a version is created; locked = true makes the policy irreversible (it can then only be extended). null disables it. Can only be set when the account is created."
  type = object({
    days   = number
    locked = bool
  })
  default = null

  validation {
    condition     = var.immutability == null || try(var.immutability.days >= 1 && var.immutability.days <= 146000 && var.immutability.days == floor(var.immutability.days), false)
    error_message = "immutability.days must be a whole number between 1 and 146000."
  }
}

variable "shared_access_key_enabled" {
  description = "Allow Shared Key authorization (account keys, connection strings, SAS). Off by default: the server authenticates with Entra ID (managed identity or az login) through the role assignment. Turn it on only to use AZURE_STORAGE_CONNECTION_STRING."
  type        = bool
  default     = false
}

variable "public_network_access_enabled" {
  description = "Reach the account over its public endpoint (still limited to allowed_ip_ranges and allowed_subnet_ids). false requires a private endpoint, which this module does not create."
  type        = bool
  default     = true
}

variable "allowed_ip_ranges" {
  description = "Public IPv4 addresses or CIDR ranges (e.g. the server's egress address) allowed through the account firewall. Everything else is denied."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.allowed_ip_ranges : can(regex("^\\d{1,3}(\\.\\d{1,3}){3}(/([0-9]|[12][0-9]|30))?$", r))])
    error_message = "allowed_ip_ranges must contain IPv4 addresses or CIDR ranges up to /30 (Azure rejects /31 and /32; give the bare address instead)."
  }
}

variable "allowed_subnet_ids" {
  description = "Virtual network subnet IDs (with the Microsoft.Storage service endpoint) allowed through the account firewall."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.allowed_subnet_ids : can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Network/virtualNetworks/[^/]+/subnets/[^/]+$", s))])
    error_message = "allowed_subnet_ids must contain subnet resource IDs."
  }
}

variable "server_principal_id" {
  description = "Object (principal) ID of the server's identity (managed identity, service principal or user) that gets Storage Blob Data Contributor on the container. null creates no role assignment."
  type        = string
  default     = null

  validation {
    condition     = var.server_principal_id == null || can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", var.server_principal_id))
    error_message = "server_principal_id must be null or a GUID (the identity's object ID, not its client ID)."
  }
}

variable "tags" {
  description = "Tags added to every resource the module creates."
  type        = map(string)
  default     = {}
}
