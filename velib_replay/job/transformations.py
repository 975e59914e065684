"""The job's transformations: station messages in, indicator rows and quarantine records out.

    velib-projet ─▶ parse ─▶ postcode lookup ─▶ group by (snapshot_time, postcode) ─▶ velib-projet-final-data
                      └──▶ unusable messages, with their reason ─▶ velib-projet-quarantine

A message is judged a JSON object by ``try_parse_json`` and its fields read by ``from_json`` with
the contract's types, each through a ``try_`` or guarded form, so no data can make the job raise
(Spark 4 runs in ANSI mode). The rules
are the "Indicator contract" of docs/contracts.md; ``verify.reference`` implements the same ones in
plain Python, and a property test holds the two to the same output on any input.

Determinism: each group keeps the *set* of its stations' readings and sums them
after picking one reading per station, so a snapshot published twice, messages
split across partitions or micro-batches, or a batch replayed after a crash all
give the same numbers. Output mode is update: a row is provisional until the
last message of its snapshot has been processed; the latest value per key wins.
"""

from __future__ import annotations

import functools
import json
import operator
from pathlib import Path
from typing import TypeVar

from pyspark.sql import Column, DataFrame, DataFrameWriter, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import DataStreamReader, DataStreamWriter

from velib_replay.contracts.feed import BIKE_TYPES, MAX_COUNT
from velib_replay.contracts.indicators import EARLIEST_SNAPSHOT, MAX_FUTURE_S, TIME_PATTERN, UNKNOWN_POSTCODE, Reason
from velib_replay.contracts.messages import SNAPSHOT_TIME_FIELD
from velib_replay.job.config import JobConfig
from velib_replay.job.session import parallelism
from velib_replay.job.stations_table import load_postcodes

SPARK_TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss'Z'"
READING_FIELDS = ("stationCode", "bikes", "mechanical", "ebike", "docks")


_KafkaSide = TypeVar("_KafkaSide", DataStreamReader, DataStreamWriter, DataFrameWriter)


def on_kafka(side: _KafkaSide, cfg: JobConfig) -> _KafkaSide:
    """Spark's Kafka source or sink on the configured cluster, with its client properties (--kafka-config):
    one place, so the source and both sinks always connect alike."""
    return side.format("kafka").options(**cfg.kafka.spark())


def read_messages(spark: SparkSession, cfg: JobConfig) -> DataFrame:
    reader = (
        on_kafka(spark.readStream, cfg)
        .option("subscribe", cfg.status_topic)
        .option("startingOffsets", "earliest")
        .option("minPartitions", parallelism(spark))  # parsing is the work: on every core
    )
    if cfg.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", cfg.max_offsets_per_trigger)
    return reader.load()


def parse_stations(messages: DataFrame, max_future: float = MAX_FUTURE_S) -> DataFrame:
    """Station readings with their snapshot time; ``problem`` is null for usable rows.

    Nothing here can raise on data (Spark 4 is in ANSI mode): every parse is a ``try_``
    form or guarded, so any bytes become either a reading or a reason (the indicator contract).
    ``try_parse_json`` decides whether a message is a JSON object at all; its fields are then
    read by ``from_json`` with the types the contract wants, which reads a field that does
    not fit its type as null on its own, keeping the others. Reading each field out of the
    Variant instead, with a check of its type, made the parse half as costly again.
    """
    text = F.col("value").cast("string")
    document = F.when(F.is_valid_utf8(text) & text.rlike(r"^[ \t\n\r]*\{"), F.try_parse_json(text))
    parsed = (
        messages.select(
            "topic", "partition", "offset", "value", document.alias("doc"), F.from_json(text, MESSAGE_SCHEMA).alias("f")
        )
        .select(
            "topic",
            "partition",
            "offset",
            "value",
            "doc",
            _station_code(F.col("f.stationCode")).alias("stationCode"),
            _snapshot_ts(F.col(f"f.{SNAPSHOT_TIME_FIELD}")).alias("snapshot_ts"),
            _count(F.col("f.num_bikes_available")).alias("bikes"),
            _bikes_by_type("num_bikes_available_types").alias("types"),
            _count(F.col("f.num_docks_available")).alias("docks"),
        )
        .select("*", *(F.col(f"types.{kind}").alias(kind) for kind in BIKE_TYPES))  # one pass over the entries
    )
    latest_allowed = F.unix_seconds(F.current_timestamp()) + F.lit(int(max_future))  # the micro-batch's time
    problem = (
        F.when(F.col("value").isNull(), F.lit(Reason.NO_VALUE))
        .when(F.col("doc").isNull(), F.lit(Reason.NOT_OBJECT))
        .when(F.col("stationCode").isNull(), F.lit(Reason.NO_STATION_CODE))
        .when(F.col("snapshot_ts").isNull(), F.lit(Reason.BAD_TIME))
        .when(F.unix_seconds("snapshot_ts") > latest_allowed, F.lit(Reason.FUTURE))
    )
    return parsed.withColumn("problem", problem).drop("doc", "types")


_ENTRY = ", ".join(f"{kind} bigint" for kind in BIKE_TYPES)
MESSAGE_SCHEMA = (
    f"stationCode variant, {SNAPSHOT_TIME_FIELD} string, num_bikes_available bigint, num_docks_available bigint, "
    f"num_bikes_available_types array<struct<{_ENTRY}>>"
)  # from_json: a bigint is a JSON integer that fits 64 bits, else null; a string field takes any value's JSON text


def _station_code(value: Column) -> Column:
    """A non-empty JSON string, else null."""
    code = F.when(F.schema_of_variant(value) == "STRING", F.variant_get(value, "$", "string"))
    return F.when(F.length(code) > 0, code)


def _snapshot_ts(text: Column) -> Column:
    """A real UTC time written exactly ``YYYY-MM-DDTHH:MM:SSZ``, from 2000 on, else null.

    No other JSON value's text can match the pattern. It fixes the form, so Spark's own string-to-timestamp
    cast, a hand-written parser, only has to refuse impossible dates (its ``Z`` makes it UTC whatever the
    session's zone), where ``try_to_timestamp`` with a format drives a formatter per row.
    """
    moment = F.when(text.rlike(f"^{TIME_PATTERN}\\z"), text.try_cast("timestamp"))
    return F.when(F.unix_seconds(moment) >= EARLIEST_SNAPSHOT, moment)


def _count(number: Column) -> Column:
    """A count read as bigint (null unless a JSON integer of 64 bits) from 0 to MAX_COUNT, else 0."""
    return F.when(number.between(0, MAX_COUNT), number).otherwise(F.lit(0).cast("bigint"))


UNROLLED_ENTRIES = 2  # the feed lists one entry per bike type


def _bikes_by_type(field: str) -> Column:
    """Σ of each bike type over the list's entries (or the map, as a one-entry list); each entry judged alone.

    The feed's own shape, a list of at most two objects, comes typed from ``from_json``: its entries are
    read by position. Any other shape (a map, more entries, an entry that is not an object) reads as a null
    list there, and goes through the Variant, entry by entry.
    """
    typed = F.col(f"f.{field}")
    fits = typed.isNotNull() & (F.size(typed) <= UNROLLED_ENTRIES)

    def total(kind: str) -> Column:
        return functools.reduce(operator.add, (_count(F.get(typed, index)[kind]) for index in range(UNROLLED_ENTRIES)))

    by_position = F.struct(*(total(kind).alias(kind) for kind in BIKE_TYPES))
    return F.when(fits, by_position).otherwise(_bikes_by_type_in_variant(field))


def _bikes_by_type_in_variant(field: str) -> Column:
    """The same sums from the Variant, for any shape.

    The first entries are read by fixed paths, code-generated with the rest of the parse. Entries beyond
    them go through a higher-order function, which Spark interprets row by row. A path that does not fit
    the value (``[0]`` of a map, ``.ebike`` of a list) is null and counts 0, so maps and lists need no branch.
    """
    more = F.variant_get("doc", f"$.{field}[{UNROLLED_ENTRIES}]", "variant").isNotNull()
    entries = F.try_variant_get("doc", f"$.{field}", "array<variant>")
    rest = F.slice(entries, UNROLLED_ENTRIES + 1, F.size(entries))
    beyond = F.when(more, _sum_by_type(rest))

    def total(kind: str) -> Column:
        paths = [f"$.{field}.{kind}", *(f"$.{field}[{index}].{kind}" for index in range(UNROLLED_ENTRIES))]
        counts = (_variant_count(F.variant_get("doc", path, "variant")) for path in paths)
        fixed = functools.reduce(operator.add, counts)
        return fixed + F.coalesce(beyond[kind], F.lit(0).cast("bigint"))

    return F.struct(*(total(kind).alias(kind) for kind in BIKE_TYPES))


def _variant_count(value: Column) -> Column:
    """A JSON integer from 0 to MAX_COUNT (parse_json stores every such integer as BIGINT), else 0; 64-bit."""
    number = F.try_variant_get(value, "$", "bigint")
    return _count(F.when(F.schema_of_variant(value) == "BIGINT", number))


def _sum_by_type(entries: Column) -> Column:
    """Σ of each bike type over a list of entries, in one pass (a higher-order function: interpreted)."""
    zero = F.struct(*(F.lit(0).cast("bigint").alias(kind) for kind in BIKE_TYPES))

    def add(totals: Column, entry: Column) -> Column:
        return F.struct(
            *(
                (totals[kind] + _variant_count(F.variant_get(entry, f"$.{kind}", "variant"))).alias(kind)
                for kind in BIKE_TYPES
            )
        )

    return F.aggregate(entries, zero, add)


def postcode_lookup(stations_table: Path) -> Column:
    """stationCode → postcode as a literal map in the plan, rather than a table joined to each micro-batch.

    A broadcast join collects and broadcasts its static side again on every micro-batch: a Spark job of
    its own, 0.1 to 0.2 s of a 1 s trigger. A map literal costs nothing per batch, and a lookup in it took
    the same time over the full-day messages as the join. ``from_json`` of one string literal is folded
    into that literal at planning, where 1,500 ``create_map`` entries would each be analyzed per batch.
    """
    table = json.dumps(load_postcodes(stations_table), sort_keys=True)
    return F.from_json(F.lit(table), "map<string,string>")


def job_output(messages: DataFrame, postcodes: Column, watermark: str, max_future: float = MAX_FUTURE_S) -> DataFrame:
    """Both outputs from one read: indicator rows, and quarantine records, told apart by ``output``.

    Messages are parsed once. Each row is routed to one exchange, keyed for the aggregation, and both
    outputs read that exchange: Spark runs it once and reuses it for the second output (``ReusedExchange``
    in the plan; a test holds it there). Two queries, or two branches each with its own filter, read and
    parsed every message twice, which cost the job as much again. Spark still gives each side of the union
    its own instance of the Kafka source: both ask for the same offsets, and in the rare batch where a
    message lands between their two requests, that batch reads twice, which costs time but not correctness.
    """
    routed = _routed(parse_stations(messages, max_future), postcodes, watermark)
    rows = indicators(routed)
    return _as_records(rows).unionByName(_quarantined(routed), allowMissingColumns=True)


OUTPUT = "output"
INDICATORS, QUARANTINE = "indicators", "quarantine"


def _routed(parsed: DataFrame, postcodes: Column, watermark: str) -> DataFrame:
    """Every row, hash-partitioned for the aggregation: a usable one as its event time, postcode and reading;
    an unusable one as its quarantine record only. An unusable row has no event time, so it can neither move
    the watermark nor be dropped as late, and it lands in a single (null, null) group that stays empty."""
    usable = F.col("problem").isNull()
    located = parsed.withColumn("snapshot_ts", F.when(usable, F.col("snapshot_ts"))).withWatermark(
        "snapshot_ts", watermark
    )
    postcode = F.coalesce(postcodes[F.col("stationCode")], F.lit(UNKNOWN_POSTCODE))
    return located.select(
        "snapshot_ts",
        F.when(usable, postcode).alias("postcode"),
        F.when(usable, F.struct(*READING_FIELDS)).alias("reading"),
        F.when(~usable, _quarantine_record()).alias("quarantined"),
    ).repartition("snapshot_ts", "postcode")  # the aggregation's own partitioning: no second exchange


def indicators(routed: DataFrame) -> DataFrame:
    """The indicator contract, from the routed rows (docs/contracts.md).

    ``quarantined`` is null wherever ``reading`` is set: testing it changes nothing, but makes this output
    read every routed column, as the quarantine output does. Spark reuses an exchange only for an
    identical plan below it, and would otherwise prune each side's columns apart.
    """
    reading = F.when(F.col("quarantined").isNull(), F.col("reading"))
    grouped = routed.groupBy("snapshot_ts", "postcode").agg(F.array_sort(F.collect_set(reading)).alias("readings"))
    summed = F.aggregate("readings", _no_reading(), _add_first_reading)
    totals = grouped.where(F.size("readings") > 0).select("snapshot_ts", "postcode", summed.alias("t"))
    return totals.select(  # a separate select, so the optimizer keeps one evaluation of the struct
        F.date_format("snapshot_ts", SPARK_TIME_FORMAT).alias("snapshot_time"),
        "postcode",
        F.col("t.stations").alias("stations"),
        F.col("t.bikes").alias("bikes_available"),
        F.col("t.mechanical").alias("mechanical"),
        F.col("t.ebike").alias("ebike"),
        F.col("t.docks").alias("docks_available"),
    )


_SUMMED = ("stations", *READING_FIELDS[1:])


def _no_reading() -> Column:
    zeros = (F.lit(0).cast("bigint").alias(name) for name in _SUMMED)
    return F.struct(*zeros, F.lit(None).cast("string").alias("stationCode"))


def _add_first_reading(totals: Column, reading: Column) -> Column:
    """Σ over the sorted set, one pass: a station's first entry is its smallest reading, later ones are skipped."""
    seen = totals["stationCode"].eqNullSafe(reading["stationCode"])
    added = [totals["stations"] + 1, *(totals[name] + reading[name] for name in READING_FIELDS[1:])]
    return F.when(seen, totals).otherwise(
        F.struct(*(value.alias(name) for value, name in zip(added, _SUMMED, strict=True)), reading["stationCode"])
    )


def _as_records(rows: DataFrame) -> DataFrame:
    """Indicator rows as Kafka records keyed by (snapshot_time, postcode), their columns kept for the console."""
    key = F.concat_ws("|", "snapshot_time", "postcode")
    value = F.to_json(F.struct(*rows.columns))
    return rows.select(F.lit(INDICATORS).alias(OUTPUT), key.alias("key"), value.alias("value"), *rows.columns)


def _quarantine_record() -> Column:
    """An unusable message, kept whole with where it came from and why it was set aside."""
    origin = F.concat_ws(":", "topic", "partition", "offset")
    detail = F.struct("problem", "topic", "partition", "offset", F.col("value").cast("string").alias("value"))
    return F.struct(origin.alias("key"), F.to_json(detail).alias("value"))


def _quarantined(routed: DataFrame) -> DataFrame:
    """The quarantine records, by an explode rather than a filter: Spark would push a filter below the shared
    exchange, making this side's plan differ from the indicators' and the exchange run twice."""
    record = F.when(F.col("reading").isNull(), F.array("quarantined"))
    return routed.select(F.explode(record).alias("q")).select(
        F.lit(QUARANTINE).alias(OUTPUT), F.col("q.key").alias("key"), F.col("q.value").alias("value")
    )
