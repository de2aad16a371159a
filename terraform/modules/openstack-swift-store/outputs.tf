output "container_name" {
  description = "Name of the container holding the store."
  value       = openstack_objectstorage_container_v1.store.name
}

output "versions_container_name" {
  description = "Name of the container receiving old versions, or null."
  value       = var.versions_container_name == null ? null : openstack_objectstorage_container_v1.versions[0].name
}

output "store_url" {
  description = "Value for `mintstore serve --store`: swift://CONTAINER/PREFIX. Credentials come from ST_AUTH/ST_USER/ST_KEY or the OS_* variables of the server's user, never from the URL."
  value       = trimsuffix("swift://${openstack_objectstorage_container_v1.store.name}/${var.prefix}", "/")
}

output "acl" {
  description = "The read and write ACL set on the container(s), or null when only the owning project has access."
  value       = local.acl
}
