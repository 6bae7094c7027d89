"""The `crackdown` subcommands that are more than a few lines: one module each."""
