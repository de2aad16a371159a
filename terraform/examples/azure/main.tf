provider "azurerm" {
  features {}
  subscription_id = var.subscription_id
  # The account refuses Shared Key authorization, so the provider must use Entra ID too.
  storage_use_azuread = true
}

data "azurerm_client_config" "current" {}

resource "azurerm_resource_group" "this" {
  name     = var.resource_group_name
  location = var.location
}

module "store" {
  source = "../../modules/azure-blob-store"

  resource_group_name  = azurerm_resource_group.this.name
  location             = azurerm_resource_group.this.location
  storage_account_name = var.storage_account_name
  allowed_ip_ranges    = var.allowed_ip_ranges
  server_principal_id  = coalesce(var.server_principal_id, data.azurerm_client_config.current.object_id)

  tags = {
    application = "mintstore"
  }
}
