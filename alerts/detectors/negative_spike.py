"""Negative volume spike: a multi-scale, seasonal, over-dispersed count test calibrated online
to a false-alarm budget.

Per topic the detector keeps a small JSON-serialisable state. Each bucket it predicts the count
from a multiplicative baseline (level x hour of day x weekday, learned online with a lag so a
rise is never learned before it can alarm), and tests the last 1, 3, 6 and 12 buckets (5, 15, 30,
60 minutes) at once: per window, the signed root of the Poisson deviance of the observed against
the expected sum, divided by the window's own over-dispersion, learned online. Real counts are
far burstier than any count model, so each window's statistic is also calibrated on its own
history: its excursions above a fixed level are counted once each (declustered), their excess
fitted by an exponential tail, and the threshold is the level that tail crosses once per the
false-alarm budget (a week, a month, a year for 关注, 预警, 危机). See ``docs/detector.md`` and
``bench/early_warning.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

STATE_VERSION = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# 1970-01-01 was a Thursday; weekday index 0 = Monday as in datetime.weekday().
_EPOCH_WEEKDAY = 3


class SpikeSettings(BaseModel):
    """Settings of :class:`SpikeDetector`; the defaults are the ones the benchmark reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket_minutes: int = Field(5, ge=1, le=1440)
    # Local time used for hour of day and weekday (Asia/Shanghai has no DST, so an offset is
    # exact there and far cheaper than a zoneinfo lookup per bucket).
    utc_offset_minutes: int = Field(480, ge=-720, le=840)
    # The windows tested at once, in minutes (rounded to whole buckets).
    window_minutes: tuple[int, ...] = (5, 15, 30, 60, 120)

    # False-alarm budget per topic and week for info, warning and critical: each sets the
    # thresholds of its severity.
    false_alarms_per_week: tuple[float, float, float] = (1.0, 0.2, 0.02)
    # Observed / expected in the window that fires, needed for each severity, and the fewest
    # mentions in it for any alert (a handful of posts is never a spike).
    min_ratio: tuple[float, float, float] = (1.8, 3.0, 5.0)
    min_count: int = Field(8, ge=1)

    level_halflife_hours: float = Field(12.0, gt=0)
    hour_halflife_days: float = Field(4.0, gt=0)
    weekday_halflife_weeks: float = Field(3.0, gt=0)
    dispersion_halflife_hours: float = Field(72.0, gt=0)
    # Buckets are learned this long after they are tested, and the ones still waiting are
    # dropped when an alarm opens: the start of a rise never becomes part of the baseline.
    learn_delay_minutes: int = Field(30, ge=0)
    # Counts above this multiple of the baseline are clipped before learning, so one burst
    # does not drag the baseline up even when it stays below the alarm threshold.
    learn_clip_ratio: float = Field(2.5, gt=1.0)
    # Windows of two buckets or more leave out this share of their buckets (at least one),
    # those with the largest excess: a burst of a few buckets (a bot, one repost storm) cannot
    # carry a long window, a sustained rise passes almost whole.
    trim_share: float = Field(0.2, ge=0, lt=0.5)
    min_expected: float = Field(0.05, gt=0, description="floor of the per-bucket baseline")

    # Calibration: each window's daily maxima of the last ``calibration_days`` set its
    # thresholds; until there are ``prior_days`` of them, prior days fill in (a Gumbel law with
    # this location and scale), so the first day neither floods nor stays blind.
    calibration_days: int = Field(28, ge=3)
    prior_days: int = Field(4, ge=0)
    prior_max: tuple[float, float] = (4.0, 1.0)
    min_gumbel_scale: float = Field(0.05, gt=0)
    # A day's maximum enters the record capped at this multiple of the day's info threshold.
    maxima_cap: float = Field(3.0, gt=1.0)
    # A window's scale (the median of its daily maxima) is at least this: a window whose days
    # were all calm is not made over-sensitive by them.
    min_scale: float = Field(1.5, gt=0)

    # No alert until this much history has been seen (the window needs something to compare).
    warmup_hours: float = Field(2.0, ge=0)
    # The alarm ends once the statistic of window number ``end_window`` (0 = the shortest)
    # falls below ``end_level``.
    end_level: float = Field(1.0)
    end_window: int = Field(3, ge=0)
    # A new incident can open only after the series has been out of alarm this long; a
    # re-trigger inside it only escalates. Matches the incident resolve hold by default.
    rearm_minutes: int = Field(60, ge=0)
    # A rise that lasts longer than this is taken as the new normal and learned.
    max_alarm_hours: float = Field(24.0, gt=0)
    # Gaps (missing buckets) up to this long are filled with zero counts; longer ones are
    # treated as a collection outage and skipped without learning.
    max_fill_hours: float = Field(24.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SpikeSettings:
        rates = self.false_alarms_per_week
        if not all(r > 0 for r in rates) or list(rates) != sorted(rates, reverse=True):
            raise ValueError("false_alarms_per_week: positive rates, info >= warning >= critical")
        if list(self.min_ratio) != sorted(self.min_ratio) or self.min_ratio[0] < 1.0:
            raise ValueError("min_ratio: ratios >= 1, info <= warning <= critical")
        if not self.window_minutes or min(self.window_minutes) < 1:
            raise ValueError("window_minutes: one or more positive window lengths")
        return self

    def scales(self) -> tuple[int, ...]:
        """The tested windows in buckets, shortest first, without repeats."""
        return tuple(sorted({max(1, round(m / self.bucket_minutes)) for m in self.window_minutes}))

    def day_rates(self) -> tuple[float, float, float]:
        """Per severity: the chance that a day holds a false alarm."""
        return tuple(min(r / 7, 0.5) for r in self.false_alarms_per_week)


@dataclass(frozen=True)
class SpikeDecision:
    """What one bucket means for the topic."""

    alarm: bool  # fire now: an incident opens (or escalates to a higher level)
    level: int  # 0 none, 1 info 关注, 2 warning 预警, 3 critical 危机, for this bucket
    observed: float  # mentions over the detection run (the window that fired, then onwards)
    expected: float  # baseline mentions over the same buckets
    in_alarm: bool  # the series is still considered raised
    score: float = 0.0  # largest statistic / info threshold over the windows (1 = at threshold)
    run_minutes: int = 0  # length of the detection run
    opened: bool = False  # this alarm opens an incident (False: it escalates one)

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else math.inf


def _halflife_rate(halflife_steps: float) -> float:
    """EWMA weight whose memory halves every ``halflife_steps`` updates."""
    return 1.0 - 0.5 ** (1.0 / max(halflife_steps, 1e-9))


def deviance_z(observed: float, expected: float) -> float:
    """Signed root of the Poisson deviance: about N(0, 1) even for small counts."""
    if observed <= 0:
        return -math.sqrt(2.0 * expected)
    d = 2.0 * (observed * math.log(observed / expected) - (observed - expected))
    root = math.sqrt(max(d, 0.0))
    return root if observed >= expected else -root


def log_lower_ratio(observed: float, expected: float, k: float = 1.645) -> float:
    """ln of the lower one-sided ~95 % Poisson bound of the observed count over the expected
    (Wilson-Hilferty): the rise a window shows for sure, in log-ratio units."""
    if observed <= 0:
        return -5.0
    c = 1.0 - 1.0 / (9.0 * observed) - k / (3.0 * math.sqrt(observed))
    if c <= 0:
        return -5.0
    return max(math.log(observed * c**3 / expected), -5.0)


class SpikeDetector:
    """Stateless logic over a state dict: ``decision, state = det.update(state, t, count)``."""

    def __init__(self, settings: SpikeSettings | None = None) -> None:
        s = settings or SpikeSettings()
        self.settings = s
        self.scales = s.scales()
        self._day_rates = s.day_rates()
        per_hour = 60 / s.bucket_minutes
        self._a_level = _halflife_rate(s.level_halflife_hours * per_hour)
        # Each hour-of-day slot sees per_hour buckets a day; each weekday 24 * per_hour.
        self._a_hour = _halflife_rate(s.hour_halflife_days * per_hour)
        self._a_weekday = _halflife_rate(s.weekday_halflife_weeks * 24 * per_hour)
        self._a_disp = _halflife_rate(s.dispersion_halflife_hours * per_hour)
        self._warmup = max(int(s.warmup_hours * per_hour), self.scales[-1])
        self._lag = math.ceil(s.learn_delay_minutes / s.bucket_minutes)
        self._rearm = math.ceil(s.rearm_minutes / s.bucket_minutes)
        self._max_alarm = int(s.max_alarm_hours * per_hour)
        self._max_fill = int(s.max_fill_hours * per_hour)
        self._per_day = max(int(24 * per_hour), 1)
        self._end_scale = self.scales[min(s.end_window, len(self.scales) - 1)]
        # Prior days: a window's daily maximum near ``prior_max``; the combined statistic's
        # (in units of those) near 1 with the spread the prior gives.
        loc, scale = s.prior_max
        k = max(s.prior_days, 1)
        gumbel = [-math.log(-math.log((j + 0.5) / k)) for j in range(s.prior_days)]
        self._prior_norm = [loc + scale * g for g in gumbel]
        self._prior_combined = [1.0 + scale / loc * g for g in gumbel]

    def initial_state(self) -> dict:
        k = len(self.scales)
        return {
            "v": STATE_VERSION,
            "t": None,  # start of the last bucket seen, minutes since the epoch (UTC)
            "n": 0,  # buckets seen
            "learned": 0,  # buckets learned from
            "level": None,
            "hour": [1.0] * 24,
            "hour_n": [0.0] * 24,
            "weekday": [1.0] * 7,
            "weekday_n": [0.0] * 7,
            "xs": [],  # the last counts, newest last (as many as the longest window)
            "mus": [],  # their baselines
            "pending": [],  # [minute, count] tested but not learned yet
            "disp": [0.05] * k,  # over-dispersion per window: Var = m + disp m^2
            "day": None,  # local day number of the running maxima
            # Today's highest statistic per window and (last) of the combined statistic, and the
            # last days' maxima of each, oldest first.
            "day_max": [None] * (k + 1),
            "maxima": [[] for _ in range(k + 1)],
            "in_alarm": False,
            "alarm_len": 0,
            "run_obs": 0.0,
            "run_exp": 0.0,
            "run_len": 0,
            "peak": 0,  # highest level of the current incident, 0 once re-armed
            "quiet": 0,  # buckets since the series left alarm
            "thresholds": None,  # today's thresholds, computed once a day
            "norms": None,  # today's normaliser per window
        }

    # -- public ------------------------------------------------------------------------------

    def accepts(self, state: dict | None) -> bool:
        """Whether ``state`` was made by this version of the detector with these windows."""
        return (
            isinstance(state, dict)
            and state.get("v") == STATE_VERSION
            and len(state.get("disp", ())) == len(self.scales)
        )

    def update(
        self, state: dict, bucket_start: datetime, count: float
    ) -> tuple[SpikeDecision, dict]:
        """Feed the count of the bucket starting at ``bucket_start`` (aware, any zone).

        Missing buckets since the last call are filled with zero counts (up to
        ``max_fill_hours``; a longer gap is skipped as an outage). A bucket at or before the last
        one is a ValueError: the detector is strictly online.
        """
        if bucket_start.tzinfo is None:
            raise ValueError("bucket_start must be timezone-aware")
        if count < 0:
            raise ValueError("count must be >= 0")
        minute = int((bucket_start - _EPOCH).total_seconds() // 60)
        step = self.settings.bucket_minutes
        state = _copy(state)
        last = state["t"]
        if last is not None:
            if minute <= last:
                raise ValueError(f"bucket {bucket_start.isoformat()} is not after the last one")
            missing = (minute - last) // step - 1
            if 0 < missing <= self._max_fill:
                for k in range(1, missing + 1):
                    self._step(state, last + k * step, 0.0)
            elif missing > self._max_fill:
                # An outage: nothing learned from it, and the windows start afresh.
                state["xs"], state["mus"], state["pending"] = [], [], []
        decision = self._step(state, minute, float(count))
        return decision, state

    def expected(self, state: dict, bucket_start: datetime) -> float:
        """The baseline count for a bucket (for charts and alert text)."""
        minute = int((bucket_start - _EPOCH).total_seconds() // 60)
        return self._baseline(state, minute)[0]

    def normalisers(self, state: dict) -> list[float]:
        """Per window: the median of its daily maxima, which puts the windows on one scale."""
        s = self.settings
        out = []
        for days in state["maxima"][:-1]:
            values = sorted(days + self._prior_norm[: max(s.prior_days - len(days), 0)])
            out.append(max(_quantile(values, 0.5), s.min_scale))
        return out

    def thresholds(self, state: dict) -> tuple[float, float, float]:
        """Thresholds of the combined statistic for info, warning and critical.

        Block maxima: the day's highest combined statistic is kept for the last
        ``calibration_days``. A severity whose budget allows a false alarm on a share p of days
        gets the level exceeded on that share of the recorded days (the empirical quantile)
        when the record is long enough to show it, and otherwise the Gumbel law fitted to the
        record by moments, extrapolated; never less than the Gumbel level at the record's own
        resolution, so a short record does not make the detector careless.
        """
        s = self.settings
        days = state["maxima"][-1]
        values = sorted(days + self._prior_combined[: max(s.prior_days - len(days), 0)])
        n = len(values)
        mean = sum(values) / n
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / max(n - 1, 1))
        # Gumbel by moments: scale = sd * sqrt(6) / pi, location = mean - 0.5772 * scale.
        scale = max(sd * 0.7797, s.min_gumbel_scale)
        loc = mean - 0.5772 * scale
        out = []
        for p in self._day_rates:
            level = loc - scale * math.log(-math.log(1.0 - p))
            if p * n >= 1.0:
                level = _quantile(values, 1.0 - p)
            out.append(max(1.0, level))
        return tuple(out)

    # -- internals ---------------------------------------------------------------------------

    def _baseline(self, state: dict, minute: int) -> tuple[float, int, int, float, int]:
        """(expected count, hour slot, next slot, weight of next slot, weekday)."""
        local = minute + self.settings.utc_offset_minutes
        day, minute_of_day = divmod(local, 1440)
        weekday = (day + _EPOCH_WEEKDAY) % 7
        # Hour factors sit at the middle of their hour and are interpolated between, so steep
        # morning ramps do not jump at each full hour. Bucket midpoints are used.
        pos = (minute_of_day + self.settings.bucket_minutes / 2) / 60 - 0.5
        base = math.floor(pos)
        frac = pos - base
        h0, h1 = base % 24, (base + 1) % 24
        hour = state["hour"]
        seasonal = (1 - frac) * hour[h0] + frac * hour[h1]
        level = state["level"] or 0.0
        mu = max(level * seasonal * state["weekday"][weekday], self.settings.min_expected)
        return mu, h0, h1, frac, weekday

    def _step(self, state: dict, minute: int, x: float) -> SpikeDecision:
        s = self.settings
        state["t"] = minute
        state["n"] += 1
        if state["level"] is None:
            state["level"] = max(x, s.min_expected)
        mu = self._baseline(state, minute)[0]
        xs, mus = state["xs"], state["mus"]
        xs.append(x)
        mus.append(mu)
        if len(xs) > self.scales[-1]:
            del xs[0], mus[0]

        # One statistic per window, over-dispersion taken out.
        zs, sums = [], []
        for i, w in enumerate(self.scales):
            if len(xs) < w:
                zs.append(0.0)
                sums.append((0.0, 0.0))
                continue
            obs, exp = _trimmed_sums(xs, mus, w, s.trim_share)
            zs.append(deviance_z(obs, exp) / math.sqrt(1.0 + state["disp"][i] * exp))
            sums.append((obs, exp))
        if state["thresholds"] is None:
            state["norms"] = self.normalisers(state)
            state["thresholds"] = self.thresholds(state)
        thresholds = state["thresholds"]
        combined = [z / m for z, m in zip(zs, state["norms"], strict=True)]
        # A day's maximum enters the calibration capped a little above today's threshold: a day
        # that alarmed counts as one, but a real incident's size does not blind the next weeks.
        cap = s.maxima_cap * thresholds[0]
        norms = state["norms"]
        self._record_maxima(
            state,
            minute,
            [min(z, cap * m) for z, m in zip(zs, norms, strict=True)] + [min(max(combined), cap)],
        )

        level, fired = 0, None
        if state["n"] > self._warmup:
            for i, (c, (obs, exp)) in enumerate(zip(combined, sums, strict=True)):
                if obs < s.min_count:
                    continue
                for j in range(3):
                    if c >= thresholds[j] and obs >= s.min_ratio[j] * exp and j + 1 > level:
                        level, fired = j + 1, i
        score = max(combined) / thresholds[0]

        alarm = level > state["peak"]
        opened = alarm and state["peak"] == 0
        if alarm:
            state["peak"] = level
            if not state["in_alarm"]:
                obs, exp = sums[fired]
                state["in_alarm"] = True
                state["alarm_len"] = 0
                state["run_obs"], state["run_exp"] = obs - x, exp - mu
                state["run_len"] = self.scales[fired] - 1
                # The rise began before it could be called: none of it is learned.
                state["pending"] = []

        if state["in_alarm"]:
            state["alarm_len"] += 1
            state["run_obs"] += x
            state["run_exp"] += mu
            state["run_len"] += 1
            ended = zs[self.scales.index(self._end_scale)] < s.end_level
            if not ended and state["alarm_len"] >= self._max_alarm:
                # Sustained for a day: accept the new level instead of alarming for ever.
                state["level"] *= max(state["run_obs"] / max(state["run_exp"], 1e-9), 1.0)
                ended = True
            decision = self._decision(state, alarm, level, score, opened)
            if ended:
                state["in_alarm"] = False
                state["quiet"] = 0
            return decision

        state["quiet"] += 1
        if state["peak"] and state["quiet"] >= self._rearm:
            state["peak"] = 0
        self._track(state, sums)
        pending = state["pending"]
        pending.append([minute, x])
        while len(pending) > self._lag:
            self._learn(state, *pending.pop(0))
        return self._decision(state, alarm, level, score, opened)

    def _decision(self, state, alarm, level, score, opened) -> SpikeDecision:
        return SpikeDecision(
            alarm=alarm,
            level=level,
            observed=state["run_obs"] if state["in_alarm"] else 0.0,
            expected=round(state["run_exp"], 3) if state["in_alarm"] else 0.0,
            in_alarm=state["in_alarm"],
            score=round(score, 3),
            run_minutes=state["run_len"] * self.settings.bucket_minutes if state["in_alarm"] else 0,
            opened=opened,
        )

    def _record_maxima(self, state: dict, minute: int, zs: list[float]) -> None:
        """Keep each window's daily maximum; a new day refreshes the thresholds."""
        day = (minute + self.settings.utc_offset_minutes) // 1440
        if state["day"] != day:
            if state["day"] is not None:
                keep = self.settings.calibration_days
                for i, top in enumerate(state["day_max"]):
                    if top is not None:
                        state["maxima"][i] = (state["maxima"][i] + [round(top, 3)])[-keep:]
            state["day"] = day
            state["day_max"] = [None] * len(zs)
            state["thresholds"] = None
        if state["n"] > self.scales[-1]:
            state["day_max"] = [
                z if top is None else max(top, z)
                for top, z in zip(state["day_max"], zs, strict=True)
            ]

    def _track(self, state: dict, sums) -> None:
        """Out of alarm: the over-dispersion of each window's sum (Var = m + phi m^2), by its
        median: phi moves until half the standardised residuals lie within +-0.674, as for a
        normal variable. A median ignores the bursts that a variance would be made of."""
        for i, (obs, exp) in enumerate(sums):
            if exp <= 0:
                continue
            phi = state["disp"][i]
            z = deviance_z(obs, exp) / math.sqrt(1.0 + phi * exp)
            # phi only matters where phi x exp is not small: step in proportion to that.
            weight = phi * exp / (1.0 + phi * exp)
            step = self._a_disp * 20.0 * weight * ((abs(z) > 0.674) - 0.5)
            state["disp"][i] = min(max(phi * math.exp(step), 1e-4), 4.0)

    def _learn(self, state: dict, minute: int, x: float) -> None:
        s = self.settings
        mu, h0, h1, frac, weekday = self._baseline(state, minute)
        n = state["learned"] = state["learned"] + 1
        xc = min(x, mu * s.learn_clip_ratio + 3.0)
        level = state["level"]
        hour = state["hour"]
        hour_n = state["hour_n"]
        wk = state["weekday"]
        seasonal = (1 - frac) * hour[h0] + frac * hour[h1]

        # Level: plain average at first, then an EWMA of the deseasonalised count.
        a = max(self._a_level, 1.0 / n)
        level += a * (xc / max(seasonal * wk[weekday], 1e-3) - level)
        state["level"] = max(level, s.min_expected)

        # Hour of day: share the update between the two slots the prediction used; the prior
        # (1.0) is worth two buckets so the first day does not swing the profile.
        target = xc / max(level * wk[weekday], 1e-9)
        err = min(target, 10.0) - seasonal
        for slot, w in ((h0, 1 - frac), (h1, frac)):
            if w <= 0:
                continue
            hour_n[slot] += w
            rate = max(self._a_hour, 1.0 / (2.0 + hour_n[slot]))
            hour[slot] = max(hour[slot] + rate * w * err, 0.02)

        # Weekday: the prior is worth a day of buckets, so one odd day moves it half-way.
        wn = state["weekday_n"]
        wn[weekday] += 1
        rate = max(self._a_weekday, 1.0 / (self._per_day + wn[weekday]))
        w_target = xc / max(level * seasonal, 1e-9)
        wk[weekday] = min(max(wk[weekday] + rate * (min(w_target, 10.0) - wk[weekday]), 0.1), 10.0)

        # Keep the factors centred on 1 so the level stays "mentions per bucket".
        if n % self._per_day == 0:
            for key in ("hour", "weekday"):
                values = state[key]
                mean = sum(values) / len(values)
                if mean > 0:
                    state[key] = [v / mean for v in values]
                    state["level"] *= mean


def _trimmed_sums(
    xs: list[float], mus: list[float], w: int, share: float = 0.0
) -> tuple[float, float]:
    """Observed and expected sums of the last ``w`` buckets without the ones with the largest
    excess: one for windows of two buckets or more, ``share`` of the window for long ones. A
    short burst (a bot, one repost storm) cannot carry a window, while a sustained rise of any
    size passes almost whole."""
    pairs = list(zip(xs[-w:], mus[-w:], strict=True))
    drop = max(1, math.floor(share * w)) if w > 1 else 0
    if drop:
        pairs.sort(key=lambda p: p[0] - p[1])
        pairs = pairs[:-drop]
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def _quantile(values: list[float], q: float) -> float:
    """The q-quantile of sorted values (linear interpolation)."""
    pos = q * (len(values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (pos - lo) * (values[hi] - values[lo])


def _copy(state: dict) -> dict:
    """A copy deep enough that the caller's state is never changed (lists are mutated)."""
    return {k: list(v) if isinstance(v, list) else v for k, v in state.items()}
