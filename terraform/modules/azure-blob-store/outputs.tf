output "storage_account_name" {
  description = "Name of the storage account."
  value       = azurerm_storage_account.this.name
}

output "storage_account_id" {
  description = "Resource ID of the storage account."
  value       = azurerm_storage_account.this.id
}

output "container_name" {
  description = "Name of the container holding the store."
  value       = azurerm_storage_container.this.name
}

output "container_id" {
  description = "Resource ID of the container (the scope of the role assignment)."
  value       = azurerm_storage_container.this.id
}

output "account_url" {
  description = "Blob endpoint of the account (https://NAME.blob.core.windows.net/): the server's AZURE_STORAGE_ACCOUNT_URL when it authenticates with Entra ID."
  value       = azurerm_storage_account.this.primary_blob_endpoint
}

output "store_url" {
  description = "Value for `mintstore serve --store`: azure://CONTAINER/PREFIX. Credentials come from AZURE_STORAGE_ACCOUNT_URL plus Entra ID, or AZURE_STORAGE_CONNECTION_STRING, never from the URL."
  value       = trimsuffix("azure://${azurerm_storage_container.this.name}/${var.prefix}", "/")
}

output "role_assignment_id" {
  description = "ID of the server's role assignment, or null when server_principal_id is null."
  value       = var.server_principal_id == null ? null : azurerm_role_assignment.server[0].id
}
