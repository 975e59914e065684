"""``velib-replay scenario run``: TOML test cases of the whole pipeline under faults, with a verdict each."""

from __future__ import annotations

from pathlib import Path

import click

from velib_replay.cli import options
from velib_replay.cli.stopping import finish
from velib_replay.cli.tables import table
from velib_replay.kafka.client_config import ClientConfig, KafkaTarget
from velib_replay.scenario.report import HEADERS, rows, write_junit
from velib_replay.scenario.runner import Result, run_scenarios
from velib_replay.scenario.spec import scenario_files
from velib_replay.signals import Interrupted, StopRequest


@click.group("scenario")
def command() -> None:
    """Scenarios: small TOML test cases (play with faults, process rounds, broker restart, job kill) and
    their expected outcome (docs/faults.md, 'Scenarios')."""


@command.command(
    "run", epilog=options.examples("velib-replay scenario run scenarios/01-happy-path.toml --junit-xml results.xml")
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--bootstrap-servers",
    default=None,
    envvar=options.env("BOOTSTRAP_SERVERS"),
    show_envvar=True,
    help="Use this Kafka instead of starting an embedded broker (restart_broker steps then fail).",
)
@options.kafka_config
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the results as JUnit XML here, for CI systems.",
)
def run(
    paths: tuple[Path, ...], bootstrap_servers: str | None, kafka_settings: ClientConfig, junit_xml: Path | None
) -> None:
    """Run each scenario FILE (or every *.toml in DIR) with topics of its own; exit 1 if any fails or errors.

    Ctrl-C or SIGTERM stops the scenario running (its broker and job too), writes the table and --junit-xml for
    the scenarios that ran, and exits 130 or 143.
    """
    if kafka_settings.properties and not bootstrap_servers:  # the settings would reach no client: not silently
        raise click.UsageError("--kafka-config needs --bootstrap-servers: the broker scenarios start is plaintext")
    files = scenario_files(list(paths))
    kafka = KafkaTarget(bootstrap_servers, kafka_settings) if bootstrap_servers else None  # None: an embedded one
    results: list[Result] = []
    stop = StopRequest()
    try:
        with stop.handled(), stop.interruptible():  # a signal unwinds the steps: broker and job stop
            run_scenarios(files, kafka=kafka, on_result=lambda result: _done(results, result))
    except Interrupted:
        _report(results, junit_xml)
        click.echo(f"Interrupted by {stop.reason} after {len(results)} of {len(files)} scenarios: the report holds "
                   "those", err=True)  # fmt: skip
        finish(stop)
    _report(results, junit_xml)
    failed = [result.name for result in results if not result.passed]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(results)} scenarios failed: {', '.join(failed)}")


def _done(results: list[Result], result: Result) -> None:
    results.append(result)
    click.echo(f"{result.name}: {result.verdict} ({result.seconds:.0f}s)", err=True)


def _report(results: list[Result], junit_xml: Path | None) -> None:
    """The table and each scenario's problems or error; the JUnit XML: for whatever ran, however the run ended."""
    click.echo(table(rows(results), HEADERS))
    for result in results:
        for problem in [*result.problems, *([result.error] if result.error else [])]:
            click.echo(f"{result.name}: {problem}")
    if junit_xml:
        write_junit(results, junit_xml)
