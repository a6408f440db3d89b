"""Configuration: targets, the YAML inventory, the user's key files; read before connecting."""
