# The provider reads the usual OpenStack environment: `source openrc.sh` (OS_AUTH_URL,
# OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, ...) or OS_CLOUD with clouds.yaml.
provider "openstack" {}

data "openstack_identity_auth_scope_v3" "current" {
  name = "current"
}

module "store" {
  source = "../../modules/openstack-swift-store"

  container_name          = var.container_name
  versions_container_name = var.keep_versions ? "${var.container_name}-versions" : null
  server_acl_principals = var.server_user_id == null ? [] : [
    "${data.openstack_identity_auth_scope_v3.current.project_id}:${var.server_user_id}",
  ]
}
