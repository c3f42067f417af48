"""Negative volume spike: an online, seasonal, negative-binomial CUSUM on counts per bucket.

The detector keeps a small JSON-serialisable state per topic. Each bucket it predicts the count
from a multiplicative baseline (level x hour-of-day x weekday, learned online, alarmed periods
left out), scores the observed count with the log-likelihood ratio of "rate is ``shift_ratio``
times the baseline" against "rate is the baseline" under a negative binomial whose dispersion is
also learned, and accumulates the ratios in a CUSUM. The CUSUM thresholds come from target false
alarm rates (one a week opens an info alert by default), not from raw counts. See
``docs/detector.md`` for the reasoning and ``bench/nab_backtest.py`` for measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

STATE_VERSION = 1
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

    # Target false-alarm rates, one per severity (info, warning, critical). A CUSUM whose
    # increments are log-likelihood ratios crosses h under the baseline at most once per e^h
    # steps on average (Wald's bound), so h = ln(steps per false alarm).
    false_alarms_per_week: tuple[float, float, float] = (1.0, 0.25, 0.02)
    # The rise the test is tuned for: rate = shift_ratio x baseline.
    shift_ratio: float = Field(2.0, gt=1.0)
    # Observed / expected over the detection run needed for each severity, and the fewest
    # mentions in the run for any alert (a handful of posts is never a spike).
    min_ratio: tuple[float, float, float] = (2.0, 3.0, 5.0)
    min_count: int = Field(10, ge=1)
    # Quiet hours are tested against at least this share of the day's average volume.
    quiet_floor: float = Field(0.7, ge=0, le=1)

    level_halflife_hours: float = Field(24.0, gt=0)
    hour_halflife_days: float = Field(4.0, gt=0)
    weekday_halflife_weeks: float = Field(3.0, gt=0)
    dispersion_halflife_hours: float = Field(72.0, gt=0)
    # Counts above this multiple of the baseline are clipped before learning, so one burst
    # does not drag the baseline up even when it stays below the alarm threshold.
    learn_clip_ratio: float = Field(2.5, gt=1.0)
    min_dispersion: float = Field(0.02, ge=0)
    min_expected: float = Field(0.05, gt=0, description="floor of the per-bucket baseline")

    # The CUSUM's observed tail replaces the model's once this many excursions were seen.
    tail_min_peaks: int = Field(10, ge=3)
    tail_halflife_weeks: float = Field(2.0, gt=0)
    cusum_cap: float = Field(3.0, ge=1.0)
    # Prior for the tail before a topic has history: (weight in peaks, peaks a day, mean and
    # standard deviation of a peak's excess over the info threshold).
    tail_prior: tuple[float, float, float, float] = (6.0, 2.0, 40.0, 100.0)
    tail_prior_days: float = Field(10.0, gt=0)

    # No alert until this much history has been learned.
    warmup_hours: float = Field(24.0, ge=0)
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
        return self

    def thresholds(self) -> tuple[float, float, float]:
        """CUSUM thresholds h for info, warning and critical from the target rates."""
        per_week = 7 * 24 * 60 / self.bucket_minutes
        return tuple(math.log(per_week / rate) for rate in self.false_alarms_per_week)


@dataclass(frozen=True)
class SpikeDecision:
    """What one bucket means for the topic."""

    alarm: bool  # fire now: an incident opens (or escalates to a higher level)
    level: int  # 0 none, 1 info 关注, 2 warning 预警, 3 critical 危机, for this bucket
    observed: float  # mentions over the detection run (since the rise began)
    expected: float  # baseline mentions over the same buckets
    in_alarm: bool  # the series is still considered raised
    score: float = 0.0  # CUSUM statistic (log-likelihood ratio units)
    run_minutes: int = 0  # length of the detection run
    opened: bool = False  # this alarm opens an incident (False: it escalates one)

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else math.inf


def _halflife_rate(halflife_steps: float) -> float:
    """EWMA weight whose memory halves every ``halflife_steps`` updates."""
    return 1.0 - 0.5 ** (1.0 / max(halflife_steps, 1e-9))


class SpikeDetector:
    """Stateless logic over a state dict: ``decision, state = det.update(state, t, count)``."""

    def __init__(self, settings: SpikeSettings | None = None) -> None:
        s = settings or SpikeSettings()
        self.settings = s
        self._h = s.thresholds()
        per_hour = 60 / s.bucket_minutes
        self._a_level = _halflife_rate(s.level_halflife_hours * per_hour)
        # Each hour-of-day slot sees per_hour buckets a day; each weekday 24 * per_hour.
        self._a_hour = _halflife_rate(s.hour_halflife_days * per_hour)
        self._a_weekday = _halflife_rate(s.weekday_halflife_weeks * 24 * per_hour)
        self._a_disp = _halflife_rate(s.dispersion_halflife_hours * per_hour)
        self._warmup = int(s.warmup_hours * per_hour)
        self._rearm = math.ceil(s.rearm_minutes / s.bucket_minutes)
        self._max_alarm = int(s.max_alarm_hours * per_hour)
        self._max_fill = int(s.max_fill_hours * per_hour)
        self._log_r = math.log(s.shift_ratio)
        self._per_day = max(int(24 * per_hour), 1)
        per_week = 7 * 24 * per_hour
        self._rates = tuple(r / per_week for r in s.false_alarms_per_week)
        self._tail_decay = 0.5 ** (1.0 / (s.tail_halflife_weeks * per_week))
        k0, per_day, mean, sd = s.tail_prior
        self._prior_k = float(k0)
        self._prior_n = k0 / per_day * 24 * per_hour if per_day > 0 else 0.0
        self._prior_mean, self._prior_sd = mean, sd
        self._prior_fade = max(s.tail_prior_days * 24 * per_hour, 1.0)

    def initial_state(self) -> dict:
        return {
            "v": STATE_VERSION,
            "t": None,  # start of the last bucket seen, minutes since the epoch (UTC)
            "n": 0,  # buckets learned from
            "level": None,
            "hour": [1.0] * 24,
            "hour_n": [0.0] * 24,
            "weekday": [1.0] * 7,
            "weekday_n": [0.0] * 7,
            "disp": 0.1,
            "cusum": 0.0,
            "run_obs": 0.0,
            "run_exp": 0.0,
            "run_len": 0,
            "in_alarm": False,
            "alarm_len": 0,
            "alarm_ratio": 1.0,
            "recovery": 0.0,
            "peak": 0,  # highest level of the current incident, 0 once re-armed
            # Peaks over the info threshold (declustered excursions) for the tail fit.
            "tail_n": 0.0,
            "tail_k": 0.0,
            "tail_m1": 0.0,
            "tail_m2": 0.0,
            "exc_max": 0.0,
            "quiet": 0,  # buckets since the series left alarm
        }

    # -- public ------------------------------------------------------------------------------

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
        state = dict(state)
        last = state["t"]
        if last is not None:
            if minute <= last:
                raise ValueError(f"bucket {bucket_start.isoformat()} is not after the last one")
            missing = (minute - last) // step - 1
            if 0 < missing <= self._max_fill:
                for k in range(1, missing + 1):
                    self._step(state, last + k * step, 0.0)
            elif missing > self._max_fill:
                # An outage: nothing learned, and a half-finished run is dropped.
                state["cusum"] = 0.0
                state["run_obs"] = state["run_exp"] = 0.0
                state["run_len"] = 0
        decision = self._step(state, minute, float(count))
        return decision, state

    def expected(self, state: dict, bucket_start: datetime) -> float:
        """The baseline count for a bucket (for charts and alert text)."""
        minute = int((bucket_start - _EPOCH).total_seconds() // 60)
        return self._baseline(state, minute)[0]

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

    def _test_expected(self, state: dict, mu: float, weekday: int) -> float:
        """The rate tested against: the baseline, but not below a share of the day's average,
        because quiet-hour baselines rest on few mentions and a rise there is small in absolute
        terms."""
        floor = self.settings.quiet_floor * state["level"] * state["weekday"][weekday]
        return max(mu, floor)

    def _llr(self, x: float, mu: float, phi: float) -> float:
        """log P(x | r mu) / P(x | mu) for a negative binomial with Var = m + phi m^2."""
        r = self.settings.shift_ratio
        if phi < 1e-6:
            return x * self._log_r - (r - 1) * mu
        a = math.log1p(phi * mu)
        b = math.log1p(phi * r * mu)
        return x * (self._log_r + a - b) + (a - b) / phi

    def _step(self, state: dict, minute: int, x: float) -> SpikeDecision:
        s = self.settings
        state["t"] = minute
        if state["level"] is None:
            state["level"] = max(x, s.min_expected)
        mu, h0, h1, frac, weekday = self._baseline(state, minute)

        cusum = state["cusum"]
        mu_test = self._test_expected(state, mu, weekday)
        llr = self._llr(x, mu_test, state["disp"])
        if cusum <= 0:
            state["run_obs"] = state["run_exp"] = 0.0
            state["run_len"] = 0
        cusum = max(0.0, cusum + llr)
        h = self._thresholds(state)
        # Bounded so that the statistic comes back down soon after a burst ends.
        cusum = min(cusum, h[2] * self.settings.cusum_cap)
        self._track_tail(state, cusum)
        if cusum > 0:
            state["run_obs"] += x
            state["run_exp"] += mu
            state["run_len"] += 1
        state["cusum"] = cusum

        level = 0
        if state["n"] >= self._warmup and cusum > 0 and state["run_obs"] >= s.min_count:
            ratio = state["run_obs"] / state["run_exp"]
            for i in range(3):
                if cusum >= h[i] and ratio >= s.min_ratio[i]:
                    level = i + 1

        alarm = level > state["peak"]
        opened = alarm and state["peak"] == 0
        if alarm:
            state["peak"] = level
            if not state["in_alarm"]:
                state["in_alarm"] = True
                state["alarm_len"] = 0
                state["alarm_ratio"] = state["run_obs"] / state["run_exp"]
                state["recovery"] = self._h[0]

        if state["in_alarm"]:
            state["alarm_len"] += 1
            state["alarm_ratio"] += 0.1 * (min(x / mu, 50.0) - state["alarm_ratio"])
            # The alarm CUSUM may sit far above its threshold after a burst; whether the rise
            # is still going on is judged by a second CUSUM capped at the model threshold, which
            # drains within a few buckets of baseline counts.
            state["recovery"] = min(max(0.0, state["recovery"] + llr), self._h[0])
            ended = state["recovery"] <= 0
            if not ended and state["alarm_len"] >= self._max_alarm:
                # Sustained for a day: accept the new level instead of alarming forever.
                state["level"] *= max(state["alarm_ratio"], 1.0)
                ended = True
            if ended:
                state["in_alarm"] = False
                state["quiet"] = 0
                state["cusum"] = 0.0
        else:
            state["quiet"] += 1
            if state["peak"] and state["quiet"] >= self._rearm and state["cusum"] <= 0:
                state["peak"] = 0
            self._learn(state, x, mu, h0, h1, frac, weekday)

        return SpikeDecision(
            alarm=alarm,
            level=level,
            observed=state["run_obs"],
            expected=round(state["run_exp"], 3),
            in_alarm=state["in_alarm"],
            score=round(cusum, 3),
            run_minutes=state["run_len"] * s.bucket_minutes,
            opened=opened,
        )

    def _track_tail(self, state: dict, cusum: float) -> None:
        """Runs declustering: each excursion of the CUSUM above the info threshold counts once,
        with its peak, in slowly forgotten moment sums."""
        d = self._tail_decay
        state["tail_n"] = state["tail_n"] * d + 1.0
        u = self._h[0]
        if cusum > u:
            state["exc_max"] = max(state["exc_max"], cusum - u)
        elif state["exc_max"] > 0:
            e = state["exc_max"]
            state["exc_max"] = 0.0
            state["tail_k"] = state["tail_k"] * d + 1.0
            state["tail_m1"] = state["tail_m1"] * d + e
            state["tail_m2"] = state["tail_m2"] * d + e * e

    def _thresholds(self, state: dict) -> tuple[float, float, float]:
        """Model thresholds, raised where the observed tail of the statistic is heavier.

        Peaks over threshold: excursion peaks above the info threshold u follow a generalised
        Pareto distribution (fitted by moments); the level exceeded once per target interval is
        u + sigma / xi * ((rate / rate_u) ** -xi - 1).
        """
        # The prior's pseudo-peaks fade out over the first tail_prior_days of the series.
        w = self._prior_k * max(0.0, 1.0 - state["tail_n"] / self._prior_fade)
        k = state["tail_k"] + w
        if k < self.settings.tail_min_peaks:
            return self._h
        n = state["tail_n"] + w * self._prior_n
        mean = (state["tail_m1"] + w * self._prior_mean) / k
        m2 = state["tail_m2"] + w * (self._prior_mean**2 + self._prior_sd**2)
        var = max(m2 / k - mean * mean, 1e-9)
        ratio = mean * mean / var
        xi = min(max(0.5 * (1.0 - ratio), -0.5), 0.45)
        sigma = 0.5 * mean * (1.0 + ratio)
        rate_u = k / n
        out = []
        for h, rate in zip(self._h, self._rates, strict=True):
            if rate >= rate_u:
                out.append(h)
                continue
            if abs(xi) < 1e-6:
                z = self._h[0] - sigma * math.log(rate / rate_u)
            else:
                z = self._h[0] + sigma / xi * ((rate / rate_u) ** -xi - 1.0)
            out.append(max(h, z))
        return tuple(out)

    def _learn(self, state, x, mu, h0, h1, frac, weekday) -> None:
        s = self.settings
        n = state["n"] = state["n"] + 1
        xc = min(x, mu * s.learn_clip_ratio + 3.0)
        level = state["level"]
        hour = state["hour"]
        hour_n = state["hour_n"]
        wk = state["weekday"]
        seasonal = (1 - frac) * hour[h0] + frac * hour[h1]

        # Level: plain average at first, then an EWMA of the deseasonalised count.
        a = max(self._a_level, 1.0 / n)
        level += a * (xc / max(seasonal * wk[weekday], 1e-3) - level)
        level = max(level, s.min_expected)
        state["level"] = level

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
        day_buckets = 1440 / s.bucket_minutes
        rate = max(self._a_weekday, 1.0 / (day_buckets + wn[weekday]))
        w_target = xc / max(level * seasonal, 1e-9)
        wk[weekday] = min(max(wk[weekday] + rate * (min(w_target, 10.0) - wk[weekday]), 0.1), 10.0)

        # Keep the factors centred on 1 so the level stays "mentions per bucket".
        if n % self._per_day == 0:
            self._normalise(state)

        # Dispersion by moments: Var = mu + phi mu^2.
        phi_obs = ((xc - mu) ** 2 - mu) / (mu * mu)
        phi = state["disp"] + self._a_disp * (min(max(phi_obs, -1.0), 4.0) - state["disp"])
        state["disp"] = max(phi, s.min_dispersion)

    @staticmethod
    def _normalise(state: dict) -> None:
        for key in ("hour", "weekday"):
            values = state[key]
            mean = sum(values) / len(values)
            if mean > 0:
                state[key] = [v / mean for v in values]
                state["level"] *= mean
