"""The original project's consumer, as its users wrote it: station messages from Kafka, joined with the station
table, bikes summed per postcode, JSON rows (without keys) to another topic.

Nothing here was changed for velib-replay: an inner join, all-time sums per postcode, Spark's own ``to_json``
(which leaves null fields out), output mode update. ``start`` only takes its topics and checkpoint as arguments,
and ``available_now``, so a test can run it once over what the topic holds instead of forever. Its known flaw: a
station missing from the CSV is silently dropped by the inner join (see tests/test_original_job.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.types import ArrayType, IntegerType, MapType, StringType, StructField, StructType

STATIONS_CSV = Path(__file__).parent / "data" / "stations_information.csv"

SCHEMA = StructType(
    [
        StructField("stationCode", StringType()),
        StructField("num_bikes_available", IntegerType()),
        StructField("num_bikes_available_types", ArrayType(MapType(StringType(), IntegerType()))),
        StructField("num_docks_available", IntegerType()),
    ]
)


def start(
    spark: SparkSession,
    bootstrap_servers: str,
    source_topic: str,
    output_topic: str,
    checkpoint: Path,
    stations_csv: Path = STATIONS_CSV,
    available_now: bool = False,
) -> StreamingQuery:
    """Start the query; with ``available_now`` it processes what the topic holds, then stops."""
    messages = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap_servers)
        .option("subscribe", source_topic)
        .option("startingOffsets", "earliest")
        .load()
    )
    stations = messages.select(F.from_json(F.col("value").cast("string"), SCHEMA).alias("s")).select("s.*")
    table = spark.read.csv(str(stations_csv), header=True)  # stationCode,station_id,postcode,city
    per_postcode = (
        stations.join(table, on="stationCode", how="inner")
        .groupBy("postcode")
        .agg(
            F.sum("num_bikes_available").alias("total_bikes"),
            F.sum(F.col("num_bikes_available_types").getItem(0).getItem("mechanical")).alias("mechanical"),
            F.sum(F.col("num_bikes_available_types").getItem(1).getItem("ebike")).alias("ebike"),
        )
    )
    writer = (
        per_postcode.select(F.to_json(F.struct("*")).alias("value"))
        .writeStream.format("kafka")
        .outputMode("update")
        .option("kafka.bootstrap.servers", bootstrap_servers)
        .option("topic", output_topic)
        .option("checkpointLocation", str(checkpoint))
    )
    return writer.trigger(availableNow=True).start() if available_now else writer.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", default="localhost:9092")
    parser.add_argument("--topic", default="velib-projet")
    parser.add_argument("--output-topic", default="velib-projet-final-data")
    parser.add_argument("--checkpoint", type=Path, default=Path("checkpoints/original-job"))
    args = parser.parse_args()
    spark = SparkSession.builder.appName("velib-original").getOrCreate()
    start(spark, args.bootstrap_servers, args.topic, args.output_topic, args.checkpoint).awaitTermination()


if __name__ == "__main__":
    main()
