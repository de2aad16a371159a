terraform {
  required_version = ">= 1.5.0"

  required_providers {
    openstack = {
      source = "terraform-provider-openstack/openstack"
      # 3.x: the versioning (X-Versions-Enabled) argument and the versioning_legacy block.
      version = ">= 3.0, < 4.0"
    }
  }
}
