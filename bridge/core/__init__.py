"""The core every layer stands on: settings and where the key is kept, the data dir's files and
modes, logs, clocks, and text made safe (the key masked, control characters out)."""
