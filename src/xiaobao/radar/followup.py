"""After the event: actual versus modelled loss, and an estimate of the loss avoided by the visits (pure
Python, no database).

Actual loss of a site = paid + reserved over its claims for the event. Modelled loss = the assessment's
expected loss.

Loss avoided (``avoided``): sites are put in strata of wind band × industry × construction. In a stratum
with visited sites V and unvisited sites U, the unvisited actual/modelled ratio r_U = ΣA_U / ΣM_U and the
visited ratio r_V = ΣA_V / ΣM_V; the visited sites would have lost r_U × ΣM_V without the visit, so the
stratum's loss avoided is (r_U − r_V) × ΣM_V. The estimate is the sum over the strata where it can be
computed (at least ``min_unvisited`` unvisited sites with modelled loss > 0, and visited modelled loss > 0),
i.e. the ratio difference weighted by the visited sites' modelled loss. ``coverage`` is the share of the
visited sites' modelled loss that falls in such strata; the rest is left out, not extrapolated.

Limits (stated next to the figure on the page, ``LIMITS``): visits were chosen by expected loss and time,
not at random (selection bias: visited sites may differ in ways the strata do not capture); small strata
make the ratios noisy; model error in the wind field or the damage function moves both groups alike only if
it is the same within a stratum; claims still open are counted at their reserve.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# (upper bound m/s exclusive, key, Chinese, English)
WIND_BANDS: tuple[tuple[float, str, str, str], ...] = (
    (17.2, "below_gale", "7级及以下 (<17.2 m/s)", "below gale (<17.2 m/s)"),
    (24.5, "gale", "8–9级 (17.2–24.4)", "gale, Beaufort 8–9 (17.2–24.4)"),
    (32.7, "storm", "10–11级 (24.5–32.6)", "storm, Beaufort 10–11 (24.5–32.6)"),
    (float("inf"), "typhoon", "12级及以上 (≥32.7)", "typhoon, Beaufort 12+ (≥32.7)"),
)

METHOD_ZH = (
    "按「风速等级 × 行业 × 建筑结构」分层；每层内以未走访企业的实际/模型损失比推算已走访企业若未走访时的损失，"
    "减去其实际损失，按已走访企业的模型损失加权汇总。仅统计同时有已走访企业、且至少 {n} 家未走访企业（模型损失大于 0）的分层。"
)
METHOD_EN = (
    "Strata of wind band × industry × construction; in each, the unvisited sites' actual/modelled loss ratio "
    "gives what the visited sites would have lost without a visit, minus what they did lose, weighted by the "
    "visited sites' modelled loss. Only strata with visited sites and at least {n} unvisited sites with "
    "modelled loss > 0 count."
)
LIMITS: tuple[tuple[str, str], ...] = (
    (
        "选择偏差：走访对象按预期损失和大风到达时间挑选，并非随机；分层无法消除两组企业之间的其他差异。",
        "Selection bias: visited sites were chosen by expected loss and time to gale, not at random; the "
        "strata cannot remove every other difference between the groups.",
    ),
    (
        "小样本：分层内企业数少时比值波动大，结果仅供参考；每层的企业数列于下表。",
        "Small strata: with few sites in a stratum the ratios are noisy; the number of sites per stratum is "
        "listed below.",
    ),
    (
        "模型误差：风场与易损性模型的误差若在同一分层内对两组不同，会计入估计值。",
        "Model error: errors of the wind field or the damage function that differ between the groups within "
        "a stratum end up in the estimate.",
    ),
    (
        "未决赔案按估损金额计入，结案后金额可能变化；未覆盖的分层不外推。",
        "Open claims count at their reserve and may change; strata that cannot be estimated are not "
        "extrapolated.",
    ),
)


def wind_band(v: float) -> str:
    for upper, key, _, _ in WIND_BANDS:
        if v < upper:
            return key
    return WIND_BANDS[-1][1]


def band_label(key: str, lang: str) -> str:
    for _, k, zh, en in WIND_BANDS:
        if k == key:
            return zh if lang == "zh" else en
    return key


@dataclass(frozen=True)
class SiteOutcome:
    site_id: int
    branch: str
    industry: str
    construction: str
    max_wind: float
    modelled: float
    actual: float
    visited: bool
    claims: int = 0


@dataclass
class Totals:
    key: str
    sites: int = 0
    with_claims: int = 0
    modelled: float = 0.0
    actual: float = 0.0

    @property
    def difference(self) -> float:
        """Actual minus modelled (negative: less loss than predicted)."""
        return self.actual - self.modelled

    @property
    def ratio(self) -> float | None:
        return self.actual / self.modelled if self.modelled > 0 else None

    def add(self, o: SiteOutcome) -> None:
        self.sites += 1
        self.with_claims += 1 if o.claims else 0
        self.modelled += o.modelled
        self.actual += o.actual


@dataclass
class Stratum:
    band: str
    industry: str
    construction: str
    n_visited: int = 0
    n_unvisited: int = 0
    modelled_visited: float = 0.0
    actual_visited: float = 0.0
    modelled_unvisited: float = 0.0
    actual_unvisited: float = 0.0
    usable: bool = False
    avoided: float = 0.0

    @property
    def ratio_visited(self) -> float | None:
        return self.actual_visited / self.modelled_visited if self.modelled_visited > 0 else None

    @property
    def ratio_unvisited(self) -> float | None:
        return self.actual_unvisited / self.modelled_unvisited if self.modelled_unvisited > 0 else None


@dataclass
class Avoided:
    estimate: float
    coverage: float
    """Share of the visited sites' modelled loss inside usable strata (0..1)."""
    visited_sites: int
    visited_in_usable: int
    strata: list[Stratum] = field(default_factory=list)
    min_unvisited: int = 3


@dataclass
class Comparison:
    total: Totals
    by_branch: list[Totals]
    by_industry: list[Totals]
    by_band: list[Totals]
    avoided: Avoided


def _group(outcomes: Iterable[SiteOutcome], key: str) -> list[Totals]:
    out: dict[str, Totals] = {}
    for o in outcomes:
        k = str(getattr(o, key)) if key != "band" else wind_band(o.max_wind)
        out.setdefault(k, Totals(k)).add(o)
    return sorted(out.values(), key=lambda t: -t.modelled)


def loss_avoided(outcomes: Sequence[SiteOutcome], min_unvisited: int = 3) -> Avoided:
    strata: dict[tuple[str, str, str], Stratum] = {}
    for o in outcomes:
        if o.modelled <= 0:
            continue  # no modelled loss: the ratio is undefined for this site
        k = (wind_band(o.max_wind), o.industry, o.construction)
        st = strata.setdefault(k, Stratum(*k))
        if o.visited:
            st.n_visited += 1
            st.modelled_visited += o.modelled
            st.actual_visited += o.actual
        else:
            st.n_unvisited += 1
            st.modelled_unvisited += o.modelled
            st.actual_unvisited += o.actual
    total_mv = 0.0
    covered_mv = 0.0
    estimate = 0.0
    visited_in = 0
    for st in strata.values():
        total_mv += st.modelled_visited
        if st.n_visited > 0 and st.n_unvisited >= min_unvisited:
            ru, rv = st.ratio_unvisited, st.ratio_visited
            assert ru is not None and rv is not None
            st.usable = True
            st.avoided = (ru - rv) * st.modelled_visited
            estimate += st.avoided
            covered_mv += st.modelled_visited
            visited_in += st.n_visited
    ordered = sorted(strata.values(), key=lambda s: (not s.usable, -s.modelled_visited, s.band, s.industry))
    return Avoided(
        estimate=estimate,
        coverage=covered_mv / total_mv if total_mv > 0 else 0.0,
        visited_sites=sum(1 for o in outcomes if o.visited),
        visited_in_usable=visited_in,
        strata=[s for s in ordered if s.n_visited > 0],
        min_unvisited=min_unvisited,
    )


def compare(outcomes: Sequence[SiteOutcome], min_unvisited: int = 3) -> Comparison:
    total = Totals("total")
    for o in outcomes:
        total.add(o)
    return Comparison(
        total=total,
        by_branch=_group(outcomes, "branch"),
        by_industry=_group(outcomes, "industry"),
        by_band=_group(outcomes, "band"),
        avoided=loss_avoided(outcomes, min_unvisited),
    )
