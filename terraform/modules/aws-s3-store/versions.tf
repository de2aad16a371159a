terraform {
  # 1.5: check blocks and the lifecycle preconditions used in main.tf.
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.x: the split aws_s3_bucket_* resources and object_lock_enabled on aws_s3_bucket.
      version = ">= 5.0, < 6.0"
    }
  }
}
