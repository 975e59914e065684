"""Small jobs with the plugin's job signature, for the robustness matrix: ``summing`` sums whatever arrives, as the
original consumer does (no deduplication, inner join, Spark's default to_json that drops a null postcode);
``failing_on_poison`` parses strictly (FAILFAST), so the first message that is not JSON kills its query."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

from velib_replay import config

STRICT = StructType([StructField("stationCode", StringType()), StructField("num_bikes_available", IntegerType())])


def summing(spark, bootstrap, source, output, checkpoint):
    """Messages and bikes per postcode, every message that arrives counted, rows without keys."""
    table = spark.read.csv(str(config.stations_table()), header=True).select("stationCode", "postcode")
    value = F.col("value").cast("string")
    rows = (
        _read(spark, bootstrap, source)
        .select(
            F.get_json_object(value, "$.stationCode").alias("stationCode"),
            F.get_json_object(value, "$.num_bikes_available").cast("int").alias("bikes"),
        )
        .join(table, "stationCode")
        .groupBy("postcode")
        .agg(F.count("*").alias("messages"), F.sum("bikes").alias("bikes"))
    )
    _write(rows.select(F.to_json(F.struct("*")).alias("value")), bootstrap, output, checkpoint)


def failing_on_poison(spark, bootstrap, source, output, checkpoint):
    """The most bikes seen per station, keyed by station; a message that is not JSON fails the query."""
    parsed = F.from_json(F.col("value").cast("string"), STRICT, {"mode": "FAILFAST"}).alias("s")
    rows = (
        _read(spark, bootstrap, source)
        .select(parsed)
        .select("s.*")
        .groupBy("stationCode")
        .agg(F.max("num_bikes_available").alias("bikes"))
    )
    records = rows.select(F.col("stationCode").alias("key"), F.to_json(F.struct("*")).alias("value"))
    _write(records, bootstrap, output, checkpoint)


def _read(spark, bootstrap: str, source: str) -> DataFrame:
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", source)
        .option("startingOffsets", "earliest")
        .load()
    )


def _write(rows: DataFrame, bootstrap: str, output: str, checkpoint) -> None:
    """To completion over what the source holds, as docs/testing.md writes a job."""
    (
        rows.writeStream.format("kafka")
        .outputMode("update")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("topic", output)
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .start()
        .awaitTermination()
    )
