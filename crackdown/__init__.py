"""crackdown: the app package (CLI, config, daemon wiring)."""
