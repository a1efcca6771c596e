"""Writers for small, real GPX, TCX and FIT files (the FIT one follows the FIT SDK's
binary layout: 14-byte header, definition + data messages, CRC-16)."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)


@dataclass
class Point:
    time: datetime
    lat: float
    lon: float
    alt: float
    hr: int
    distance: float  # cumulative metres as a device would record it


def track(n: int = 300, *, start: datetime | None = None, step_s: int = 2,
          speed: float = 3.2, seed: float = 0.0) -> list[Point]:
    """A gently curving route with an HR ramp; distances recorded by "the device"."""
    t0 = start or datetime(2025, 5, 4, 7, 30, tzinfo=UTC)
    lat, lon, heading, dist = 45.9, 6.12, 0.3 + seed, 0.0
    out = []
    for i in range(n):
        out.append(Point(t0 + timedelta(seconds=i * step_s), round(lat, 7), round(lon, 7),
                         round(450 + 20 * math.sin(i / 40), 1), 120 + (i * 37 % 41), dist))
        heading += 0.01
        d = speed * step_s
        lat += d * math.cos(heading) / 111_320
        lon += d * math.sin(heading) / (111_320 * math.cos(math.radians(lat)))
        dist += d
    return out


def gpx(points: list[Point], name: str = "Morning Run", kind: str = "running") -> bytes:
    pts = "\n".join(
        f'<trkpt lat="{p.lat}" lon="{p.lon}"><ele>{p.alt}</ele>'
        f"<time>{p.time.strftime('%Y-%m-%dT%H:%M:%SZ')}</time>"
        f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{p.hr}</gpxtpx:hr>"
        f"</gpxtpx:TrackPointExtension></extensions></trkpt>" for p in points)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="Pierre test" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>{name}</name><type>{kind}</type><trkseg>{pts}</trkseg></trk></gpx>"
    ).encode()


def tcx(points: list[Point], sport: str = "Biking") -> bytes:
    total_s = (points[-1].time - points[0].time).total_seconds()
    tps = "".join(
        f"<Trackpoint><Time>{p.time.strftime('%Y-%m-%dT%H:%M:%SZ')}</Time>"
        f"<Position><LatitudeDegrees>{p.lat}</LatitudeDegrees>"
        f"<LongitudeDegrees>{p.lon}</LongitudeDegrees></Position>"
        f"<AltitudeMeters>{p.alt}</AltitudeMeters><DistanceMeters>{p.distance:.2f}"
        f"</DistanceMeters><HeartRateBpm><Value>{p.hr}</Value></HeartRateBpm></Trackpoint>"
        for p in points)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase '
        'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        f'<Activities><Activity Sport="{sport}"><Id>{points[0].time.isoformat()}</Id>'
        f'<Lap StartTime="{points[0].time.isoformat()}"><TotalTimeSeconds>{total_s}'
        f"</TotalTimeSeconds><DistanceMeters>{points[-1].distance:.2f}</DistanceMeters>"
        f"<Calories>321</Calories><Track>{tps}</Track></Lap></Activity></Activities>"
        "</TrainingCenterDatabase>"
    ).encode()


_CRC = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
        0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)


def fit_crc(data: bytes, crc: int = 0) -> int:
    for byte in data:
        tmp = _CRC[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC[byte & 0xF]
        tmp = _CRC[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC[(byte >> 4) & 0xF]
    return crc


def _fit_ts(t: datetime) -> int:
    return int((t - FIT_EPOCH).total_seconds())


def _definition(local: int, global_num: int, fields: list[tuple[int, int, int]]) -> bytes:
    out = struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields))
    return out + b"".join(struct.pack("<BBB", *f) for f in fields)


def fit(points: list[Point], sport: int = 1) -> bytes:
    """An activity FIT file: file_id, one record per point, one session (sport 1 = running)."""
    body = bytearray()
    body += _definition(0, 0, [(0, 1, 0x00), (1, 2, 0x84), (4, 4, 0x86)])
    body += struct.pack("<BBHI", 0, 4, 255, _fit_ts(points[0].time))
    rec = [(253, 4, 0x86), (0, 4, 0x85), (1, 4, 0x85), (2, 2, 0x84), (3, 1, 0x02),
           (5, 4, 0x86)]
    body += _definition(1, 20, rec)
    semi = 2**31 / 180.0
    for p in points:
        body += struct.pack("<BIiiHBI", 1, _fit_ts(p.time), round(p.lat * semi),
                            round(p.lon * semi), round((p.alt + 500) * 5), p.hr,
                            round(p.distance * 100))
    elapsed = (points[-1].time - points[0].time).total_seconds()
    avg_hr = round(sum(p.hr for p in points) / len(points))
    body += _definition(2, 18, [(253, 4, 0x86), (2, 4, 0x86), (7, 4, 0x86), (8, 4, 0x86),
                                (9, 4, 0x86), (5, 1, 0x00), (16, 1, 0x02)])
    body += struct.pack("<BIIIIIBB", 2, _fit_ts(points[-1].time), _fit_ts(points[0].time),
                        round(elapsed * 1000), round(elapsed * 1000),
                        round(points[-1].distance * 100), sport, avg_hr)
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    header += struct.pack("<H", fit_crc(header))
    data = header + bytes(body)
    return data + struct.pack("<H", fit_crc(data))
