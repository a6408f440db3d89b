"""CLI sub-commands that live in their own modules; ``scanner.cli`` registers them."""
