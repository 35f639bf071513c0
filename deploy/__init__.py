"""What the compose topology runs besides the application's own programs (docs/deployment.md)."""
