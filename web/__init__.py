"""The web UI: server-rendered pages over the tracking domain (selectors read, services write)."""
