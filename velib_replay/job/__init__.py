"""The Spark Structured Streaming job: station messages in, indicators per postcode out.

``config`` (what a run reads and writes), ``session`` (the SparkSession), ``transformations``
(the chain, in the spirit of Spark's own examples), ``runner`` (the queries and their sinks),
``contract`` and ``stations_table`` (shared with the verifier). Importing this package does
not import pyspark, so the commands that do not run Spark start fast.
"""
