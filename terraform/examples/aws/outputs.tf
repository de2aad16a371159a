output "store_url" {
  description = "The --store argument of mintstore serve."
  value       = module.store.store_url
}

output "role_arn" {
  description = "Role the server assumes; it carries exactly the store's IAM policy."
  value       = module.store.role_arn
}

output "instance_profile_name" {
  description = "Instance profile to attach to the server's EC2 instance (run_on_ec2), else null."
  value       = var.run_on_ec2 ? aws_iam_instance_profile.server[0].name : null
}

output "aws_config_profile" {
  description = "A profile for ~/.aws/config that makes boto3 assume the server role with your current credentials (profile 'default')."
  value       = <<-EOT
    [profile mintstore]
    role_arn = ${module.store.role_arn}
    source_profile = default
    region = ${module.store.region}
  EOT
}

output "serve_command" {
  description = "The command that starts a server on this bucket (boto3 finds the credentials through AWS_PROFILE)."
  value       = "AWS_PROFILE=mintstore mintstore serve --store '${module.store.store_url}'"
}
