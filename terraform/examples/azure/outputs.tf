output "store_url" {
  description = "The --store argument of mintstore serve."
  value       = module.store.store_url
}

output "account_url" {
  description = "The server's AZURE_STORAGE_ACCOUNT_URL (it authenticates with Entra ID through the role assignment)."
  value       = module.store.account_url
}

output "serve_command" {
  description = "The command that starts a server on this container with your az login (azure-identity's DefaultAzureCredential)."
  value       = "AZURE_STORAGE_ACCOUNT_URL='${module.store.account_url}' mintstore serve --store '${module.store.store_url}'"
}
