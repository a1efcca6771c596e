"""GPX, TCX and FIT files parse to the right distance, duration and heart rate."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from pierre.errors import InvalidArguments
from pierre.models import ActivityQuery
from pierre.plugins.provider import CallContext, UserRef
from pierre.providers.localfiles import LocalFilesProvider
from pierre.providers.parsing import parse_file
from pierre.providers.store import MemoryProviderStore
from tests.providers import samples

DATA = Path(__file__).resolve().parents[1] / "data"


def haversine_sum(points: list[samples.Point]) -> float:
    """Independent of the code under test: great-circle sum on a 6371.0088 km sphere."""
    total = 0.0
    for a, b in itertools.pairwise(points):
        p1, p2 = math.radians(a.lat), math.radians(b.lat)
        h = (math.sin((p2 - p1) / 2) ** 2
             + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2)
        total += 2 * 6_371_008.8 * math.asin(math.sqrt(h))
    return total


def test_gpx_distance_is_haversine_sum_and_hr_is_mean() -> None:
    pts = samples.track(400, step_s=1)
    a = parse_file("run.gpx", samples.gpx(pts))
    assert a.sport_type == "Run" and a.name == "Morning Run"
    assert a.distance_m == pytest.approx(haversine_sum(pts), abs=0.05)
    assert a.elapsed_time_s == (pts[-1].time - pts[0].time).total_seconds()
    assert a.average_hr_bpm == pytest.approx(sum(p.hr for p in pts) / len(pts), abs=0.05)
    assert a.max_hr_bpm == max(p.hr for p in pts)
    assert a.start_utc == pts[0].time
    assert a.streams is not None and len(a.streams.time_s) == len(pts)


def test_tcx_uses_recorded_distance() -> None:
    pts = samples.track(250, step_s=2, speed=7.5)
    a = parse_file("ride.tcx", samples.tcx(pts))
    assert a.sport_type == "Ride"
    assert a.distance_m == pytest.approx(pts[-1].distance, abs=0.01)
    assert a.elapsed_time_s == (pts[-1].time - pts[0].time).total_seconds()
    assert a.average_hr_bpm == pytest.approx(sum(p.hr for p in pts) / len(pts), abs=0.05)
    assert a.calories_kcal == 321


def test_fit_binary_file_parses() -> None:
    pts = samples.track(300, step_s=1)
    a = parse_file("run.fit", samples.fit(pts))
    assert a.sport_type == "Run"
    assert a.distance_m == pytest.approx(pts[-1].distance, abs=0.01)
    assert a.elapsed_time_s == pytest.approx((pts[-1].time - pts[0].time).total_seconds())
    assert a.average_hr_bpm == pytest.approx(round(sum(p.hr for p in pts) / len(pts)), abs=0.5)
    assert a.streams is not None and a.streams.latlng is not None
    lat, lon = a.streams.latlng[10] or (0, 0)
    assert lat == pytest.approx(pts[10].lat, abs=1e-6) and lon == pytest.approx(pts[10].lon,
                                                                                 abs=1e-6)


@pytest.mark.parametrize("name", ["sample_run.gpx", "sample_ride.tcx", "sample_run.fit"])
def test_committed_samples_parse(name: str) -> None:
    a = parse_file(name, (DATA / name).read_bytes())
    assert (a.distance_m or 0) > 500 and (a.elapsed_time_s or 0) > 100
    assert a.average_hr_bpm and 100 < a.average_hr_bpm < 200


@pytest.mark.parametrize("data", [b"", b"<gpx><trk>", b"hello world", b"\x0e\x20" + b"\0" * 30])
def test_garbage_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(InvalidArguments):
        parse_file("x.gpx" if data.startswith(b"<") else "x.bin", data)


async def test_import_deduplicates_same_activity_across_formats() -> None:
    p = LocalFilesProvider()
    ctx = CallContext(user=UserRef("t", "u"), store=MemoryProviderStore())
    pts = samples.track(200, step_s=1)
    other = samples.track(200, step_s=1, start=pts[0].time.replace(day=5))
    out = await p.import_files(ctx, [("a.tcx", samples.tcx(pts, sport="Running")),
                                     ("a.fit", samples.fit(pts)),
                                     ("b.gpx", samples.gpx(other)),
                                     ("bad.gpx", b"<gpx")])
    assert len(out["imported"]) == 2 and out["duplicates"] == ["a.fit"]
    assert [e["file"] for e in out["errors"]] == ["bad.gpx"]
    listed = await p.activities(ctx, ActivityQuery(limit=10))
    assert [a.start_utc for a in listed] == [other[0].time, pts[0].time]
    d = await p.activity(ctx, listed[0].provider_id, streams=True, laps=True)
    assert d.streams is not None and d.laps
