#!/usr/bin/python3
"""Differential test: our cron engine (through cron_eval) against croniter.

croniter is python3-croniter 1.3.5, the Debian package, an implementation
written independently of ours. This script generates thousands of random,
valid cron expressions in the dialect both implementations share, asks both
for the next few fire times after random instants (years 2000-2060), and
compares them. It exits 0 when everything agrees, 1 on any mismatch (printing
the first few with the seed that replays the run), 77 (Meson's "skipped") when
croniter is not installed.

    cron_diff.py CRON_EVAL [--seed N] [--scale X]
    cron_diff.py CRON_EVAL --show-differences

The seed is random unless given with --seed or $CRON_DIFF_SEED; it is printed
first, and with every failure, together with the command that replays the run.
Each mismatch also shows the croniter calls made and a printf | cron_eval
command that runs our side of it alone. --scale multiplies the number of cases
(3000 in UTC and 1200 in other zones, 6 fire times each, at 1).

WHAT IS COMPARED
  - 5-field and 6-field expressions: ours puts seconds FIRST, croniter 1.3.5
    LAST, so the seconds field is moved to the end for croniter.
  - values, ranges a-b, steps */n a-b/n a/n, lists, JAN-DEC and SUN-SAT names
    in any case (also as range ends and before a step), day-of-week 7 and a
    range ending in SUN (SAT-SUN) as Sunday, L in day-of-month (alone or in a
    list), n#k and nL in day-of-week (croniter spells nL "Ln"), the macros
    @yearly @annually @monthly @weekly @daily @midnight @hourly.
  - the Vixie day-of-month/day-of-week rule: OR when both fields are
    restricted, AND when either starts with '*'.
  - in UTC: every fire time; in other zones (fixed-offset zones and zones with
    daylight saving time, before and after 2037): the fire times that lie in
    the same constant-offset span as the start instant (Difference 9).
  - the offsets our RFC 3339 output carries (croniter's instants are formatted
    with Python's zoneinfo, which reads the same tz database), and our parsing
    of RFC 3339 start instants with arbitrary offsets and fractions.

NOT COMPARED (either implementation lacks it): H (croniter hashes with CRC32,
we with FNV-1a, by design), '?', L-n, nW, LW, @every, @reboot, n#k over a
range. Each difference below is handled where it arises in the code, with a
comment that names it ("Difference 5").

DIFFERENCES BETWEEN CRONITER 1.3.5 AND US, found by this test (run with
--show-differences to see an example of each on both sides)
  1. A day field like */2. Vixie cron and we treat a day field whose text
     starts with '*' as unrestricted, so the two day fields are ANDed:
     "0 0 */2 * 1" is Mondays with an odd date. croniter decides on the
     expanded values (unrestricted only when every value is there), so it
     ORs: odd dates or Mondays. Handled: croniter is called with
     day_or=False whenever our rule ANDs.
  2. The converse: a day field that holds every value without starting with
     '*' ("1-31", "0-7", "SUN-SAT"). Like Vixie cron we OR, so every day
     matches; croniter sees an unrestricted field and ANDs, so only the other
     field's days match. Handled: croniter gets '*' for both day fields (the
     union with a full field is every day).
  3. croniter bug: n#k or Ln with a restricted day-of-month. croniter's OR is
     the earlier of two searches, but the day-of-month one still applies the
     n#k constraint: "0 0 1 * 5#2" raises CroniterBadDateError. Handled: the
     two sides of the OR are separate croniter runs whose fire times are
     merged (see Plan).
  4. croniter bug: in 6-field expressions croniter does not fold day-of-week
     7 to 0 ("0 0 * * 7 0" raises CroniterBadDateError, "5-7" misses
     Sundays), and counts 0 and 7 as two of the 7 values that make the field
     unrestricted ("1/6,2-6" becomes every day). Handled: croniter gets its
     own 5-field expansion of the field, where it folds.
  5. croniter bug: its day-of-month search jumps to a listed day even when the
     month lacks it and lands in the next month past smaller listed days:
     "0 0 1,31 * *" after 2026-02-25 fires on 03-31, not 03-01;
     "0 0 29,L * *" after 2026-02-20 skips 02-28. A day no allowed month
     has, with the day-of-week restricted ("0 0 31 2 1"), raises
     CroniterBadDateError. And L counts as one of the 31 values that make the
     field unrestricted: "0 0 2-31,L * 1" fires on Mondays only, as if the
     day-of-month were '*' (we fire every day but the 1st, or on a Monday
     the 1st). Handled: croniter
     searches days 1-28, days 29-31 and L in separate runs, without the
     groups that no allowed month has, and the fire times are merged.
  6. a/n in day-of-week: ours stops at Saturday, as '*' does (jobctl(1)):
     "1/2" is Monday, Wednesday, Friday. croniter's runs to 7, Sunday again.
     Handled: croniter gets a-6/n.
  7. croniter accepts a step larger than the field's maximum ("*/60", and
     "0 */24 * * *" as "0 0 * * *"); we refuse it as a likely typo. Not
     generated: steps go up to the field's maximum (steps larger than the
     range they apply to, such as 10-20/30 or */45, are generated).
  8. Syntax only one side has: croniter also accepts 0 as a day-of-month in 6
     fields, descending day-of-week ranges ending in 0 (5-0 for 5-7), n#k
     over a range (1-5#2) and L ending a range (20-L); it refuses n#k mixed
     with plain values ("1,5#2") and spells our nL (5L, FRIL) "L5". Not
     generated, except nL, which is respelled.
  9. DST. Our policy (lib/cron/next.hpp, jobctl(1)): with a fixed hour, a
     wall time in a spring-forward gap fires once at the first instant after
     the gap (02:30 on New York's spring-forward day fires at 03:00 EDT), a
     repeated wall time fires once, at its first occurrence; with an hour
     field starting with '*', nonexistent wall times are skipped and a
     repeated hour fires in both passes. croniter fires a gap time one hour
     later (03:30 EDT), fires a wildcard-hour schedule in the first pass of a
     repeated hour only, and - a croniter bug - after its search crosses a
     transition it shifts fires by the offset change ("30 1 * * *" in New
     York fires at 02:30 EST on the day after the fall-back). Nothing of
     croniter is comparable across a transition. Handled: in zones, only
     fire times in the constant-offset span that contains the start instant
     are compared, and the start instant is at least a day into its span (so
     that our repeated-hour rule cannot apply). Our DST policy itself is
     covered by tests/unit/cron_dst_test.cpp.
"""

import argparse
import datetime as dt
import math
import os
import random
import re
import subprocess
import sys
import time

try:
    from zoneinfo import ZoneInfo

    from croniter import croniter, CroniterBadDateError
except ImportError as exc:  # not a failure of ours: skip
    print(f"cron_diff: skipped, croniter is not available to {sys.executable}: {exc}")
    sys.exit(77)

# Cases per run at --scale 1.
UTC_CASES = 3000
ZONE_CASES = 1200
FIRES_PER_CASE = 6

# Zones with daylight saving time (north and south, 30-minute DST on Lord Howe,
# +12:45/+13:45 on Chatham, DST abolished in 2019 in Sao Paulo) and without.
DST_ZONES = [
    "America/New_York", "Europe/Berlin", "Europe/London", "Australia/Sydney",
    "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago", "America/Sao_Paulo",
]
FIXED_ZONES = [
    "Asia/Kolkata", "Asia/Kathmandu", "Asia/Tokyo", "America/Phoenix",
    "Pacific/Kiritimati", "Etc/GMT+11",
]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
FROM_MIN = int((dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc) - EPOCH).total_seconds())
FROM_MAX = int((dt.datetime(2061, 1, 1, tzinfo=dt.timezone.utc) - EPOCH).total_seconds())

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]


# --------------------------------------------------------------------------
# Expression generator

class Gen:
    """Random expressions. Every method returns text in OUR dialect and, where
    the spelling differs, croniter's spelling alongside."""

    def __init__(self, rng):
        self.rng = rng

    def case(self, s):
        """Random letter case for names: both parsers ignore case."""
        r = self.rng.random()
        if r < 0.4:
            return s
        if r < 0.8:
            return s.lower()
        return s[0] + s[1:].lower()

    def render(self, field, v, range_start=None):
        """A value as a number or, in month and day-of-week, sometimes a name.
        range_start: the text before the '-' when v ends a range."""
        rng = self.rng
        if field == "month" and rng.random() < 0.3:
            return self.case(MONTHS[v - 1])
        if field == "dow" and rng.random() < 0.3:
            if v <= 6:
                return self.case(DAYS[v])  # also SUN-SUN and 0-SUN: Sunday
            if range_start is not None and range_start.upper() not in ("0", "SUN"):
                return self.case("SUN")  # SUN ending a range is 7 (SAT-SUN)
        return str(v)

    def range_text(self, field, a, b):
        first = self.render(field, a)
        return f"{first}-{self.render(field, b, first)}"

    def step(self, lo, hi, field_max):
        """A step: mostly within the range's width, sometimes beyond it, never
        above the field's maximum (Difference 7)."""
        rng = self.rng
        if rng.random() < 0.8:
            return rng.randint(1, max(1, min(hi - lo, field_max)))
        return rng.randint(1, field_max)

    def element(self, field, lo, hi, first):
        rng = self.rng
        # The top of a '*' range: 6 for day-of-week (7 is only an alias).
        r = rng.random()
        if first and r < 0.12:
            top = 6 if field == "dow" else hi
            return f"*/{self.step(lo, top, hi)}"
        if r < 0.5:
            return self.render(field, rng.randint(lo, hi))
        if r < 0.75:
            a = rng.randint(lo, hi)
            b = rng.randint(a, hi)
            return self.range_text(field, a, b)
        if r < 0.9:
            a = rng.randint(lo, hi)
            b = rng.randint(a, hi)
            return f"{self.range_text(field, a, b)}/{self.step(a, b, hi)}"
        a = rng.randint(lo, hi)
        return f"{self.render(field, a)}/{self.step(a, hi, hi)}"

    def plain_field(self, field, lo, hi, star=0.3):
        """'*' or a list of 1-4 elements."""
        rng = self.rng
        if rng.random() < star:
            return "*"
        n = rng.choice([1, 1, 1, 1, 2, 2, 3, 4])
        return ",".join(self.element(field, lo, hi, i == 0) for i in range(n))

    def dom(self):
        rng = self.rng
        r = rng.random()
        if r < 0.08:
            return "L"
        text = self.plain_field("dom", 1, 31, star=0.4)
        if r < 0.16 and text != "*":
            parts = text.split(",")
            parts.insert(rng.randint(1, len(parts)), self.case("L"))
            text = ",".join(parts)
        return text

    def dow(self):
        """Returns (ours, croniter's)."""
        rng = self.rng
        if rng.random() < 0.12:
            # n#k and nL, only among themselves: croniter refuses to mix them
            # with plain values (Difference 8).
            ours, theirs = [], []
            for _ in range(rng.choice([1, 1, 2, 3])):
                d = rng.randint(0, 7)
                if rng.random() < 0.6:
                    k = rng.randint(1, 5)
                    name = self.render("dow", d)
                    ours.append(f"{name}#{k}")
                    theirs.append(f"{name}#{k}")
                else:
                    ours.append(f"{d}{self.case('L')}")
                    theirs.append(f"L{d}")  # croniter's spelling of nL
            return ",".join(ours), ",".join(theirs)
        text = self.plain_field("dow", 0, 7, star=0.45)
        # Difference 6: our a/n stops at Saturday in day-of-week, as '*'
        # does (jobctl(1)); croniter's runs to 7, Sunday again. Spell ours
        # a-6/n for croniter (7/n is Sunday alone on both sides).
        theirs = [re.sub(r"^([0-6]|[A-Za-z]{3})/", r"\1-6/", e) for e in text.split(",")]
        return text, ",".join(theirs)

    def expression(self):
        """Returns (ours, croniter's fields before the day-rule handling, six)."""
        rng = self.rng
        if rng.random() < 0.03:
            m = self.case(rng.choice(MACROS))
            return m, None, False
        six = rng.random() < 0.3
        second = self.plain_field("second", 0, 59, star=0.3) if six else None
        minute = self.plain_field("minute", 0, 59, star=0.2)
        hour = self.plain_field("hour", 0, 23, star=0.3)
        dom = self.dom()
        month = self.plain_field("month", 1, 12, star=0.6)
        dow_ours, dow_theirs = self.dow()
        ours = [minute, hour, dom, month, dow_ours]
        theirs = [minute, hour, dom, month, dow_theirs]
        if six:
            ours.insert(0, second)
            theirs.append(second)  # croniter 1.3.5: seconds LAST
        return " ".join(ours), theirs, six


def days_in_month(m):
    return [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]


class Plan:
    """How to ask croniter for one of our expressions: the union of the fire
    times of one or more croniter runs, each a (text, day_or) pair. One run
    asks croniter as is; several split the day fields around croniter's bugs
    (days of a union distribute over the day rule: (A u B) and C is
    (A and C) u (B and C)). No run: croniter's own expansion shows that the
    expression can never fire."""

    def __init__(self, runs, notes=()):
        self.runs = list(runs)
        self.notes = tuple(notes)

    def describe(self):
        if not self.runs:
            return "none (croniter's expansion never matches a day)"
        calls = [f"croniter('{t}', day_or={o})" for t, o in self.runs]
        return calls[0] if len(calls) == 1 else "union of " + ", ".join(calls)


def dom_groups(values):
    """Splits croniter's expanded day-of-month values into the groups it can
    search correctly on their own (Difference 5): 1-28 (in every month),
    29-31, and L. Returns a list of (text, values)."""
    groups = [[v for v in values if v != "l" and v <= 28],
              [v for v in values if v != "l" and v > 28],
              ["l"] if "l" in values else []]
    return [(",".join(str(v) for v in g), g) for g in groups if g]


def possible(dom_values, months):
    """Whether some allowed month has one of the days (Feb counts 29 days)."""
    longest = max(days_in_month(m) for m in months)
    return "l" in dom_values or min(dom_values) <= longest


def make_plan(ours, theirs, six):
    """The croniter plan for one of our expressions (theirs: croniter's
    fields, seconds last; None for a macro)."""
    if theirs is None:  # a macro: same spelling, same meaning
        return Plan([(ours.lower(), True)], notes=["macro"])
    notes = []
    theirs = list(theirs)
    expanded, nth = croniter.expand(" ".join(theirs))
    if six and not nth:
        # Difference 4: croniter does not fold 7 to Sunday in 6 fields, and
        # counts 0 and 7 as two of the 7 values that mean "every day" (so
        # "1/6,2-6" is every day to it). In 5 fields it folds: give it its
        # own 5-field expansion of the field.
        folded = croniter.expand(f"* * * * {theirs[4]}")[0][4]
        if folded != expanded[4]:
            theirs[4] = ",".join(str(v) for v in folded)
            expanded, nth = croniter.expand(" ".join(theirs))
            notes.append("6-field dow 7 folded")

    months = range(1, 13) if expanded[3] == ["*"] else expanded[3]
    dom_values = expanded[2]
    dom_elements = theirs[2].split(",")
    if len(dom_elements) > 1 and any(e.lower() == "l" for e in dom_elements):
        # Difference 5: croniter counts L as one of the 31 values that make
        # the field unrestricted ("2-31,L" is '*' to it). The values without
        # L, from croniter's own expansion:
        rest = ",".join(e for e in dom_elements if e.lower() != "l")
        numbers = croniter.expand(f"* * {rest} * *")[0][2]
        dom_values = ["*"] if numbers == ["*"] else numbers + ["l"]
    dom_full = dom_values == ["*"]
    dow_full = expanded[4] == ["*"]
    groups = [] if dom_full else dom_groups(dom_values)
    usable = [text for text, values in groups if possible(values, months)]
    native = (len(groups) <= 1 and len(usable) == len(groups)
              and dom_full == (expanded[2] == ["*"]))
    if not native:
        notes.append("day-of-month split")

    def fields(dom, dow):
        f = list(theirs)
        f[2], f[4] = dom, dow
        return " ".join(f)

    dom_text, dow_text = ours.split()[-3], ours.split()[-1]
    if dom_text.startswith("*") or dow_text.startswith("*"):
        # Our AND. Difference 1: croniter must be told when it sees two
        # restricted fields.
        if not dom_full and not dow_full:
            notes.append("AND via day_or=False")
        if native:
            return Plan([(" ".join(theirs), False)], notes)
        if dom_full:
            return Plan([(fields("*", theirs[4]), False)], notes)
        return Plan([(fields(d, theirs[4]), False) for d in usable], notes)
    # Our OR.
    if dom_full or dow_full:
        # Difference 2: restricted text, every value: OR means every day.
        notes.append("full day field: OR = every day")
        return Plan([(fields("*", "*"), True)], notes)
    if nth:
        # Difference 3: croniter's OR is broken with n#k / Ln.
        notes.append("OR with n#k: split")
    elif native:
        return Plan([(" ".join(theirs), True)], notes)
    return Plan([(fields(d, "*"), True) for d in usable] + [(fields("*", theirs[4]), True)], notes)


# --------------------------------------------------------------------------
# Start instants and zones

def random_from(rng):
    """Microseconds since the epoch: whole seconds, often on a minute, hour or
    day boundary (where 'strictly after' matters), sometimes with a fraction."""
    s = rng.randint(FROM_MIN, FROM_MAX - 1)
    r = rng.random()
    if r < 0.2:
        s -= s % 60
    elif r < 0.35:
        s -= s % 3600
    elif r < 0.45:
        s -= s % 86400
    us = s * 1_000_000
    if rng.random() < 0.15:
        us += rng.randint(1, 999_999)
    return us


def rfc3339(us, tz):
    t = EPOCH + dt.timedelta(microseconds=us)
    text = t.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") and tz is dt.timezone.utc else text


def from_text(rng, us, zone):
    """The start instant as RFC 3339: in UTC ('Z'), in the case's zone, or at a
    random fixed offset (the same instant for our parser either way)."""
    r = rng.random()
    if r < 0.5:
        return rfc3339(us, dt.timezone.utc)
    if r < 0.75 and zone is not None:
        return rfc3339(us, zone)
    minutes = rng.randint(-23 * 60 - 59, 23 * 60 + 59)
    return rfc3339(us, dt.timezone(dt.timedelta(minutes=minutes)))


def offset(zone, s):
    return dt.datetime.fromtimestamp(s, zone).utcoffset()


def next_transition(zone, s, until):
    """The first instant in (s, until] at which the zone's UTC offset differs
    from its offset at s, or None. Steps a day at a time (transitions in these
    zones are months apart), then bisects to the second."""
    o = offset(zone, s)
    lo = s
    while lo < until:
        hi = min(lo + 86400, until)
        if offset(zone, hi) != o:
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(zone, mid) == o:
                    lo = mid
                else:
                    hi = mid
            return hi
        lo = hi
    return None


# --------------------------------------------------------------------------
# Running both sides

def run_ours(cron_eval, cases):
    lines = "".join(f"{c['expr']}\t{c['from_text']}\t{c['count']}\t{c['zone_name']}\n"
                    for c in cases)
    proc = subprocess.run([cron_eval], input=lines, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"cron_diff: {cron_eval} exited with {proc.returncode}:\n{proc.stderr}")
    out = proc.stdout.split("\n")
    if len(out) != len(cases) + 1 or out[-1] != "":
        sys.exit(f"cron_diff: {cron_eval} printed {len(out) - 1} lines for {len(cases)} cases")
    return [line.split("\t") for line in out[:-1]]


def croniter_fires(text, start, count, day_or, max_years):
    """Up to count fire times as epoch seconds; fewer when croniter finds none
    within max_years (CroniterBadDateError)."""
    it = croniter(text, start, ret_type=float, day_or=day_or,
                  max_years_between_matches=max_years)
    out = []
    try:
        for _ in range(count):
            out.append(int(it.get_next(float)))
    except CroniterBadDateError:
        pass
    return out


def run_croniter(case, max_years=150):
    zone, count = case["zone"], case["count"]
    s = case["from_us"] / 1e6
    start = s if zone is None else dt.datetime.fromtimestamp(s, zone)
    fires = set()
    for text, day_or in case["plan"].runs:
        fires.update(croniter_fires(text, start, count, day_or, max_years))
    return sorted(fires)[:count]


def fmt(s, zone):
    return dt.datetime.fromtimestamp(s, zone or dt.timezone.utc).isoformat()


def parse_ours(text):
    return int(dt.datetime.fromisoformat(text).timestamp())


# --------------------------------------------------------------------------

def make_cases(rng, gen, n_utc, n_zone, stats):
    cases = []
    while len(cases) < n_utc + n_zone:
        ours, theirs, six = gen.expression()
        plan = make_plan(ours, theirs, six)
        for note in plan.notes:
            stats[note] = stats.get(note, 0) + 1
        zone = zone_name = None
        if len(cases) >= n_utc:
            zone_name = rng.choice(DST_ZONES + FIXED_ZONES)
            zone = ZoneInfo(zone_name)
        while True:
            us = random_from(rng)
            # In zones: a start instant at least a day into its offset span
            # (Difference 9).
            s = us // 1_000_000
            if zone is None or offset(zone, s - 86400) == offset(zone, s):
                break
        cases.append({
            "expr": ours, "plan": plan, "six": six, "zone": zone,
            "zone_name": zone_name or "UTC", "from_us": us,
            "from_text": from_text(rng, us, zone), "count": FIRES_PER_CASE,
        })
    return cases


def compare(case, ours_out, theirs):
    """Returns (fires compared, mismatch message or None)."""
    zone = case["zone"]
    if ours_out[0] == "ERROR":
        if not theirs and "never fires" in ours_out[1]:
            return 0, None  # both find nothing (croniter within its horizon)
        return 0, f"ours: {' '.join(ours_out)}\n  croniter: {[fmt(t, zone) for t in theirs]}"
    try:
        ours_s = [parse_ours(t) for t in ours_out if t != "END"]
    except ValueError as exc:
        return 0, f"ours: unreadable output {ours_out}: {exc}"
    limit = None  # compare only before the start's span ends (Difference 9)
    if zone is not None:
        last = max(ours_s + theirs + [case["from_us"] // 1_000_000])
        limit = next_transition(zone, case["from_us"] // 1_000_000, last)
    compared = 0
    for k in range(case["count"]):
        o = ours_out[k] if k < len(ours_out) else "END"
        t = fmt(theirs[k], zone) if k < len(theirs) else None
        o_s = ours_s[k] if k < len(ours_s) else math.inf
        t_s = theirs[k] if k < len(theirs) else math.inf
        if limit is not None and min(o_s, t_s) >= limit:
            break
        if o != (t or "END"):
            return compared, (f"fire #{k + 1} differs: ours {o}, croniter {t or 'none'}\n"
                              f"  ours:     {ours_out}\n  croniter: {[fmt(x, zone) for x in theirs]}")
        compared += 1
    return compared, None


def show_differences(cron_eval):
    examples = [
        ("1", "0 0 */2 * 1", "2026-01-01T00:00:00Z", "UTC"),
        ("2", "0 0 1-31 * 1", "2026-01-01T00:00:00Z", "UTC"),
        ("3", "0 0 1 * 5#2", "2026-01-01T00:00:00Z", "UTC"),
        ("4", "0 0 0 * * 5-7", "2026-01-01T00:00:00Z", "UTC"),
        ("5", "0 0 1,31 * *", "2026-02-25T00:00:00Z", "UTC"),
        ("5", "0 0 29,L * *", "2026-02-20T00:00:00Z", "UTC"),
        ("5", "0 0 31 2 1", "2026-01-01T00:00:00Z", "UTC"),
        ("5", "0 0 2-31,L * 1", "2026-02-28T12:00:00Z", "UTC"),
        ("6", "0 0 * * 1/2", "2026-01-01T00:00:00Z", "UTC"),
        ("7", "*/60 * * * *", "2026-01-01T00:00:00Z", "UTC"),
        ("9", "30 2 * * *", "2026-03-07T12:00:00Z", "America/New_York"),
        ("9", "*/30 * * * *", "2026-11-01T05:15:00Z", "America/New_York"),
        ("9", "30 1 * * *", "2026-10-31T12:00:00Z", "America/New_York"),
        ("digit-jul", "0 0 1 6-JUL *", "2026-01-01T00:00:00Z", "UTC"),
        ("dow-7-step", "0 0 * * 7/3,1", "2026-01-01T00:00:00Z", "UTC"),
    ]
    lines = "".join(f"{e}\t{f}\t4\t{z}\n" for _, e, f, z in examples)
    ours = subprocess.run([cron_eval], input=lines, capture_output=True, text=True,
                          check=True).stdout.splitlines()
    for (n, e, f, z), o in zip(examples, ours):
        zone = None if z == "UTC" else ZoneInfo(z)
        fields = e.split()
        text = " ".join(fields[1:] + fields[:1]) if len(fields) == 6 else e
        s = dt.datetime.fromisoformat(f.replace("Z", "+00:00"))
        start = s.timestamp() if zone is None else s.astimezone(zone)
        try:
            theirs = [fmt(t, zone) for t in croniter_fires(text, start, 4, True, 50)]
        except Exception as exc:  # pylint: disable=broad-except
            theirs = [f"{type(exc).__name__}: {exc}"]
        print(f"[{n}] {e!r} after {f} in {z}\n    ours:     {o.split(chr(9))}\n"
              f"    croniter: {theirs or ['CroniterBadDateError']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cron_eval", help="path to the cron_eval binary")
    ap.add_argument("--seed", type=int, default=None,
                    help="random seed (default: $CRON_DIFF_SEED, else random)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the number of cases")
    ap.add_argument("--show", type=int, default=5, help="mismatches to print")
    ap.add_argument("--show-differences", action="store_true",
                    help="print both sides for each documented difference and exit")
    args = ap.parse_args()

    if args.show_differences:
        show_differences(args.cron_eval)
        return 0

    seed = args.seed
    if seed is None and os.environ.get("CRON_DIFF_SEED"):
        seed = int(os.environ["CRON_DIFF_SEED"])
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    replay = f"{os.path.normpath(sys.argv[0])} {args.cron_eval} --seed {seed}"
    if args.scale != 1.0:
        replay += f" --scale {args.scale}"
    print(f"cron_diff: seed {seed} (replay: {replay})", flush=True)

    t0 = time.monotonic()
    rng = random.Random(seed)
    stats = {}
    n_utc = max(1, round(UTC_CASES * args.scale))
    n_zone = max(1, round(ZONE_CASES * args.scale))
    cases = make_cases(rng, Gen(rng), n_utc, n_zone, stats)
    t1 = time.monotonic()
    ours = run_ours(args.cron_eval, cases)
    t2 = time.monotonic()

    mismatches = []
    fires = {"UTC": 0, "zones": 0}
    never = 0
    for i, case in enumerate(cases):
        # When we say "never fires", croniter gets a short horizon: it would
        # otherwise search for 150 years.
        horizon = 30 if ours[i][0] == "ERROR" else 150
        theirs = run_croniter(case, horizon)
        n, problem = compare(case, ours[i], theirs)
        fires["UTC" if case["zone"] is None else "zones"] += n
        never += ours[i][0] == "ERROR" and problem is None
        if problem:
            mismatches.append((case, problem))
    t3 = time.monotonic()

    six = sum(c["six"] for c in cases)
    print(f"cron_diff: {len(cases)} expressions ({n_utc} in UTC, {n_zone} in "
          f"{len(DST_ZONES + FIXED_ZONES)} other zones; {six} with 6 fields), "
          f"{fires['UTC'] + fires['zones']} fire times compared ({fires['UTC']} in UTC, "
          f"{fires['zones']} in zones), {never} agreed never to fire, "
          f"{len(mismatches)} mismatches")
    print("cron_diff: differences handled: "
          + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
    print(f"cron_diff: {t1 - t0:.1f}s generating, {t2 - t1:.1f}s cron_eval, "
          f"{t3 - t2:.1f}s croniter and comparing")
    for case, problem in mismatches[:args.show]:
        print(f"\nMISMATCH (seed {seed}): {case['expr']!r} after {case['from_text']} in "
              f"{case['zone_name']}\n  croniter call: {case['plan'].describe()}\n  {problem}\n"
              f"  ours alone: printf '{case['expr']}\\t{case['from_text']}\\t{case['count']}\\t"
              f"{case['zone_name']}\\n' | {args.cron_eval}")
    if mismatches:
        print(f"\ncron_diff: FAILED, {len(mismatches)} mismatches; replay: {replay}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
