"""PNG images of the report's main charts, for READMEs and CI artefacts, drawn by matplotlib (Agg, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from velib_replay.report.data import TOTAL_FIELDS, ReportData, network_totals
from velib_replay.report.page import LABELS, PALETTE


def network_png(data: ReportData, path: Path) -> Path:
    totals = network_totals(data.rows)
    times = [time[11:16] for time in totals]
    figure, axes = plt.subplots(figsize=(9, 4), dpi=100)
    for name in TOTAL_FIELDS[1:]:
        axes.plot(times, [total[name] for total in totals.values()], label=LABELS[name], color=PALETTE[name])
    axes.set(title=f"Whole network over time: {data.title}", xlabel="snapshot time (UTC)")
    axes.xaxis.set_major_locator(plt.MaxNLocator(10))
    axes.legend()
    return _save(figure, path)


def map_png(data: ReportData, path: Path) -> Path:
    """The stations at the latest mapped time; a station missing from that snapshot is grey."""
    time, bikes = list(data.bikes.items())[-1]
    figure, axes = plt.subplots(figsize=(8, 6), dpi=100)
    known = [(s, b) for s, b in zip(data.stations, bikes, strict=True) if b is not None]
    missing = [s for s, b in zip(data.stations, bikes, strict=True) if b is None]
    axes.scatter([s.lon for s in missing], [s.lat for s in missing], s=6, c="lightgrey")
    points = axes.scatter([s.lon for s, _ in known], [s.lat for s, _ in known], s=6, c=[b for _, b in known])
    figure.colorbar(points, label="bikes available")
    axes.set(title=f"Stations at {time}", xlabel="longitude", ylabel="latitude")
    axes.set_aspect(1.52)  # 1 / cos(48.86°): degrees of latitude are longer than degrees of longitude in Paris
    return _save(figure, path)


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def write_images(data: ReportData, page: Path) -> list[Path]:
    """``R.network.png`` and ``R.map.png`` (when there is a map) beside ``R.html``."""
    images = [network_png(data, page.with_suffix(".network.png"))]
    if data.stations:
        images.append(map_png(data, page.with_suffix(".map.png")))
    return images
