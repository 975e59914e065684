"""The robustness matrix: a user's streaming job run once on a faithful replay, then once per fault that real
streams bring, each on fresh topics and a fresh checkpoint, and its output compared with the baseline's.

    recording ─▶ player (+ fault) ─▶ Kafka ─▶ the user's job ─▶ output topic ─▶ latest per key ─▶ diff ─▶ row
"""
