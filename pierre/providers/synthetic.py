"""A deterministic synthetic athlete: months of runs and rides, sleep, resting HR and HRV.

Everything is a pure function of `[providers.synthetic] seed` and the calendar
day, so the same seed gives the same history on every machine and every day
(the window only slides forward). Summaries come from one small RNG per day, so
a year lists in milliseconds; streams and laps are generated on demand from a
per-activity seed and are rescaled to agree with the summary (distance, mean
HR, mean power, elevation gain).
"""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pierre.errors import InvalidArguments, NotFound
from pierre.models import (
    ActivityDetail,
    ActivityQuery,
    ActivitySummary,
    Athlete,
    DailyHeart,
    Lap,
    SleepSession,
    SleepStage,
    Stats,
    Streams,
    Zone,
    Zones,
)
from pierre.plugins.provider import CallContext, Provider
from pierre.providers.summaries import apply_query, stats_from

_FIRST = ("Alex", "Sam", "Camille", "Noa", "Jules", "Robin", "Charlie", "Andrea")
_LAST = ("Martin", "Bernard", "Moreau", "Laurent", "Girard", "Fontaine", "Chevalier")
# weekday -> (sport, workout kind, probability it happens)
_PLAN: dict[int, tuple[str, str, float]] = {
    0: ("Ride", "recovery", 0.3),
    1: ("Run", "intervals", 0.9),
    2: ("Ride", "endurance", 0.85),
    3: ("Run", "tempo", 0.9),
    4: ("Run", "easy", 0.5),
    5: ("Ride", "long", 0.9),
    6: ("Run", "long", 0.9),
}
# kind -> (duration range s, intensity as fraction of threshold)
_RUN_KINDS = {"easy": ((2400, 3600), 0.78), "tempo": ((2700, 3900), 0.9),
              "intervals": ((2700, 4200), 0.86), "long": ((4800, 7800), 0.8)}
_RIDE_KINDS = {"recovery": ((2400, 3600), 0.55), "endurance": ((3600, 5400), 0.68),
               "long": ((7200, 14400), 0.66)}
_NAMES = {("Run", "easy"): "Easy run", ("Run", "tempo"): "Tempo run",
          ("Run", "intervals"): "Track intervals", ("Run", "long"): "Long run",
          ("Ride", "recovery"): "Recovery spin", ("Ride", "endurance"): "Endurance ride",
          ("Ride", "long"): "Long ride"}


class SyntheticProvider(Provider):
    """Built-in demo/test provider; needs no credentials and connects at once."""

    name = "synthetic"
    display_name = "Synthetic athlete"
    capabilities = frozenset({"athlete", "activities", "activity", "streams", "laps", "stats",
                              "zones", "sleep", "daily_heart"})

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.seed = int(self.options.get("seed", 42))
        self.days = int(self.options.get("days", 365))
        self.utc_offset_s = int(self.options.get("utc_offset_s", 3600))
        end = self.options.get("end_date")
        self._fixed_end = date.fromisoformat(str(end)) if end else None
        rng = random.Random(f"{self.seed}:athlete")
        self.sex = rng.choice(("M", "F"))
        self.firstname = rng.choice(_FIRST)
        self.lastname = rng.choice(_LAST)
        self.max_hr = float(rng.randint(178, 198))
        self.rest_hr = float(rng.randint(42, 56))
        self.ftp = float(rng.randint(200, 300))
        self.weight = round(rng.uniform(56, 82), 1)
        self.threshold_speed = rng.uniform(3.6, 4.4)  # m/s at the start of the history
        self.home = (45.899 + rng.uniform(-0.05, 0.05), 6.129 + rng.uniform(-0.05, 0.05))
        self._day_cache: dict[int, list[ActivitySummary]] = {}

    # -- calendar ------------------------------------------------------------------
    def _end(self) -> date:
        return self._fixed_end or datetime.now(UTC).date()

    def _range(self) -> tuple[int, int]:
        end = self._end().toordinal()
        return end - self.days + 1, end

    def _fitness(self, ordinal: int) -> float:
        """0 → 1 across the history: the athlete gets fitter, with a summer bump."""
        first, last = self._range()
        span = max(1, last - first)
        return min(1.0, max(0.0, (ordinal - first) / span))

    def _day(self, ordinal: int) -> list[ActivitySummary]:
        cached = self._day_cache.get(ordinal)
        if cached is not None:
            return cached
        out = [a for a in (self._make(ordinal, 0),) if a is not None]
        if len(self._day_cache) > 4096:
            self._day_cache.clear()
        self._day_cache[ordinal] = out
        return out

    def _make(self, ordinal: int, slot: int) -> ActivitySummary | None:
        rng = random.Random(f"{self.seed}:{ordinal}:{slot}")
        day = date.fromordinal(ordinal)
        sport, kind, prob = _PLAN[day.weekday()]
        if rng.random() > prob:
            return None
        fit = self._fitness(ordinal)
        weekend = day.weekday() >= 5
        start_min = rng.randint(8 * 60, 10 * 60) if weekend else rng.randint(6 * 60, 7 * 60 + 30)
        local = datetime(day.year, day.month, day.day) + timedelta(minutes=start_min)
        start_utc = (local - timedelta(seconds=self.utc_offset_s)).replace(tzinfo=UTC)
        (lo, hi), intensity = (_RUN_KINDS if sport == "Run" else _RIDE_KINDS)[kind]
        moving = float(rng.randint(lo, hi) // 10 * 10)
        intensity *= rng.uniform(0.97, 1.03)
        hr_frac = 0.55 + 0.45 * intensity  # of heart-rate reserve
        avg_hr = round(self.rest_hr + (self.max_hr - self.rest_hr) * hr_frac, 1)
        summary: dict[str, Any] = {}
        if sport == "Run":
            speed = self.threshold_speed * (1 + 0.08 * fit) * intensity * rng.uniform(0.98, 1.02)
            gain_per_km = rng.uniform(4, 18)
            summary.update(average_cadence_rpm=round(82 + 8 * intensity + rng.uniform(-2, 2), 1),
                           calories_kcal=round(moving * speed / 1000 * self.weight * 1.0, 0),
                           max_speed_mps=round(speed * rng.uniform(1.25, 1.45), 3))
        else:
            speed = rng.uniform(7.0, 8.6) * (0.85 + 0.25 * intensity)
            gain_per_km = rng.uniform(6, 22)
            ftp = self.ftp * (1 + 0.06 * fit)
            power = round(ftp * intensity, 1)
            summary.update(average_power_w=power,
                           weighted_average_power_w=round(power * rng.uniform(1.03, 1.09), 1),
                           max_power_w=round(power * rng.uniform(2.4, 3.4), 0),
                           average_cadence_rpm=round(rng.uniform(84, 94), 1),
                           calories_kcal=round(power * moving / 1000 / 0.24 / 4.184, 0),
                           max_speed_mps=round(speed * rng.uniform(1.6, 2.0), 3))
        distance = round(speed * moving, 1)
        return ActivitySummary(
            provider=self.name,
            provider_id=str(ordinal * 10 + slot),
            name=_NAMES[(sport, kind)],
            sport_type=sport,
            start_utc=start_utc,
            start_local=local,
            utc_offset_s=self.utc_offset_s,
            distance_m=distance,
            moving_time_s=moving,
            elapsed_time_s=moving + rng.randint(0, 12) * 10,
            elevation_gain_m=round(distance / 1000 * gain_per_km, 1),
            average_speed_mps=round(distance / moving, 3),
            average_hr_bpm=avg_hr,
            max_hr_bpm=round(min(self.max_hr, avg_hr + rng.uniform(12, 24)), 0),
            device="Pierre Synthetic Watch",
            gear_id="synthetic-shoes" if sport == "Run" else "synthetic-bike",
            start_latlng=(round(self.home[0] + rng.uniform(-0.01, 0.01), 6),
                          round(self.home[1] + rng.uniform(-0.01, 0.01), 6)),
            **summary,
        )

    def all_activities(self, first: int | None = None, last: int | None = None,
                       now: datetime | None = None) -> list[ActivitySummary]:
        lo, hi = self._range()
        lo, hi = max(lo, first or lo), min(hi, last or hi)
        now = now or datetime.now(UTC)
        out: list[ActivitySummary] = []
        for ordinal in range(hi, lo - 1, -1):
            out.extend(a for a in self._day(ordinal) if a.start_utc <= now)
        return out

    # -- provider API --------------------------------------------------------------
    async def athlete(self, ctx: CallContext) -> Athlete:
        return Athlete(provider=self.name, provider_id=f"synthetic-{self.seed}",
                       firstname=self.firstname, lastname=self.lastname, sex=self.sex,
                       weight_kg=self.weight, city="Annecy", country="France",
                       ftp_w=round(self.ftp * 1.06, 0), max_hr_bpm=self.max_hr,
                       resting_hr_bpm=self.rest_hr)

    async def activities(self, ctx: CallContext, query: ActivityQuery) -> list[ActivitySummary]:
        first = (query.after - timedelta(days=1)).date().toordinal() if query.after else None
        last = (query.before + timedelta(days=1)).date().toordinal() if query.before else None
        return apply_query(self.all_activities(first, last), query)

    def _summary(self, activity_id: str) -> ActivitySummary:
        try:
            n = int(activity_id)
        except ValueError:
            raise NotFound(f"activity {activity_id} not found") from None
        ordinal, slot = divmod(n, 10)
        lo, hi = self._range()
        found = self._make(ordinal, slot) if lo <= ordinal <= hi else None
        if found is None or found.start_utc > datetime.now(UTC):
            raise NotFound(f"activity {activity_id} not found")
        return found

    async def activity(self, ctx: CallContext, activity_id: str, *, streams: bool = False,
                       laps: bool = False) -> ActivityDetail:
        s = self._summary(activity_id)
        detail = ActivityDetail(**{f: getattr(s, f) for f in s.__struct_fields__},
                                description=f"Synthetic {s.name.lower()} (seed {self.seed})")
        if streams or laps:
            series = self.streams_for(s)
            if streams:
                detail.streams = series
            if laps:
                detail.laps = laps_from_streams(series, 1000.0 if s.sport_type == "Run"
                                                else 5000.0, s.start_utc)
        return detail

    async def stats(self, ctx: CallContext) -> Stats:
        return stats_from(self.name, self.all_activities())

    async def zones(self, ctx: CallContext) -> Zones:
        m = self.max_hr
        hr_edges = [0, round(m * 0.6), round(m * 0.7), round(m * 0.8), round(m * 0.9)]
        hr = [Zone(min=hr_edges[i], max=hr_edges[i + 1] if i + 1 < len(hr_edges) else None)
              for i in range(len(hr_edges))]
        ftp = round(self.ftp * 1.06)
        p_edges = [0, 0.56, 0.76, 0.91, 1.06, 1.21, 1.51]
        power = [Zone(min=round(ftp * p_edges[i]),
                      max=round(ftp * p_edges[i + 1]) if i + 1 < len(p_edges) else None)
                 for i in range(len(p_edges))]
        return Zones(provider=self.name, heart_rate_bpm=hr, power_w=power, custom=False)

    def _check_range(self, start: date, end: date) -> None:
        if end < start:
            raise InvalidArguments("end date is before start date", field="end")
        if (end - start).days > 3 * 366:
            raise InvalidArguments("date range is limited to 3 years", field="start")

    async def sleep(self, ctx: CallContext, start: date, end: date) -> list[SleepSession]:
        self._check_range(start, end)
        lo, hi = self._range()
        return [self._sleep(o) for o in range(max(lo, start.toordinal()),
                                              min(hi, end.toordinal()) + 1)]

    async def daily_heart(self, ctx: CallContext, start: date, end: date) -> list[DailyHeart]:
        self._check_range(start, end)
        lo, hi = self._range()
        out = []
        for o in range(max(lo, start.toordinal()), min(hi, end.toordinal()) + 1):
            rng = random.Random(f"{self.seed}:{o}:heart")
            load = sum((a.moving_time_s or 0) * (a.average_hr_bpm or 0) for a in self._day(o - 1))
            fatigue = load / 600_000  # a 2 h hard session adds ~2 bpm
            out.append(DailyHeart(
                provider=self.name, date=date.fromordinal(o),
                resting_hr_bpm=round(self.rest_hr - 2 * self._fitness(o) + fatigue
                                     + rng.gauss(0, 1.2), 0),
                hrv_rmssd_ms=round(max(15.0, 70 + 8 * self._fitness(o) - 4 * fatigue
                                       + rng.gauss(0, 6)), 1),
            ))
        return out

    def _sleep(self, ordinal: int) -> SleepSession:
        rng = random.Random(f"{self.seed}:{ordinal}:sleep")
        wake_day = date.fromordinal(ordinal)
        bed_local = (datetime(wake_day.year, wake_day.month, wake_day.day)
                     - timedelta(minutes=rng.randint(30, 100)))
        t = (bed_local - timedelta(seconds=self.utc_offset_s)).replace(tzinfo=UTC)
        start = t
        total = rng.randint(6 * 3600 + 1800, 8 * 3600 + 1800)
        stages: list[SleepStage] = []
        latency = rng.randint(5, 20) * 60
        stages.append(SleepStage(start_utc=t, duration_s=float(latency), stage="awake"))
        t += timedelta(seconds=latency)
        end = start + timedelta(seconds=total)
        cycle = 0
        while t < end - timedelta(minutes=10):
            deep = max(0, rng.randint(15, 35) - 6 * cycle) * 60
            rem = (rng.randint(8, 15) + 5 * cycle) * 60
            for stage, dur in (("light", rng.randint(20, 35) * 60), ("deep", deep),
                               ("light", rng.randint(8, 15) * 60), ("rem", rem),
                               ("awake", rng.choice((0, 0, 60, 120, 180)))):
                dur = min(dur, int((end - t).total_seconds()))
                if dur <= 0:
                    continue
                stages.append(SleepStage(start_utc=t, duration_s=float(dur), stage=stage))
                t += timedelta(seconds=dur)
            cycle += 1
        sums = {k: sum(s.duration_s for s in stages if s.stage == k)
                for k in ("awake", "light", "deep", "rem")}
        duration = (t - start).total_seconds()
        asleep = duration - sums["awake"]
        return SleepSession(
            provider=self.name, provider_id=f"sleep-{ordinal}", date=wake_day,
            start_utc=start, end_utc=t, duration_s=duration, asleep_s=asleep,
            awake_s=sums["awake"], deep_s=sums["deep"], light_s=sums["light"],
            rem_s=sums["rem"], efficiency_pct=round(100 * asleep / duration, 1),
            score=round(min(100.0, 50 + asleep / 3600 * 5 + sums["deep"] / 600), 0),
            stages=stages,
        )

    # -- streams -------------------------------------------------------------------
    def streams_for(self, s: ActivitySummary) -> Streams:
        """Series that agree with the summary: distance, mean HR/power, elevation gain."""
        rng = random.Random(f"{self.seed}:{s.provider_id}:streams")
        run = s.sport_type == "Run"
        dt = 1.0 if run else 5.0
        moving = s.moving_time_s or 0.0
        n = max(2, int(moving / dt))
        interval_kind = "intervals" in s.name.lower() or "track" in s.name.lower()
        # relative effort profile: warm-up, main set, cool-down
        effort = []
        for i in range(n):
            x = i / n
            e = 0.85 if x < 0.12 or x > 0.9 else 1.0
            if interval_kind and 0.12 <= x <= 0.9:
                e = 1.15 if int((x - 0.12) * n * dt / 180) % 2 == 0 else 0.8
            effort.append(e)
        v_raw, ar = [], 0.0
        for e in effort:
            ar = 0.9 * ar + rng.gauss(0, 0.03)
            v_raw.append(max(0.3, e * (1 + ar)))
        scale = (s.distance_m or 0.0) / (sum(v_raw) * dt) if sum(v_raw) else 0.0
        velocity = [round(v * scale, 3) for v in v_raw]
        distance, acc = [], 0.0
        for v in velocity:
            distance.append(round(acc, 1))
            acc += v * dt
        # heart rate: first-order response to effort, then shifted to the summary mean
        hr_raw, h = [], (s.average_hr_bpm or 140) * 0.8
        for i, e in enumerate(effort):
            target = (s.average_hr_bpm or 140) * (0.9 + 0.1 * e) * (1 + 0.04 * i / n)
            h += (target - h) * min(1.0, dt / 30.0)
            hr_raw.append(h + rng.gauss(0, 1.0))
        shift = (s.average_hr_bpm or 0.0) - sum(hr_raw) / n
        heartrate: list[float | None] = [round(min(self.max_hr, x + shift), 0) for x in hr_raw]
        # altitude: a few hills whose total ascent is rescaled to the summary's gain
        phases = [(rng.uniform(1, 6), rng.uniform(0, math.tau), rng.uniform(0.3, 1))
                  for _ in range(3)]
        alt_raw = [sum(a * math.sin(f * math.tau * i / n + p) for f, p, a in phases)
                   for i in range(n)]
        raw_gain = sum(max(0.0, b - a) for a, b in itertools.pairwise(alt_raw))
        k = (s.elevation_gain_m or 0.0) / raw_gain if raw_gain else 0.0
        altitude: list[float | None] = [round(450 + k * a, 1) for a in alt_raw]
        # position: a heading random walk from the start point
        lat, lon = s.start_latlng or self.home
        heading = rng.uniform(0, math.tau)
        latlng: list[tuple[float, float] | None] = []
        for v in velocity:
            latlng.append((round(lat, 6), round(lon, 6)))
            heading += rng.gauss(0, 0.05)
            step = v * dt
            lat += step * math.cos(heading) / 111_320
            lon += step * math.sin(heading) / (111_320 * math.cos(math.radians(lat)))
        base_cad = s.average_cadence_rpm or (86.0 if run else 88.0)
        cadence: list[float | None] = [round(base_cad * (0.97 + 0.03 * e) + rng.gauss(0, 1), 0)
                                       for e in effort]
        power: list[float | None] | None = None
        if s.average_power_w:
            p_raw = [max(0.0, e * (1 + rng.gauss(0, 0.12))) for e in effort]
            pk = s.average_power_w / (sum(p_raw) / n)
            power = [round(p * pk, 0) for p in p_raw]
        return Streams(
            time_s=[i * dt for i in range(n)], distance_m=list(distance), latlng=latlng,
            altitude_m=altitude, heartrate_bpm=heartrate, cadence_rpm=cadence,
            power_w=power, velocity_mps=list(velocity),
        )


def laps_from_streams(st: Streams, every_m: float, start_utc: datetime) -> list[Lap]:
    """Auto-laps every `every_m` metres (the last lap is the remainder)."""
    dist = st.distance_m or []
    if not dist:
        return []
    laps: list[Lap] = []
    begin = 0
    n = len(st.time_s)
    step = (st.time_s[1] - st.time_s[0]) if n > 1 else 1.0
    total = (dist[-1] or 0.0) + ((st.velocity_mps or [0.0] * n)[-1] or 0.0) * step

    def at(i: int) -> float:
        return total if i >= n else (dist[i] or 0.0)

    for i in range(1, n + 1):
        d_i, d0 = at(i), at(begin)
        if d_i - d0 >= every_m or (i == n and i - begin > 1):
            hr = [x for x in (st.heartrate_bpm or [])[begin:i] if x is not None]
            pw = [x for x in (st.power_w or [])[begin:i] if x is not None]
            alt = [x for x in (st.altitude_m or [])[begin:i] if x is not None]
            elapsed = (i - begin) * step
            gain = sum(max(0.0, b - a) for a, b in itertools.pairwise(alt))
            laps.append(Lap(
                index=len(laps) + 1,
                start_utc=start_utc + timedelta(seconds=st.time_s[begin]),
                distance_m=round(d_i - d0, 1), elapsed_time_s=elapsed, moving_time_s=elapsed,
                average_speed_mps=round((d_i - d0) / elapsed, 3) if elapsed else None,
                average_hr_bpm=round(sum(hr) / len(hr), 1) if hr else None,
                max_hr_bpm=max(hr) if hr else None,
                average_power_w=round(sum(pw) / len(pw), 1) if pw else None,
                elevation_gain_m=round(gain, 1),
            ))
            begin = i
    return laps
