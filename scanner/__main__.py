"""Allow ``python -m scanner``."""

from scanner.cli.app import main

main()
