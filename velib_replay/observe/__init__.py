"""Watching long-running commands: Prometheus metrics, /healthz, and JSON log lines."""
