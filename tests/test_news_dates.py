"""Date parsing: odd formats, zones, two-digit years, URL dates; Hypothesis round-trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extractors.news.dates import date_from_url, parse_date

moments = st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2025, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@given(moments, offsets)
def test_iso_with_offset_round_trips(moment, tz):
    aware = moment.replace(tzinfo=tz)
    parsed = parse_date(aware.isoformat())
    assert parsed == aware and parsed.tzinfo == UTC


@given(moments, offsets)
def test_rfc822_round_trips(moment, tz):
    aware = moment.replace(tzinfo=tz)
    assert parse_date(format_datetime(aware)) == aware


@given(moments)
def test_no_zone_means_utc(moment):
    assert parse_date(moment.strftime("%Y-%m-%d %H:%M:%S")) == moment.replace(tzinfo=UTC)


@given(moments)
def test_slash_dates_without_padding(moment):
    text = f"{moment.year}/{moment.month}/{moment.day}"
    assert parse_date(text) == datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


@given(st.text(max_size=40))
def test_never_raises_and_always_aware(text):
    result = parse_date(text)
    assert result is None or result.tzinfo == UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wed, 29 Jun 2016 10:00:00 EST", datetime(2016, 6, 29, 15, tzinfo=UTC)),
        ("Wed, 29 Jun 2016 10:00:00 PDT", datetime(2016, 6, 29, 17, tzinfo=UTC)),
        ("June 29, 2016 10:00 AM EST", datetime(2016, 6, 29, 15, tzinfo=UTC)),
        ("2016-06-29T10:00:00Z", datetime(2016, 6, 29, 10, tzinfo=UTC)),
        ("2016-06-29T10:00:00+0530", datetime(2016, 6, 29, 4, 30, tzinfo=UTC)),
        ("2016/6/29", datetime(2016, 6, 29, tzinfo=UTC)),
        ("6/29/16", datetime(2016, 6, 29, tzinfo=UTC)),
        ("29 Jun 16 08:00 GMT", datetime(2016, 6, 29, 8, tzinfo=UTC)),
        ("", None),
        ("yesterday-ish", None),
        ("1066-10-14", None),  # implausible for a news article
        ("2999-01-01", None),  # in the future
    ],
)
def test_odd_formats(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.example/2016/06/29/slug", datetime(2016, 6, 29, tzinfo=UTC)),
        ("https://x.example/news/2016-6-29-slug.html", datetime(2016, 6, 29, tzinfo=UTC)),
        ("https://x.example/2019/11/opening-bell", datetime(2019, 11, 1, tzinfo=UTC)),
        ("https://x.example/20190230/slug", None),  # no 30 February
        ("https://x.example/about", None),
    ],
)
def test_date_from_url(url, expected):
    assert date_from_url(url) == expected
