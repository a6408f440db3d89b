"""The command line: typer wiring only; each sub-command in its own module."""
