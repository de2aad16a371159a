terraform {
  required_version = ">= 1.5.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.9+: storage_account_id on containers (the container id is then its Resource Manager
      # ID, the role assignment scope), https_traffic_only_enabled, the account-level
      # immutability_policy block.
      version = ">= 4.9, < 5.0"
    }
  }
}
