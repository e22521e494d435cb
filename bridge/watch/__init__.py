"""Watched folders: photos saved into a folder are sent once each (`watches.py` runs them)."""
