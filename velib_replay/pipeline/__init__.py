"""Flows across every stage: the demo (broker, topics, replay, job, verification)."""
