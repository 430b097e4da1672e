"""Unit tests for xiaobao.complaints.taxonomy: the default table and validation of replacement files."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from xiaobao.complaints.taxonomy import DEFAULT_PATH, KINDS, TaxonomyError, load_taxonomy

MINIMAL = """\
version: test
business_lines:
  - code: "01"
    zh: 机动车辆保险
    en: Motor
    children:
      - {code: "0101", zh: 交强险, en: CTPL}
      - {code: "0102", zh: 商业险, en: Commercial}
  - {code: "99", zh: 其他, en: Other}
causes:
  - {code: c1, zh: 理赔, en: Claims}
channels:
  - {code: hotline, zh: 热线, en: Hotline}
  - {code: regulator, zh: 监管转办, en: Regulator, regulator: true}
demands:
  - {code: d1, zh: 赔付, en: Pay}
special_groups:
  - {code: elderly, zh: 老年人, en: Elderly, age_min: 60}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    return path


class TestDefault:
    def test_loads_all_kinds_and_is_cached(self) -> None:
        tax = load_taxonomy()
        assert set(KINDS) <= set(tax.kinds)
        assert load_taxonomy() is tax
        assert tax.version

    def test_every_term_has_both_labels(self) -> None:
        tax = load_taxonomy()
        for kind in KINDS:
            for term in tax.terms(kind):
                assert term.zh.strip() and term.en.strip(), term.code

    def test_business_lines(self) -> None:
        tax = load_taxonomy()
        assert tax.label("business_lines", "motor") == "机动车辆保险"
        assert tax.label("business_lines", "motor.ctpl") == "交强险"
        assert tax.label("business_lines", "motor.commercial", "en") == "Commercial motor insurance"
        assert tax.parent_of("motor.ctpl") == "motor"
        assert tax.parent_of("property.enterprise", "business_lines") == "property"
        assert tax.root_of("business_lines", "marine.cargo") == "marine"
        assert [t.code for t in tax.children_of("business_lines", "motor")] == [
            "motor.ctpl",
            "motor.commercial",
        ]
        assert tax.children_of("business_lines", "health") == ()
        leaves = {t.code for t in tax.leaves("business_lines")}
        assert {"motor.ctpl", "motor.commercial", "health", "agriculture", "other"} <= leaves
        assert "motor" not in leaves

    def test_causes(self) -> None:
        tax = load_taxonomy()
        claims = {t.code for t in tax.children_of("causes", "claims")}
        assert claims == {"claims.amount", "claims.liability", "claims.slow", "claims.denial"}
        assert tax.label("causes", "claims.denial") == "拒赔"
        assert tax.label("causes", "harassment") == "营销扰民"
        for group in ("sales", "claims", "surrender", "underwriting", "harassment", "service"):
            assert tax.children_of("causes", group), group
        assert tax.is_valid("causes", "other", leaf_only=True)

    def test_channels_mark_regulator(self) -> None:
        tax = load_taxonomy()
        assert tax.regulator_channels() == {"regulator"}
        assert tax.term("channels", "regulator").regulator
        assert not tax.term("channels", "hotline").regulator
        assert "95500" in tax.label("channels", "hotline")
        assert "12378" in tax.label("channels", "regulator")

    def test_demands_and_special_groups(self) -> None:
        tax = load_taxonomy()
        assert {t.code for t in tax.leaves("demands")} >= {
            "compensation",
            "refund",
            "stop_harassment",
            "other",
        }
        assert [t.code for t in tax.leaves("special_groups")] == [
            "elderly",
            "minor",
            "new_resident",
            "disabled",
        ]
        assert tax.term("special_groups", "elderly").attrs["age_min"] == 60
        assert tax.term("special_groups", "minor").attrs["age_below"] == 18

    def test_is_valid(self) -> None:
        tax = load_taxonomy()
        assert tax.is_valid("causes", "claims.amount")
        assert tax.is_valid("causes", "claims")
        assert not tax.is_valid("causes", "claims", leaf_only=True)
        assert not tax.is_valid("causes", "nonsense")
        assert not tax.is_valid("causes", None)
        assert not tax.is_valid("no_such_kind", "other")
        assert not tax.is_valid("channels", "claims.amount")

    def test_label_fallbacks(self) -> None:
        tax = load_taxonomy()
        assert tax.label("channels", "no-longer-used") == "no-longer-used"
        assert tax.label("channels", "web", "en-GB") == "Online complaint form"
        assert tax.label("channels", "web", "fr") == "线上投诉表单"
        with pytest.raises(KeyError):
            tax.label("colours", "red")

    def test_parent_of(self) -> None:
        tax = load_taxonomy()
        assert tax.parent_of("claims.amount") == "claims"
        assert tax.parent_of("claims") is None
        assert tax.parent_of("other") is None  # present in several kinds, top level in all
        with pytest.raises(KeyError):
            tax.parent_of("nonsense")
        with pytest.raises(KeyError):
            tax.parent_of("claims.amount", "channels")

    def test_term_unknown_code(self) -> None:
        tax = load_taxonomy()
        with pytest.raises(KeyError):
            tax.term("causes", "nonsense")
        assert tax.get("causes", "nonsense") is None
        assert tax.get("causes", None) is None

    def test_choices_group_by_parent(self) -> None:
        tax = load_taxonomy()
        groups = tax.choices("business_lines", "zh")
        motor = groups[0]
        assert (motor.code, motor.label) == ("motor", "机动车辆保险")
        assert motor.options == (("motor.ctpl", "交强险"), ("motor.commercial", "商业险"))
        loose = [g for g in groups if g.label is None]
        assert loose and ("health", "短期健康险") in loose[0].options
        offered = [code for g in groups for code, _ in g.options]
        assert offered == [t.code for t in tax.leaves("business_lines")]
        en = tax.choices("causes", "en")
        assert en[0].label == "Sales dispute"
        assert tax.choices("channels")[0].label is None

    def test_flat_choices(self) -> None:
        tax = load_taxonomy()
        flat = dict(tax.flat_choices("causes"))
        assert flat["claims.amount"] == "理赔纠纷 / 理赔金额/定损争议"
        assert flat["other"] == "其他"

    def test_default_path_is_packaged(self) -> None:
        assert DEFAULT_PATH.is_file()
        assert load_taxonomy(DEFAULT_PATH).leaf_codes("causes") == load_taxonomy().leaf_codes("causes")


class TestReplacementFile:
    def test_path_override_with_numeric_style_codes(self, tmp_path: Path) -> None:
        tax = load_taxonomy(_write(tmp_path, MINIMAL))
        assert tax.version == "test"
        assert tax.label("business_lines", "0101") == "交强险"
        assert tax.parent_of("0102", "business_lines") == "01"
        assert tax.leaf_codes("business_lines") == ("0101", "0102", "99")
        assert tax.regulator_channels() == {"regulator"}
        assert load_taxonomy() is not tax  # the cached default is untouched

    def test_duplicate_code_names_both_places(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace('{code: "0102", zh: 商业险', '{code: "0101", zh: 商业险')
        with pytest.raises(TaxonomyError) as exc:
            load_taxonomy(_write(tmp_path, bad))
        msg = str(exc.value)
        assert "duplicate business_lines code '0101'" in msg
        assert "children[1]" in msg and "children[0]" in msg

    def test_duplicate_between_parent_and_child(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace('code: "99"', 'code: "01"')
        with pytest.raises(TaxonomyError, match="duplicate business_lines code '01'"):
            load_taxonomy(_write(tmp_path, bad))

    def test_same_code_in_different_kinds_is_fine(self, tmp_path: Path) -> None:
        ok = MINIMAL.replace("code: d1", "code: hotline")
        tax = load_taxonomy(_write(tmp_path, ok))
        assert tax.label("demands", "hotline") == "赔付"

    def test_missing_label_names_the_entry(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace("{code: c1, zh: 理赔, en: Claims}", "{code: c1, zh: 理赔}")
        with pytest.raises(TaxonomyError) as exc:
            load_taxonomy(_write(tmp_path, bad))
        assert "causes[0] (code 'c1')" in str(exc.value)
        assert "'en'" in str(exc.value)

    def test_blank_label(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace("zh: 热线", 'zh: "  "')
        with pytest.raises(TaxonomyError, match="code 'hotline'.*'zh'"):
            load_taxonomy(_write(tmp_path, bad))

    def test_missing_code(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace("{code: d1, zh: 赔付, en: Pay}", "{zh: 赔付, en: Pay}")
        with pytest.raises(TaxonomyError, match=r"demands\[0\] has no code"):
            load_taxonomy(_write(tmp_path, bad))

    def test_unquoted_numeric_code(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace('code: "99"', "code: 99")
        with pytest.raises(TaxonomyError, match="must be a string.*quote"):
            load_taxonomy(_write(tmp_path, bad))

    def test_bad_code_characters(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace("code: c1", 'code: "claims amount"')
        with pytest.raises(TaxonomyError, match="may only contain"):
            load_taxonomy(_write(tmp_path, bad))

    def test_missing_kind(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace("demands:", "demandz:")
        with pytest.raises(TaxonomyError, match="missing kind.*demands"):
            load_taxonomy(_write(tmp_path, bad))

    def test_empty_kind(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace("demands:\n  - {code: d1, zh: 赔付, en: Pay}", "demands: []")
        with pytest.raises(TaxonomyError, match="demands must be a non-empty list"):
            load_taxonomy(_write(tmp_path, bad))

    def test_three_levels_refused(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace(
            '{code: "0101", zh: 交强险, en: CTPL}',
            '{code: "0101", zh: 交强险, en: CTPL, children: [{code: "010101", zh: 甲, en: A}]}',
        )
        with pytest.raises(TaxonomyError, match="at most 2 levels"):
            load_taxonomy(_write(tmp_path, bad))

    def test_regulator_flag_must_be_boolean(self, tmp_path: Path) -> None:
        bad = MINIMAL.replace("regulator: true", "regulator: maybe")
        with pytest.raises(TaxonomyError, match="regulator must be true or false"):
            load_taxonomy(_write(tmp_path, bad))

    def test_invalid_yaml(self, tmp_path: Path) -> None:
        with pytest.raises(TaxonomyError, match="invalid YAML"):
            load_taxonomy(_write(tmp_path, "causes: [unclosed\n"))

    def test_not_a_mapping(self, tmp_path: Path) -> None:
        with pytest.raises(TaxonomyError, match="top level"):
            load_taxonomy(_write(tmp_path, "- just\n- a list\n"))

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(TaxonomyError, match="cannot read"):
            load_taxonomy(tmp_path / "absent.yaml")

    def test_error_is_a_value_error(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError):
            load_taxonomy(_write(tmp_path, "version: 1\n"))
