"""The remote API: its client, retry timing, and the embedded sandbox that stands in for it."""
