"""Installing into the user's session: start at login, and the host plugins' folders."""
