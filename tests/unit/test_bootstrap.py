from datetime import date

from xiaobao.bootstrap import make_calendar
from xiaobao.config import Settings


def test_holiday_schedule_file_overrides_the_fallback(tmp_path):
    f = tmp_path / "2027.yaml"
    f.write_text(
        "source: 国务院办公厅通知\nholidays: [2027-10-04]\nworkdays: [2027-09-26]\n", encoding="utf-8"
    )
    cal = make_calendar(Settings(secret_key="x" * 20, holidays_file=f))
    assert not cal.is_workday(date(2027, 10, 4))  # the fallback alone would call this Monday a workday
    assert cal.is_workday(date(2027, 9, 26))  # an adjusted Sunday workday
    assert cal.source(date(2027, 10, 4)) == "override"
    plain = make_calendar(Settings(secret_key="x" * 20))
    assert plain.is_workday(date(2027, 10, 4))
