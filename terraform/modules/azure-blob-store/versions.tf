terraform {
  required_version = ">= 1.5.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.x: storage_account_id on containers, https_traffic_only_enabled, the account-level
      # immutability_policy block.
      version = ">= 4.0, < 5.0"
    }
  }
}
