"""The job's transformations: station messages in, indicator rows and quarantine records out.

    velib-projet ─▶ parse ─▶ join station table ─▶ group by (snapshot_time, postcode) ─▶ velib-projet-final-data
                      └──▶ unparseable messages ─▶ velib-projet-quarantine

Determinism: each group keeps the *set* of its stations' readings and sums them
after picking one reading per station, so a snapshot published twice, messages
split across partitions or micro-batches, or a batch replayed after a crash all
give the same numbers. Output mode is update: a row is provisional until the
last message of its snapshot has been processed; the latest value per key wins.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, IntegerType, LongType, MapType, StringType, StructField, StructType

from velib_replay.job.config import JobConfig
from velib_replay.job.contract import UNKNOWN_POSTCODE
from velib_replay.job.stations_table import load_postcodes
from velib_replay.replay.messages import SNAPSHOT_TIME_FIELD

STATION_SCHEMA = StructType(
    [
        StructField("stationCode", StringType()),
        StructField("station_id", LongType()),
        StructField("num_bikes_available", IntegerType()),
        StructField("num_bikes_available_types", StringType()),  # raw JSON: a list of one-key objects, or a map
        StructField("num_docks_available", IntegerType()),
        StructField("is_installed", IntegerType()),
        StructField("is_renting", IntegerType()),
        StructField(SNAPSHOT_TIME_FIELD, StringType()),
    ]
)
TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss'Z'"
READING_FIELDS = ("stationCode", "bikes", "mechanical", "ebike", "docks")


def read_messages(spark: SparkSession, cfg: JobConfig) -> DataFrame:
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", cfg.bootstrap_servers)
        .option("subscribe", cfg.status_topic)
        .option("startingOffsets", "earliest")
    )
    if cfg.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", cfg.max_offsets_per_trigger)
    return reader.load()


def parse_stations(messages: DataFrame) -> DataFrame:
    """Station readings with their snapshot time; ``problem`` is null for usable rows."""
    station = F.from_json(F.col("value").cast("string"), STATION_SCHEMA)
    parsed = messages.select("*", station.alias("s")).select(
        "topic",
        "partition",
        "offset",
        "value",
        "s.*",
        F.to_timestamp(f"s.{SNAPSHOT_TIME_FIELD}", TIME_FORMAT).alias("snapshot_ts"),
    )
    problem = (
        F.when(
            F.col("stationCode").isNull() & F.col("num_bikes_available").isNull(), F.lit("not a station JSON object")
        )
        .when(F.col("stationCode").isNull(), F.lit("no stationCode"))
        .when(F.col("snapshot_ts").isNull(), F.lit(f"no valid {SNAPSHOT_TIME_FIELD}"))
    )
    return parsed.withColumn("problem", problem)


_TYPE_LIST = ArrayType(MapType(StringType(), IntegerType()))
_TYPE_MAP = MapType(StringType(), IntegerType())


def _bikes_of_type(kind: str) -> Column:
    """Σ of one bike type, from the feed's list of one-key objects or a plain map; 0 when absent."""
    text = F.col("num_bikes_available_types")
    entries = F.when(F.ltrim(text).startswith("["), F.from_json(text, _TYPE_LIST)).otherwise(
        F.array(F.from_json(text, _TYPE_MAP))
    )
    total = F.aggregate(entries, F.lit(0), lambda acc, entry: acc + F.coalesce(entry[kind], F.lit(0)))
    return F.coalesce(total, F.lit(0))


def postcode_table(spark: SparkSession, stations_table: Path) -> DataFrame:
    rows = sorted(load_postcodes(stations_table).items())
    return spark.createDataFrame(rows, "stationCode string, postcode string")


def indicators(stations: DataFrame, postcodes: DataFrame, watermark: str) -> DataFrame:
    """The indicator contract, from usable station rows."""
    reading = F.struct(
        F.col("stationCode"),
        F.coalesce("num_bikes_available", F.lit(0)).alias("bikes"),
        _bikes_of_type("mechanical").alias("mechanical"),
        _bikes_of_type("ebike").alias("ebike"),
        F.coalesce("num_docks_available", F.lit(0)).alias("docks"),
    )
    grouped = (
        stations.withWatermark("snapshot_ts", watermark)
        .join(F.broadcast(postcodes), "stationCode", "left")
        .withColumn("postcode", F.coalesce("postcode", F.lit(UNKNOWN_POSTCODE)))
        .groupBy("snapshot_ts", "postcode")
        .agg(F.array_sort(F.collect_set(reading)).alias("readings"))
    )
    # one reading per station: the sorted set's first entry for each stationCode
    unique = F.filter("readings", lambda r, i: (i == 0) | (F.col("readings")[i - 1]["stationCode"] != r["stationCode"]))
    summed = {name: _sum_field(unique, name) for name in READING_FIELDS[1:]}
    return grouped.select(
        F.date_format("snapshot_ts", TIME_FORMAT).alias("snapshot_time"),
        "postcode",
        F.size(unique).alias("stations"),
        summed["bikes"].alias("bikes_available"),
        summed["mechanical"].alias("mechanical"),
        summed["ebike"].alias("ebike"),
        summed["docks"].alias("docks_available"),
    )


def _sum_field(readings: Column, name: str) -> Column:
    return F.aggregate(readings, F.lit(0), lambda total, reading: total + reading[name])


def as_kafka_records(frame: DataFrame) -> DataFrame:
    key = F.concat_ws("|", "snapshot_time", "postcode")
    return frame.select(key.alias("key"), F.to_json(F.struct(*frame.columns)).alias("value"))


def quarantine_records(problems: DataFrame) -> DataFrame:
    """Unusable messages, kept whole with where they came from and why they were set aside."""
    origin = F.concat_ws(":", "topic", "partition", "offset")
    detail = F.struct("problem", "topic", "partition", "offset", F.col("value").cast("string").alias("value"))
    return problems.select(origin.alias("key"), F.to_json(detail).alias("value"))
