"""Global configuration and repository configuration files."""
