"""dates.iso_date: the one 'YYYY-MM-DD' parser of the registers, filters and modules."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.pii_guard.safeguards.plugins.module_utils.common.dates import iso_date

DAY = datetime.date(2026, 11, 28)


@pytest.mark.parametrize("value", ["2026-11-28", " 2026-11-28\n", DAY, datetime.datetime(2026, 11, 28, 9, 30)])
def test_registers_accept_dates_strings_and_datetimes(value) -> None:
    assert iso_date(value) == DAY


@pytest.mark.parametrize("value", ["2026-02-30", "28.11.2026", "", None, 20261128, "2026-11-28T00:00:00"])
def test_what_is_not_a_date_is_none(value) -> None:
    assert iso_date(value) is None
    assert iso_date(value, strict=True) is None


def test_strict_takes_the_string_as_given_and_no_datetime() -> None:
    # Options such as usbguard_policy's today: whitespace and a time of day were refused before.
    assert iso_date("2026-11-28", strict=True) == DAY and iso_date(DAY, strict=True) == DAY
    assert iso_date(" 2026-11-28", strict=True) is None
    assert iso_date("2026-11-28\n", strict=True) is None
    assert iso_date(datetime.datetime(2026, 11, 28), strict=True) is None
