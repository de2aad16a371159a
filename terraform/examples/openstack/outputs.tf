output "store_url" {
  description = "The --store argument of mintstore serve."
  value       = module.store.store_url
}

output "serve_command" {
  description = "The command that starts a server on this container; run it in a shell holding the server user's OS_* variables (or ST_AUTH/ST_USER/ST_KEY)."
  value       = "mintstore serve --store '${module.store.store_url}'"
}
