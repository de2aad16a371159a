output "bucket_name" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "region" {
  description = "Region the bucket lives in (the region= option of the store URL)."
  value       = aws_s3_bucket.this.region
}

output "prefix" {
  description = "Root prefix of the store inside the bucket."
  value       = var.prefix
}

output "store_url" {
  description = "Value for `mintstore serve --store`: s3://BUCKET/PREFIX?region=REGION. Credentials are not part of it; the server takes them from boto3's chain (role, instance profile, AWS_PROFILE or AWS_* variables)."
  value       = "s3://${aws_s3_bucket.this.id}/${var.prefix}?region=${aws_s3_bucket.this.region}"
}

output "iam_policy_arn" {
  description = "ARN of the IAM policy granting the server exactly the S3 actions it uses on the store prefix. Attach it to the server's role, user or group."
  value       = aws_iam_policy.store.arn
}

output "iam_policy_json" {
  description = "The same policy as JSON, for review or for attaching elsewhere (e.g. a permission boundary)."
  value       = data.aws_iam_policy_document.store.json
}

output "role_arn" {
  description = "ARN of the server role when create_role is true, else null."
  value       = var.create_role ? aws_iam_role.server[0].arn : null
}

output "role_name" {
  description = "Name of the server role when create_role is true, else null (use it for an EC2 instance profile or an ECS task role)."
  value       = var.create_role ? aws_iam_role.server[0].name : null
}
