"""Scenarios: small TOML test cases of the whole pipeline under faults, run on the embedded stack.

spec (load the file) ─▶ steps (play, process, restart_broker, kill_job) ─▶ runner (judge) ─▶ report
"""
