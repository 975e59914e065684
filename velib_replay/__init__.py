"""velib-replay: record, replay and verify Vélib' streaming pipelines on Kafka and Spark."""

__version__ = "0.1.0"
