"""The Spark Structured Streaming job: station messages in, indicators per postcode out.

    velib-projet ─▶ parse ─▶ join station table ─▶ group by (snapshot_time, postcode) ─▶ velib-projet-final-data
                      └──▶ unparseable messages ─▶ velib-projet-quarantine

Determinism: each group keeps the *set* of its stations' readings and sums them
after picking one reading per station, so a snapshot published twice, messages
split across partitions or micro-batches, or a batch replayed after a crash all
give the same numbers. Output mode is update: a row is provisional until the
last message of its snapshot has been processed; the latest value per key wins.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.types import ArrayType, IntegerType, LongType, MapType, StringType, StructField, StructType

from velib_replay import config, jvm
from velib_replay.errors import UserError
from velib_replay.indicators import UNKNOWN_POSTCODE, load_postcodes
from velib_replay.messages import SNAPSHOT_TIME_FIELD

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


@dataclass
class JobConfig:
    """Everything the job reads and writes, explicit so a run is reproducible from its config."""

    bootstrap_servers: str = config.BOOTSTRAP_SERVERS
    status_topic: str = config.STATUS_TOPIC
    indicators_topic: str = config.INDICATORS_TOPIC
    quarantine_topic: str = config.QUARANTINE_TOPIC
    checkpoint: Path = field(default_factory=lambda: Path("checkpoints") / "velib-replay")
    stations_table: Path = field(default_factory=config.stations_table)
    watermark: str = "2 hours"
    trigger_interval: str = "5 seconds"
    max_offsets_per_trigger: int | None = None
    show_rows: int = 20


@dataclass
class JobSummary:
    batches: int = 0
    input_rows: int = 0
    indicator_rows: int = 0
    quarantined: int = 0
    dropped_late: int = 0


def spark_session(master: str = "local[*]", shuffle_partitions: int = 4) -> SparkSession:
    """A session with the Kafka connector from the local jar cache (no --packages at start)."""
    jars = ",".join(str(path) for path in jvm.jars("spark-kafka"))
    logging = f"-Dlog4j2.configurationFile={jvm.POM_DIR / 'spark-log4j2.properties'}"
    builder = SparkSession.builder.master(master)
    if master.startswith("local"):
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
    session = (
        builder.appName("velib-replay")
        .config("spark.jars", jars)
        .config("spark.driver.extraJavaOptions", logging)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", shuffle_partitions)
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.streaming.stateStore.providerClass", _ROCKSDB)
        .config("spark.log.structuredLogging.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("WARN")
    return session


_ROCKSDB = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


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


class _BatchWriter:
    """foreachBatch sink: writes a micro-batch to a topic as key/value records, counts it, optionally prints it."""

    def __init__(
        self,
        cfg: JobConfig,
        topic: str,
        to_records: Callable[[DataFrame], DataFrame],
        show_rows: int = 0,
        out=sys.stdout,
    ):
        self.cfg, self.topic, self.to_records, self.show_rows, self.out = cfg, topic, to_records, show_rows, out
        self.batches = 0
        self.rows = 0

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        batch.persist()
        try:
            count = batch.count()
            if count:
                self.to_records(batch).write.format("kafka").option(
                    "kafka.bootstrap.servers", self.cfg.bootstrap_servers
                ).option("topic", self.topic).save()
            self.batches += 1
            self.rows += count
            if self.show_rows and count:
                print(f"-- batch {batch_id}: {count} indicator rows updated", file=self.out, flush=True)
                batch.orderBy("snapshot_time", "postcode").show(self.show_rows, truncate=False)
        finally:
            batch.unpersist()


def _start(frame: DataFrame, name: str, sink: _BatchWriter, cfg: JobConfig, once: bool) -> StreamingQuery:
    """One streaming query through a foreachBatch sink, with its own checkpoint folder."""
    trigger = {"availableNow": True} if once else {"processingTime": cfg.trigger_interval}
    return (
        frame.writeStream.outputMode("update")
        .foreachBatch(sink)
        .option("checkpointLocation", str(cfg.checkpoint / name))
        .trigger(**trigger)
        .queryName(name)
        .start()
    )


def run(
    spark: SparkSession, cfg: JobConfig, *, once: bool, out=sys.stdout, stop: threading.Event | None = None
) -> JobSummary:
    """Start both queries; with ``once``, process everything available and return.

    Without ``once`` it runs until ``stop`` is set (the CLI sets it on Ctrl-C or SIGTERM), then returns its
    summary. Waiting in short slices rather than one blocking call keeps signals out of Py4J's calls.
    """
    parsed = parse_stations(read_messages(spark, cfg))
    rows = indicators(parsed.where(F.col("problem").isNull()), postcode_table(spark, cfg.stations_table), cfg.watermark)
    publish = _BatchWriter(cfg, cfg.indicators_topic, as_kafka_records, cfg.show_rows, out)
    set_aside = _BatchWriter(cfg, cfg.quarantine_topic, lambda records: records)
    problems = quarantine_records(parsed.where(F.col("problem").isNotNull()))
    queries = [_start(rows, "indicators", publish, cfg, once), _start(problems, "quarantine", set_aside, cfg, once)]
    try:
        while not (stop and stop.is_set()) and (active := [query for query in queries if query.isActive]):
            active[0].awaitTermination(timeout=1)
        if stop and stop.is_set():
            print("Stopping: the checkpoint keeps the progress; a restart resumes from it.", file=out, flush=True)
    finally:
        for query in queries:
            query.stop()
    for query in queries:
        if query.exception():
            raise UserError(f"the {query.name} query failed: {str(query.exception()).splitlines()[0]}")
    progress = queries[0].recentProgress
    return JobSummary(
        batches=publish.batches,
        input_rows=sum(p.numInputRows for p in progress),
        indicator_rows=publish.rows,
        quarantined=set_aside.rows,
        dropped_late=sum(op.numRowsDroppedByWatermark for p in progress for op in p.stateOperators),
    )
