"""Unit tests for xiaobao.core.pii: ID numbers, ages, phones and masking."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xiaobao.core import pii
from xiaobao.core.pii import IdNumberError, PhoneError

# The worked examples of GB 11643-1999 and a number built here (惠安县, born 1962-03-15, sequence 001).
GB_EXAMPLE = "11010519491231002X"
GB_EXAMPLE_2 = "440524188001010014"
HUIAN = "350521196203150014"


def _with_check(first17: str) -> str:
    return first17 + pii.id_check_char(first17)


class TestIdNumber:
    def test_check_char_matches_known_numbers(self) -> None:
        assert pii.id_check_char(GB_EXAMPLE[:17]) == "X"
        assert pii.id_check_char(GB_EXAMPLE_2[:17]) == "4"
        assert pii.id_check_char(HUIAN[:17]) == "4"

    def test_check_char_needs_17_digits(self) -> None:
        with pytest.raises(ValueError):
            pii.id_check_char("1234")

    @pytest.mark.parametrize("value", [GB_EXAMPLE, GB_EXAMPLE_2, HUIAN])
    def test_valid_numbers_pass(self, value: str) -> None:
        assert pii.validate_id_number(value) == value

    def test_normalises_lower_x_spaces_and_full_width(self) -> None:
        assert pii.validate_id_number(" 11010519491231002x ") == GB_EXAMPLE
        assert pii.validate_id_number("350521 19620315 0014") == HUIAN
        assert pii.validate_id_number("３５０５２１１９６２０３１５００１４") == HUIAN

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ("", "empty"),
            ("   ", "empty"),
            ("35052119620315001", "length"),
            ("3505211962031500144", "length"),
            ("350521620315001", "length"),  # legacy 15 digits: told to use the 18-character number
            ("35052119620315001A", "characters"),
            ("3505211962O3150014", "characters"),
            ("350521196203150015", "checksum"),
            ("350521196203150024", "checksum"),
            ("11010519491231002Y", "characters"),
        ],
    )
    def test_rejects_with_reason(self, value: str, reason: str) -> None:
        with pytest.raises(IdNumberError) as exc:
            pii.validate_id_number(value)
        assert exc.value.reason == reason

    @pytest.mark.parametrize("birth", ["19620230", "19621301", "18000101", "19620000"])
    def test_rejects_impossible_birth_date_even_with_right_check_digit(self, birth: str) -> None:
        with pytest.raises(IdNumberError) as exc:
            pii.validate_id_number(_with_check("350521" + birth + "001"))
        assert exc.value.reason == "birth_date"

    def test_rejects_birth_after_reference_date(self) -> None:
        value = _with_check("350521" + "20300101" + "001")
        assert pii.validate_id_number(value) == value
        with pytest.raises(IdNumberError) as exc:
            pii.validate_id_number(value, on=date(2026, 1, 1))
        assert exc.value.reason == "birth_date"

    def test_rejects_unknown_province(self) -> None:
        with pytest.raises(IdNumberError) as exc:
            pii.validate_id_number(_with_check("000521" + "19620315" + "001"))
        assert exc.value.reason == "region"

    def test_message_is_bilingual_and_is_a_value_error(self) -> None:
        with pytest.raises(ValueError) as exc:
            pii.validate_id_number("350521196203150015")
        err = exc.value
        assert isinstance(err, IdNumberError)
        zh, en = str(err).split(" / ", 1)
        assert "校验位" in zh and err.zh == zh
        assert "check digit" in en and err.en == en

    def test_length_message_names_the_actual_length(self) -> None:
        with pytest.raises(IdNumberError) as exc:
            pii.validate_id_number("1234567")
        assert "7" in exc.value.zh and "got 7" in exc.value.en

    def test_legacy_15_digit(self) -> None:
        assert pii.upgrade_legacy_id("110105491231002") == GB_EXAMPLE
        assert pii.birth_date_from_id("110105491231002") == date(1949, 12, 31)
        with pytest.raises(IdNumberError):
            pii.upgrade_legacy_id("110105491331002")

    def test_birth_date_and_sex(self) -> None:
        assert pii.birth_date_from_id(HUIAN) == date(1962, 3, 15)
        assert pii.birth_date_from_id(GB_EXAMPLE) == date(1949, 12, 31)
        assert pii.sex_from_id(HUIAN) == "M"
        assert pii.sex_from_id(GB_EXAMPLE) == "F"

    def test_birth_date_rejects_bad_numbers(self) -> None:
        with pytest.raises(IdNumberError):
            pii.birth_date_from_id("350521196203150015")

    def test_compose(self) -> None:
        assert pii.compose_id_number("350521", date(1962, 3, 15), 1) == HUIAN
        with pytest.raises(ValueError):
            pii.compose_id_number("3505", date(1962, 3, 15), 1)
        with pytest.raises(ValueError):
            pii.compose_id_number("350521", date(1962, 3, 15), 1000)

    @settings(max_examples=60, deadline=None)
    @given(
        region=st.sampled_from(["110105", "310115", "350500", "350582", "440606", "510107", "650102"]),
        birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
        sequence=st.integers(min_value=0, max_value=999),
    )
    def test_composed_numbers_round_trip(self, region: str, birth: date, sequence: int) -> None:
        value = pii.compose_id_number(region, birth, sequence)
        assert pii.validate_id_number(value) == value
        assert pii.birth_date_from_id(value) == birth
        # any single-digit change in the body breaks the checksum
        pos = sequence % 17
        if pos < 6 or pos >= 14:  # keep region and birth date plausible
            changed = value[:pos] + str((int(value[pos]) + 1) % 10) + value[pos + 1 :]
            with pytest.raises(IdNumberError) as exc:
                pii.validate_id_number(changed)
            assert exc.value.reason in {"checksum", "region"}


class TestAge:
    BORN = date(1965, 6, 15)
    ID = pii.compose_id_number("350500", BORN, 123)

    def test_age_turns_on_the_birthday(self) -> None:
        assert pii.age_on(self.ID, date(2025, 6, 14)) == 59
        assert pii.age_on(self.ID, date(2025, 6, 15)) == 60
        assert pii.age_on(self.BORN, date(2025, 6, 16)) == 60

    def test_elderly_around_60th_birthday(self) -> None:
        assert not pii.is_elderly(self.ID, date(2025, 6, 14))
        assert pii.is_elderly(self.ID, date(2025, 6, 15))
        assert pii.is_elderly(self.ID, date(2040, 1, 1))

    def test_minor_around_18th_birthday(self) -> None:
        born = date(2007, 9, 1)
        value = pii.compose_id_number("440100", born, 42)
        assert pii.is_minor(value, date(2025, 8, 31))
        assert not pii.is_minor(value, date(2025, 9, 1))
        assert not pii.is_elderly(value, date(2025, 8, 31))

    def test_leap_day_birthday(self) -> None:
        born = date(1964, 2, 29)
        assert pii.age_on(born, date(2024, 2, 28)) == 59
        assert pii.age_on(born, date(2024, 2, 29)) == 60
        assert pii.age_on(born, date(2023, 2, 28)) == 58
        assert pii.age_on(born, date(2023, 3, 1)) == 59

    def test_accepts_datetimes(self) -> None:
        on = datetime(2025, 6, 15, 12, 0)  # noqa: DTZ001 - only the date part matters here
        assert pii.age_on(self.BORN, on) == 60

    def test_legacy_id_age(self) -> None:
        assert pii.age_on("110105491231002", date(2010, 1, 1)) == 60

    def test_invalid_id_raises(self) -> None:
        with pytest.raises(ValueError):
            pii.is_elderly("350521196203150015", date(2025, 1, 1))


class TestPhone:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("13812345678", "13812345678"),
            ("138 1234 5678", "13812345678"),
            ("138-1234-5678", "13812345678"),
            ("+86 138 1234 5678", "13812345678"),
            ("+86-13812345678", "13812345678"),
            ("008613812345678", "13812345678"),
            ("8613812345678", "13812345678"),
            ("１３８１２３４５６７８", "13812345678"),
            ("19912345678", "19912345678"),
            ("0591-87654321", "0591-87654321"),
            ("0591 8765 4321", "0591-87654321"),
            ("059187654321", "0591-87654321"),
            ("(0595) 2234567", "0595-2234567"),
            ("010-62345678", "010-62345678"),
            ("02087654321", "020-87654321"),
            ("+86 591 87654321", "0591-87654321"),
        ],
    )
    def test_normalise(self, raw: str, expected: str) -> None:
        assert pii.normalise_phone(raw) == expected

    @pytest.mark.parametrize(
        "raw",
        ["12812345678", "1381234567", "138123456789", "95500", "12378", "abc", "0591-0765432", "010-1234567"],
    )
    def test_rejects(self, raw: str) -> None:
        with pytest.raises(PhoneError) as exc:
            pii.normalise_phone(raw)
        assert exc.value.reason == "format"
        zh, en = str(exc.value).split(" / ", 1)
        assert "电话" in zh and "phone" in en

    def test_rejects_empty(self) -> None:
        with pytest.raises(ValueError) as exc:
            pii.normalise_phone("  ")
        assert isinstance(exc.value, PhoneError) and exc.value.reason == "empty"

    def test_is_mobile(self) -> None:
        assert pii.is_mobile("+86 139 0000 1111")
        assert not pii.is_mobile("0591-87654321")
        assert not pii.is_mobile("nonsense")


class TestMasking:
    def test_mask_id(self) -> None:
        assert pii.mask_id("350521196203150012") == "3505**********0012"
        assert pii.mask_id("11010519491231002x") == "1101**********002X"
        assert pii.mask_id("110105491231002") == "1101*******1002"
        assert pii.mask_id("1234") == "****"
        assert pii.mask_id(None) == ""
        assert pii.mask_id("") == ""

    def test_mask_phone(self) -> None:
        assert pii.mask_phone("13812345678") == "138****5678"
        assert pii.mask_phone("+86 138 1234 5678") == "138****5678"
        assert pii.mask_phone("0591-87654321") == "0591-****4321"
        assert pii.mask_phone("010-6234567") == "010-***4567"
        assert pii.mask_phone(None) == ""

    def test_mask_phone_never_raises(self) -> None:
        assert pii.mask_phone("95500") == "*****"
        assert pii.mask_phone("123456789012") == "123*****9012"
        assert pii.mask_phone("n/a") == ""

    @pytest.mark.parametrize(
        ("name", "masked"),
        [
            ("张三", "张*"),
            ("张小明", "张**"),
            ("欧阳小明", "欧阳**"),
            ("司马相如飞", "司马***"),
            ("张", "*"),
            ("买买提·艾力", "买**·**"),
            ("John Smith", "J*** *****"),
            (" 李四 ", "李*"),
            (None, ""),
        ],
    )
    def test_mask_name(self, name: str | None, masked: str) -> None:
        assert pii.mask_name(name) == masked

    def test_mask_text_masks_ids_and_phones(self) -> None:
        text = (
            "本人身份证号350521196203150014，手机13812345678，备用电话138 1234 5679，"
            "国际格式+86 139-1234-5678，家里座机0595-22345678。母亲旧身份证110105491231002。"
        )
        masked = pii.mask_text(text)
        assert "3505**********0014" in masked
        assert "138****5678" in masked
        assert "138****5679" in masked
        assert "139****5678" in masked
        assert "0595-****5678" in masked
        assert "1101*******1002" in masked
        for secret in ("350521196203150014", "13812345678", "22345678", "110105491231002", "1234 5679"):
            assert secret not in masked
        assert masked.startswith("本人身份证号") and masked.endswith("。")

    def test_mask_text_masks_lowercase_x_and_wrong_check_digits(self) -> None:
        assert pii.mask_text("证件11010519491231002x") == "证件1101**********002X"
        assert pii.mask_text("号码350521196203150015有误") == "号码3505**********0015有误"

    def test_mask_text_leaves_other_numbers_alone(self) -> None:
        text = (
            "保单号PDAA2025350500000123，报案号CDAA2025350500004567，定损金额18600元，"
            "事故日期2025-03-15，客服热线95500，监管热线12378，订单号20250315123456789012。"
        )
        assert pii.mask_text(text) == text

    def test_mask_text_none_and_empty(self) -> None:
        assert pii.mask_text(None) == ""
        assert pii.mask_text("") == ""

    @settings(max_examples=50, deadline=None)
    @given(
        birth=st.dates(min_value=date(1920, 1, 1), max_value=date(2020, 12, 31)),
        seq=st.integers(0, 999),
        phone_tail=st.integers(0, 10**8 - 1),
    )
    def test_mask_text_hides_generated_values(self, birth: date, seq: int, phone_tail: int) -> None:
        id_number = pii.compose_id_number("350582", birth, seq)
        phone = f"158{phone_tail:08d}"
        masked = pii.mask_text(f"投诉人{id_number}，联系电话{phone}，请尽快回电。")
        assert id_number not in masked and phone not in masked
        assert pii.mask_id(id_number) in masked and pii.mask_phone(phone) in masked
