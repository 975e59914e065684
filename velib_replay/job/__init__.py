"""The Spark Structured Streaming job: station messages in, indicators per postcode out.

``config`` (what a run reads and writes), ``session`` (the SparkSession), ``transformations``
(the chain, in the spirit of Spark's own examples), ``runner`` (the queries and their sinks),
``progress`` (the query's listener: the run's summary), ``stations_table`` (shared with the verifier).
The indicator contract is ``contracts.indicators``. Importing this package does
not import pyspark, so the commands that do not run Spark start fast.
"""
