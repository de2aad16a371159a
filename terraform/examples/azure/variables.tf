variable "subscription_id" {
  description = "Azure subscription to deploy into (azurerm 4 requires it explicitly)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "subscription_id must be a GUID."
  }
}

variable "location" {
  description = "Azure region, e.g. westeurope."
  type        = string
  default     = "westeurope"

  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be a region name such as westeurope."
  }
}

variable "resource_group_name" {
  description = "Name of the resource group this example creates."
  type        = string
  default     = "mintstore"

  validation {
    condition     = can(regex("^[-\\w._()]{1,90}$", var.resource_group_name))
    error_message = "resource_group_name must be 1-90 characters of letters, digits, '-', '_', '.', '(' and ')'."
  }
}

variable "storage_account_name" {
  description = "Globally unique storage account name (3-24 lowercase letters and digits)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.storage_account_name))
    error_message = "storage_account_name must be 3-24 lowercase letters and digits."
  }
}

variable "allowed_ip_ranges" {
  description = "Public IPv4 addresses of the machines that run the server (and terraform), allowed through the account firewall."
  type        = list(string)

  validation {
    condition     = length(var.allowed_ip_ranges) > 0
    error_message = "Give at least one address (e.g. the output of `curl -s https://ifconfig.me`), or the firewall shuts out the server."
  }
}

variable "server_principal_id" {
  description = "Object ID of the server's identity (e.g. a VM's managed identity). null grants the identity running terraform (your az login), so a server started from your shell works."
  type        = string
  default     = null

  validation {
    condition     = var.server_principal_id == null || can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", var.server_principal_id))
    error_message = "server_principal_id must be null or a GUID."
  }
}
