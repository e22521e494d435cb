"""aihd-bridge: a local bridge between photo managers and the AI HomeDesign image API."""

__version__ = "0.3.0"
