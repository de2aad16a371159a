# A storage account dedicated to one mintstore store, with a private container. The store
# relies on create-if-absent (If-None-Match: *) for its commit records, so blob versioning
# and soft delete are safety nets against operator mistakes, not part of the protocol.

resource "azurerm_storage_account" "this" {
  # checkov:skip=CKV2_AZURE_1:Customer-managed keys need a Key Vault and key chosen by the operator; data is encrypted with Microsoft-managed keys (and infrastructure encryption) by default.
  # checkov:skip=CKV2_AZURE_33:Private endpoints need the operator's virtual network; access is limited by the account firewall (default Deny) instead.
  # checkov:skip=CKV_AZURE_59:Public network access stays on so servers outside a private network can reach the account; the firewall denies every address not listed in allowed_ip_ranges / allowed_subnet_ids.
  # checkov:skip=CKV_AZURE_33:The store uses no queues; queue logging does not apply.
  name                     = var.storage_account_name
  resource_group_name      = var.resource_group_name
  location                 = var.location
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.replication_type
  access_tier              = "Hot"

  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = var.shared_access_key_enabled
  default_to_oauth_authentication   = true
  public_network_access_enabled     = var.public_network_access_enabled
  infrastructure_encryption_enabled = true
  cross_tenant_replication_enabled  = false
  local_user_enabled                = false
  sftp_enabled                      = false

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices"]
    ip_rules                   = var.allowed_ip_ranges
    virtual_network_subnet_ids = var.allowed_subnet_ids
  }

  blob_properties {
    versioning_enabled  = true
    change_feed_enabled = true

    delete_retention_policy {
      days = var.blob_soft_delete_days
    }

    container_delete_retention_policy {
      days = var.container_soft_delete_days
    }
  }

  sas_policy {
    # Any SAS issued for this account should be short-lived; violations are logged.
    expiration_period = "01.00:00:00"
    expiration_action = "Log"
  }

  dynamic "immutability_policy" {
    for_each = var.immutability == null ? [] : [var.immutability]

    content {
      period_since_creation_in_days = immutability_policy.value.days
      state                         = immutability_policy.value.locked ? "Locked" : "Unlocked"
      allow_protected_append_writes = false
    }
  }

  tags = var.tags
}

resource "azurerm_storage_container" "this" {
  # checkov:skip=CKV2_AZURE_21:Blob read logging needs a Log Analytics workspace or storage destination chosen by the operator (azurerm_monitor_diagnostic_setting).
  name                  = var.container_name
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_role_assignment" "server" {
  count = var.server_principal_id == null ? 0 : 1

  # Data-plane read/write/delete on this container only, not the whole account.
  scope                = azurerm_storage_container.this.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = var.server_principal_id
  description          = "mintstore server access to azure://${var.container_name}/${var.prefix}"
}
