"""GPX, TCX and FIT files → normalized ActivityDetail with streams (pure, no I/O).

All three formats reduce to a list of timestamped samples; one builder turns
samples into the summary and 1-sample-per-record streams, so the three agree
on how distance (recorded, else haversine), duration and HR are computed.
"""

from __future__ import annotations

import hashlib
import io
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from pierre.errors import InvalidArguments
from pierre.models import ActivityDetail, Streams

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
# A gap longer than this between samples is a pause, not moving time.
PAUSE_S = 30.0
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(slots=True)
class Sample:
    time: datetime
    lat: float | None = None
    lon: float | None = None
    alt: float | None = None
    hr: float | None = None
    cadence: float | None = None
    power: float | None = None
    distance: float | None = None  # cumulative metres when the device recorded it
    speed: float | None = None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _sport(raw: str | None) -> str:
    s = (raw or "").lower()
    if "run" in s:
        return "Run"
    if "bik" in s or "cycl" in s or "ride" in s:
        return "Ride"
    if "swim" in s:
        return "Swim"
    if "walk" in s:
        return "Walk"
    if "hik" in s:
        return "Hike"
    return "Workout" if s else "Run"


def build(samples: list[Sample], *, provider: str, provider_id: str, name: str | None,
          sport: str, device: str | None = None,
          totals: dict[str, float | None] | None = None) -> ActivityDetail:
    """Summary + streams from samples; `totals` (device-recorded) win over computed values."""
    samples = sorted((s for s in samples if s.time is not None), key=lambda s: s.time)
    if len(samples) < 2:
        raise InvalidArguments("the file holds fewer than two timed samples", field="file")
    t0 = samples[0].time
    time_s = [(s.time - t0).total_seconds() for s in samples]
    # cumulative distance: the device's, else haversine between fixes
    dist: list[float | None] = []
    acc = 0.0
    have_recorded = sum(1 for s in samples if s.distance is not None) >= len(samples) // 2
    prev: Sample | None = None
    for s in samples:
        if have_recorded and s.distance is not None:
            acc = s.distance
        elif (not have_recorded and prev is not None and None not in (s.lat, s.lon)
              and prev.lat is not None and prev.lon is not None):
            acc += haversine_m(prev.lat, prev.lon, s.lat, s.lon)  # type: ignore[arg-type]
        dist.append(acc)
        if s.lat is not None and s.lon is not None:
            prev = s
    elapsed = time_s[-1]
    moving = sum(b - a for a, b in pairwise(time_s) if b - a <= PAUSE_S)
    velocity: list[float | None] = [None]
    for i in range(1, len(samples)):
        dt = time_s[i] - time_s[i - 1]
        d0, d1 = dist[i - 1], dist[i]
        velocity.append(round((d1 - d0) / dt, 3) if dt > 0 and d0 is not None
                        and d1 is not None else None)
    velocity[0] = velocity[1] if len(velocity) > 1 else None
    hrs = [s.hr for s in samples if s.hr is not None]
    pws = [s.power for s in samples if s.power is not None]
    cads = [s.cadence for s in samples if s.cadence is not None]
    alts = [s.alt for s in samples if s.alt is not None]
    gain = sum(max(0.0, b - a) for a, b in pairwise(alts))
    totals = totals or {}
    distance = totals.get("distance_m") or (dist[-1] or 0.0)
    moving = totals.get("moving_time_s") or moving
    elapsed = totals.get("elapsed_time_s") or elapsed
    first_fix = next(((s.lat, s.lon) for s in samples
                      if s.lat is not None and s.lon is not None), None)
    has_pos = first_fix is not None
    streams = Streams(
        time_s=time_s,
        distance_m=[round(d, 2) if d is not None else None for d in dist],
        latlng=[(s.lat, s.lon) if s.lat is not None and s.lon is not None else None
                for s in samples] if has_pos else None,
        altitude_m=[s.alt for s in samples] if alts else None,
        heartrate_bpm=[s.hr for s in samples] if hrs else None,
        cadence_rpm=[s.cadence for s in samples] if cads else None,
        power_w=[s.power for s in samples] if pws else None,
        velocity_mps=velocity,
    )
    return ActivityDetail(
        provider=provider, provider_id=provider_id, name=name or f"{sport} {t0:%Y-%m-%d}",
        sport_type=sport, start_utc=t0, distance_m=round(distance, 2),
        moving_time_s=moving, elapsed_time_s=elapsed,
        elevation_gain_m=round(totals.get("elevation_gain_m") or gain, 1) if alts or
        totals.get("elevation_gain_m") else None,
        average_speed_mps=round(distance / moving, 3) if moving else None,
        max_speed_mps=max((v for v in velocity if v is not None), default=None),
        average_hr_bpm=round(totals.get("average_hr_bpm") or sum(hrs) / len(hrs), 1)
        if hrs else totals.get("average_hr_bpm"),
        max_hr_bpm=max(hrs) if hrs else totals.get("max_hr_bpm"),
        average_cadence_rpm=round(sum(cads) / len(cads), 1) if cads else None,
        average_power_w=round(sum(pws) / len(pws), 1) if pws else None,
        max_power_w=max(pws) if pws else None,
        calories_kcal=totals.get("calories_kcal"), device=device,
        start_latlng=first_fix if has_pos else None,
        streams=streams,
    )


def fingerprint(a: ActivityDetail) -> str:
    """Same start second + sport + distance to 10 m = same activity (re-exported files)."""
    raw = f"{int(a.start_utc.timestamp())}|{a.sport_type}|{round((a.distance_m or 0) / 10)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


# -- GPX ----------------------------------------------------------------------------
def parse_gpx(data: bytes, *, provider: str = "localfiles") -> ActivityDetail:
    import gpxpy
    import gpxpy.gpx

    try:
        gpx = gpxpy.parse(io.StringIO(data.decode("utf-8-sig")))
    except (gpxpy.gpx.GPXException, UnicodeDecodeError, ValueError) as exc:
        raise InvalidArguments(f"not a valid GPX file: {exc}", field="file") from None
    samples: list[Sample] = []
    name, kind = None, None
    for trk in gpx.tracks:
        name = name or trk.name
        kind = kind or trk.type
        for seg in trk.segments:
            for p in seg.points:
                if p.time is None:
                    continue
                s = Sample(time=_utc(p.time), lat=p.latitude, lon=p.longitude, alt=p.elevation)
                for ext in p.extensions:
                    for el in ext.iter():
                        tag = el.tag.rsplit("}", 1)[-1].lower()
                        if el.text is None:
                            continue
                        if tag == "hr":
                            s.hr = float(el.text)
                        elif tag == "cad":
                            s.cadence = float(el.text)
                        elif tag in ("power", "watts"):
                            s.power = float(el.text)
                samples.append(s)
    a = build(samples, provider=provider, provider_id="", name=name, sport=_sport(kind),
              device=gpx.creator)
    a.provider_id = fingerprint(a)[:16]
    return a


# -- TCX ----------------------------------------------------------------------------
_TCX = "{http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2}"


def _text(el: ET.Element | None, path: str) -> str | None:
    if el is None:
        return None
    found = el.find(path)
    return found.text if found is not None and found.text else None


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


def parse_tcx(data: bytes, *, provider: str = "localfiles") -> ActivityDetail:
    try:
        root = ET.fromstring(data.lstrip())
    except ET.ParseError as exc:
        raise InvalidArguments(f"not a valid TCX file: {exc}", field="file") from None
    act = root.find(f"{_TCX}Activities/{_TCX}Activity")
    if act is None:
        raise InvalidArguments("TCX file holds no activity", field="file")
    samples: list[Sample] = []
    total_dist = 0.0
    total_time = 0.0
    calories = 0.0
    for lap in act.findall(f"{_TCX}Lap"):
        total_dist += _float(_text(lap, f"{_TCX}DistanceMeters")) or 0.0
        total_time += _float(_text(lap, f"{_TCX}TotalTimeSeconds")) or 0.0
        calories += _float(_text(lap, f"{_TCX}Calories")) or 0.0
        for tp in lap.iter(f"{_TCX}Trackpoint"):
            t = _text(tp, f"{_TCX}Time")
            if t is None:
                continue
            s = Sample(time=_utc(datetime.fromisoformat(t.replace("Z", "+00:00"))),
                       lat=_float(_text(tp, f"{_TCX}Position/{_TCX}LatitudeDegrees")),
                       lon=_float(_text(tp, f"{_TCX}Position/{_TCX}LongitudeDegrees")),
                       alt=_float(_text(tp, f"{_TCX}AltitudeMeters")),
                       hr=_float(_text(tp, f"{_TCX}HeartRateBpm/{_TCX}Value")),
                       cadence=_float(_text(tp, f"{_TCX}Cadence")),
                       distance=_float(_text(tp, f"{_TCX}DistanceMeters")))
            for el in tp.iter():
                tag = el.tag.rsplit("}", 1)[-1]
                if tag == "Watts" and el.text:
                    s.power = _float(el.text)
            samples.append(s)
    device = _text(act, f"{_TCX}Creator/{_TCX}Name")
    a = build(samples, provider=provider, provider_id="", name=_text(act, f"{_TCX}Notes"),
              sport=_sport(act.get("Sport")), device=device,
              totals={"distance_m": total_dist or None, "calories_kcal": calories or None})
    a.provider_id = fingerprint(a)[:16]
    return a


# -- FIT ----------------------------------------------------------------------------
_SEMI = 180.0 / 2**31


def parse_fit(data: bytes, *, provider: str = "localfiles") -> ActivityDetail:
    import fitdecode

    samples: list[Sample] = []
    totals: dict[str, float | None] = {}
    sport: str | None = None
    device: str | None = None
    try:
        with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.ENABLED) as fr:
            for frame in fr:
                if not isinstance(frame, fitdecode.FitDataMessage):
                    continue

                def get(field: str, frame: fitdecode.FitDataMessage = frame) -> object:
                    return frame.get_value(field) if frame.has_field(field) else None

                if frame.name == "record":
                    ts = get("timestamp")
                    if not isinstance(ts, datetime):
                        continue
                    lat, lon = get("position_lat"), get("position_long")
                    samples.append(Sample(
                        time=_utc(ts),
                        lat=lat * _SEMI if isinstance(lat, int) else None,
                        lon=lon * _SEMI if isinstance(lon, int) else None,
                        alt=_num(get("enhanced_altitude")) or _num(get("altitude")),
                        hr=_num(get("heart_rate")), cadence=_num(get("cadence")),
                        power=_num(get("power")), distance=_num(get("distance")),
                        speed=_num(get("enhanced_speed")) or _num(get("speed"))))
                elif frame.name == "session":
                    sport = str(get("sport") or "") or sport
                    totals = {"distance_m": _num(get("total_distance")),
                              "elapsed_time_s": _num(get("total_elapsed_time")),
                              "moving_time_s": _num(get("total_timer_time")),
                              "calories_kcal": _num(get("total_calories")),
                              "elevation_gain_m": _num(get("total_ascent")),
                              "average_hr_bpm": _num(get("avg_heart_rate"))}
                elif frame.name == "file_id":
                    device = str(get("manufacturer") or "") or None
    except fitdecode.FitError as exc:
        raise InvalidArguments(f"not a valid FIT file: {exc}", field="file") from None
    a = build(samples, provider=provider, provider_id="", name=None, sport=_sport(sport),
              device=device, totals=totals)
    a.provider_id = fingerprint(a)[:16]
    return a


def _num(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def parse_file(filename: str, data: bytes, *, provider: str = "localfiles") -> ActivityDetail:
    """Dispatch on the extension (or the content when the extension is unknown)."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidArguments(f"{filename}: file is larger than 50 MiB", field="file")
    low = filename.lower()
    head = data[:512].lstrip()
    if low.endswith(".gpx") or (b"<gpx" in head):
        return parse_gpx(data, provider=provider)
    if low.endswith(".tcx") or b"TrainingCenterDatabase" in head:
        return parse_tcx(data, provider=provider)
    if low.endswith(".fit") or data[8:12] == b".FIT":
        return parse_fit(data, provider=provider)
    raise InvalidArguments(f"{filename}: not a GPX, TCX or FIT file", field="file")
