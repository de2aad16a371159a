# A Swift container for one mintstore store. Container ACLs let a server user that is not
# an operator of the project read and write this container and nothing else.
#
# Legacy versioning uses "history" mode on purpose: in "versions" mode a DELETE restores the
# previous version, so a released lock (studies/<key>/lock) would come back to life.

locals {
  acl = length(var.server_acl_principals) == 0 ? null : join(",", var.server_acl_principals)
}

resource "openstack_objectstorage_container_v1" "versions" {
  count = var.versions_container_name == null ? 0 : 1

  region         = var.region
  name           = var.versions_container_name
  storage_policy = var.storage_policy
  force_destroy  = var.force_destroy
  container_read = local.acl
  # versioned_writes copies the old object here as the requesting user.
  container_write = local.acl

  metadata = {
    mintstore-role = "versions"
  }
}

resource "openstack_objectstorage_container_v1" "store" {
  region          = var.region
  name            = var.container_name
  storage_policy  = var.storage_policy
  force_destroy   = var.force_destroy
  container_read  = local.acl
  container_write = local.acl
  versioning      = var.object_versioning

  dynamic "versioning_legacy" {
    for_each = var.versions_container_name == null ? [] : [var.versions_container_name]

    content {
      type     = "history"
      location = versioning_legacy.value
    }
  }

  metadata = {
    mintstore-role = "store"
  }

  lifecycle {
    precondition {
      condition     = !(var.object_versioning && var.versions_container_name != null)
      error_message = "Choose one versioning scheme: object_versioning or versions_container_name, not both."
    }
  }

  depends_on = [openstack_objectstorage_container_v1.versions]
}
