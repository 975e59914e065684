"""The original project's consumer, as a user would have it: Kafka in, join with the station table, sums per
postcode, JSON rows out to another topic (without keys).

Written the way the original was (an inner join, all-time sums per postcode), only made callable so a test can
run it once over what is in the topic (``available_now``) instead of forever. Its known flaw: a station missing
from the CSV is silently dropped by the inner join (see tests/test_original_job.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
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


def per_postcode(stations: DataFrame, table: DataFrame) -> DataFrame:
    """Sums per postcode, French column names as the original's dashboard reads them."""
    joined = stations.join(table, on="stationCode", how="inner")
    return joined.groupBy(F.col("postcode").alias("code_postal")).agg(
        F.count("*").alias("stations"),
        F.sum("num_bikes_available").alias("velos_disponibles"),
        F.sum(F.col("num_bikes_available_types").getItem(0).getItem("mechanical")).alias("velos_mecaniques"),
        F.sum(F.col("num_bikes_available_types").getItem(1).getItem("ebike")).alias("velos_electriques"),
        F.sum("num_docks_available").alias("bornes_disponibles"),
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
    table = spark.read.csv(str(stations_csv), header=True).select("stationCode", "postcode")
    as_json = F.to_json(F.struct("*"), {"ignoreNullFields": "false"})  # the stations without a postcode show
    rows = per_postcode(stations, table).select(as_json.alias("value"))
    writer = (
        rows.writeStream.format("kafka")
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
