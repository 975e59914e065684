"""``velib-replay scenario run``: TOML test cases of the whole pipeline under faults, with a verdict each."""

from __future__ import annotations

from pathlib import Path

import click

from velib_replay.cli import options
from velib_replay.cli.stopping import finish
from velib_replay.cli.tables import table
from velib_replay.scenario.report import HEADERS, rows, write_junit
from velib_replay.scenario.runner import run_scenarios
from velib_replay.scenario.spec import scenario_files
from velib_replay.signals import Interrupted, StopRequest


@click.group("scenario")
def command() -> None:
    """Scenarios: small TOML test cases (play with faults, process rounds, broker restart, job kill) and
    their expected outcome (README's 'Scenarios')."""


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
def run(paths: tuple[Path, ...], bootstrap_servers: str | None, junit_xml: Path | None) -> None:
    """Run each scenario FILE (or every *.toml in DIR) with topics of its own; exit 1 if any fails."""
    stop = StopRequest()
    try:
        with stop.handled(), stop.interruptible():  # a signal unwinds the steps: broker and job stop
            results = run_scenarios(
                scenario_files(list(paths)),
                bootstrap_servers=bootstrap_servers,
                on_result=lambda result: click.echo(
                    f"{result.name}: {rows([result])[0][3]} ({result.seconds:.0f}s)", err=True
                ),
            )
    except Interrupted:
        click.echo(f"Interrupted by {stop.reason}: the running scenario was stopped", err=True)
        finish(stop)
    click.echo(table(rows(results), HEADERS))
    for result in results:
        for problem in result.problems:
            click.echo(f"{result.name}: {problem}")
    if junit_xml:
        write_junit(results, junit_xml)
    failed = [result.name for result in results if not result.passed]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(results)} scenarios failed: {', '.join(failed)}")
