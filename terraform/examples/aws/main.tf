provider "aws" {
  region = var.region

  default_tags {
    tags = {
      application = "mintstore"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  trusted_principal_arns = length(var.trusted_principal_arns) > 0 ? var.trusted_principal_arns : [
    "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root",
  ]
}

module "store" {
  source = "../../modules/aws-s3-store"

  bucket_name             = var.bucket_name
  prefix                  = var.prefix
  archive_transition_days = var.archive_transition_days

  create_role                 = true
  role_trusted_principal_arns = local.trusted_principal_arns
  role_trusted_services       = var.run_on_ec2 ? ["ec2.amazonaws.com"] : []
}

resource "aws_iam_instance_profile" "server" {
  count = var.run_on_ec2 ? 1 : 0
  name  = module.store.role_name
  role  = module.store.role_name
}
