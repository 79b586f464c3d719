import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.api as sm
from scipy import stats

from proforient_diag.compare import (adjust_p, cohort_change, compare_groups, compare_years,
                                     level_shift, trend)
from proforient_diag.errors import DataError
from proforient_diag.weighting import weighted_mean

LEVELS = pd.CategoricalDtype(["низкий", "средний", "высокий"], ordered=True)


def simulate(seed=0, n_schools=40, per_school=25, years=(2024,), icc_sd=6.0, noise_sd=12.0,
             slope=0.0, year_effect=None, n_mun=8):
    """Students in schools (school random intercept), schools in municipalities."""
    rng = np.random.default_rng(seed)
    school_eff = rng.normal(0, icc_sd, n_schools)
    rows = []
    for y in years:
        sch = np.repeat(np.arange(n_schools), per_school)
        n = sch.size
        mean = 50 + slope * (y - years[0]) + (0 if year_effect is None else year_effect[y])
        rows.append(pd.DataFrame({
            "year": y, "school_id": [f"S{s:03d}" for s in sch],
            "municipality_code": [f"MO{1 + s % n_mun:02d}" for s in sch],
            "urban": sch % 2 == 0, "sex": rng.choice(["м", "ж"], n),
            "band": rng.choice(["5-7", "8-9"], n),
            "total": mean + school_eff[sch] + rng.normal(0, noise_sd, n)}))
    df = pd.concat(rows, ignore_index=True)
    df["respondent_id"] = [f"P{i:06d}" for i in range(len(df))]
    return df


def _sm_pair(df, by, a, b, weights=None):
    sub = df[df[by].isin([a, b])]
    X = sm.add_constant((sub[by] == b).astype(float).to_numpy())
    w = np.ones(len(sub)) if weights is None else sub[weights].to_numpy()
    return sm.WLS(sub["total"].to_numpy(), X, weights=w).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(sub["school_id"])[0]},
        use_t=True)


# --------------------------------------------------------------------------- compare_groups

def test_compare_groups_matches_statsmodels_cluster_ols_for_every_pair():
    df = simulate(seed=3)
    df["mo"] = df["municipality_code"].str[-1].map(lambda c: "abc"[int(c) % 3])
    res = compare_groups(df, "total", "mo")
    assert len(res) == 3 and list(res[["reference", "group"]].iloc[0]) == ["a", "b"]
    for _, row in res.iterrows():
        fit = _sm_pair(df, "mo", row["reference"], row["group"])
        assert row["diff"] == pytest.approx(fit.params[1], abs=1e-10)
        assert row["se"] == pytest.approx(fit.bse[1], rel=1e-10)
        assert row["p"] == pytest.approx(fit.pvalues[1], rel=1e-8)
        lo, hi = fit.conf_int()[1]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
        assert row["df"] == fit.df_resid_inference
    # Holm over the three pairs
    from statsmodels.stats.multitest import multipletests
    np.testing.assert_allclose(res["p_adj"], multipletests(res["p"], method="holm")[1])
    bh = compare_groups(df, "total", "mo", adjust="fdr_bh")
    np.testing.assert_allclose(bh["p_adj"], multipletests(bh["p"], method="fdr_bh")[1])


def test_compare_groups_weighted_matches_statsmodels_wls():
    df = simulate(seed=4)
    df["w"] = np.random.default_rng(1).uniform(0.4, 2.5, len(df))
    res = compare_groups(df, "total", "sex", weights="w", reference="ж")
    fit = _sm_pair(df, "sex", "ж", "м", weights="w")
    row = res.iloc[0]
    assert (row["reference"], row["group"]) == ("ж", "м")
    assert row["diff"] == pytest.approx(fit.params[1], abs=1e-10)
    assert row["se"] == pytest.approx(fit.bse[1], rel=1e-10)
    wm = weighted_mean(df[df["sex"] == "м"], "total", "w")
    assert row["mean"] == pytest.approx(wm.mean)


def test_welch_hedges_and_mannwhitney_match_scipy_and_pingouin():
    df = simulate(seed=5, n_schools=10, per_school=12)
    a = df.loc[df["sex"] == "ж", "total"].to_numpy()
    b = df.loc[df["sex"] == "м", "total"].to_numpy()
    res = compare_groups(df, "total", "sex", cluster=None).iloc[0]
    welch = stats.ttest_ind(b, a, equal_var=False)
    assert res["method"] == "t-критерий Уэлча"
    assert res["p"] == pytest.approx(welch.pvalue, rel=1e-10)
    ci = welch.confidence_interval()
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert res["sd"] == pytest.approx(np.std(b, ddof=1))
    g = pg.compute_effsize(b, a, eftype="hedges")
    assert res["hedges_g"] == pytest.approx(g, rel=1e-10)
    gci = pg.compute_esci(g, nx=len(b), ny=len(a), eftype="hedges", decimals=12)
    assert (res["g_ci_low"], res["g_ci_high"]) == pytest.approx(tuple(gci), abs=1e-10)
    mw = compare_groups(df, "total", "sex", cluster=None, test="mannwhitney").iloc[0]
    assert mw["p"] == pytest.approx(stats.mannwhitneyu(b, a).pvalue, rel=1e-10)
    assert mw["method"].startswith("U-критерий")
    # with clusters the SPSS-style p is still reported beside the primary one
    cl = compare_groups(df, "total", "sex").iloc[0]
    assert cl["p_test"] == pytest.approx(welch.pvalue, rel=1e-10)


def test_adjust_p_matches_statsmodels_multipletests():
    from statsmodels.stats.multitest import multipletests
    p = np.random.default_rng(2).uniform(0, 0.2, 34) ** 2
    p[[3, 7]] = p[5]                                   # ties
    for method in ("holm", "fdr_bh", "bonferroni"):
        np.testing.assert_allclose(adjust_p(p, method), multipletests(p, method=method)[1],
                                   rtol=1e-12)
    with_nan = adjust_p(np.array([0.01, np.nan, 0.04]), "holm")
    np.testing.assert_allclose(with_nan, [0.02, np.nan, 0.04])


def test_compare_groups_errors():
    df = simulate(seed=1, n_schools=4, per_school=5)
    with pytest.raises(ValueError, match="welch"):
        compare_groups(df, "total", "sex", test="t")
    with pytest.raises(DataError, match="нет в данных"):
        compare_groups(df, "total", "sex", reference="x")
    with pytest.raises(DataError, match="нет нужного столбца") as exc:
        compare_groups(df, "total", "класс")
    assert exc.value.column == "класс"


def _null_rates(n_rep=200):
    """Urban vs rural is a school-level contrast with no true difference (ICC ~ 0.2)."""
    cl, naive = [], []
    for seed in range(n_rep):
        df = simulate(seed=1000 + seed, n_schools=40, per_school=25)
        cl.append(compare_groups(df, "total", "urban").at[0, "p"])
        naive.append(compare_groups(df, "total", "urban", cluster=None).at[0, "p"])
    return np.mean(np.array(cl) < 0.05), np.mean(np.array(naive) < 0.05)


def test_null_rejection_rate_cluster_robust_vs_naive():
    # Measured (seeds 1000-1199): cluster-robust 0.050, Welch ignoring schools 0.500.
    rate_cluster, rate_naive = _null_rates()
    assert rate_cluster < 0.09
    assert rate_naive > 0.25          # the broken, cluster-ignoring SE


# --------------------------------------------------------------------------- years, trend

def test_compare_years_previous_baseline_and_linking_error():
    years = (2018, 2019, 2020, 2021)
    df = simulate(seed=8, n_schools=20, per_school=10, years=years, slope=1.0)
    res = compare_years(df, "total")
    pairs = list(zip(res["reference"], res["group"]))
    assert pairs == [(2018, 2019), (2019, 2020), (2020, 2021), (2018, 2020), (2018, 2021)]
    assert res["comparison"].iloc[0] == "к предыдущему и базовому году"
    assert res["comparison"].iloc[3] == "к базовому году"
    row = res.iloc[4]
    fit = _sm_pair(df, "year", 2018, 2021)       # the same schools in both years
    assert row["se"] == pytest.approx(fit.bse[1], rel=1e-10)
    # 2021 is measured with a new version linked with SE 0.8; 2018-2020 share the base
    lk = compare_years(df, "total", linking_error={2021: 0.8})
    assert lk.iloc[0]["se"] == pytest.approx(res.iloc[0]["se"])       # 2018 -> 2019
    assert lk.iloc[2]["se"] == pytest.approx(np.hypot(res.iloc[2]["se"], 0.8))
    assert lk.iloc[4]["se_linking"] == pytest.approx(0.8)
    assert lk.iloc[4]["p"] > res.iloc[4]["p"]


def test_trend_recovers_planted_slope_and_matches_statsmodels():
    years = tuple(range(2018, 2026))
    df = simulate(seed=11, n_schools=40, per_school=12, years=years, slope=1.5,
                  icc_sd=6.0, noise_sd=12.0)
    res = trend(df, "total")
    ols, mixed = res.slope.iloc[0], res.slope.iloc[1]
    assert ols["model"].startswith("OLS") and mixed["model"].startswith("MixedLM")
    for row in (ols, mixed):
        assert row["ci_low"] < 1.5 < row["ci_high"]
    assert mixed["converged"]
    # no composition change was planted, so the two models agree closely
    assert abs(mixed["slope"] - ols["slope"]) < 0.1
    X = sm.add_constant(df["year"].to_numpy(float) - 2018)
    fit = sm.OLS(df["total"].to_numpy(), X).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df["school_id"])[0]}, use_t=True)
    assert ols["slope"] == pytest.approx(fit.params[1]) and ols["se"] == pytest.approx(fit.bse[1])
    # per-year table = weighted_mean per year
    y20 = res.years.set_index("year").loc[2020]
    wm = weighted_mean(df[df["year"] == 2020], "total")
    assert y20["mean"] == pytest.approx(wm.mean) and y20["se"] == pytest.approx(wm.se)
    assert y20["stage"] == "I (2018–2020)"
    assert list(res.stages["stage"]) == ["I (2018–2020)", "II (2021–2024)", "III (2025–2027)"]
    st = res.stages.set_index("stage")
    assert st.loc["II (2021–2024)", "mean"] == pytest.approx(
        df.loc[df["year"].between(2021, 2024), "total"].mean())
    assert len(res.stage_changes) == 2
    frame = res.to_frame()
    assert set(frame["table"]) == {"год", "изменение", "наклон", "этап",
                                   "изменение между этапами"}
    assert "изменение за год" in res.summary()


def test_trend_slope_ci_coverage_without_mixed():
    # 100 seeded replicates of 30 schools x 6 years: measured coverage 0.97 (97 of 100)
    hits = 0
    for seed in range(100):
        df = simulate(seed=500 + seed, n_schools=30, per_school=8,
                      years=tuple(range(2018, 2024)), slope=0.7)
        s = trend(df, "total", mixed=False).slope.iloc[0]
        hits += s["ci_low"] < 0.7 < s["ci_high"]
    assert hits >= 88


# --------------------------------------------------------------------------- level shift

def _with_levels(df):
    lev = pd.cut(df["total"], [-np.inf, 45, 58, np.inf], labels=list(LEVELS.categories))
    return df.assign(level=lev.astype(LEVELS))


def test_level_shift_shares_chi2_and_cramers_v():
    df = _with_levels(simulate(seed=21, n_schools=20, per_school=15, years=(2018, 2019),
                               slope=4.0))
    res = level_shift(df, "year", cluster=None)
    tab = pd.crosstab(df["year"], df["level"])
    chi2, p, dof, _ = stats.chi2_contingency(tab.to_numpy(), correction=False)
    t = res.test.iloc[0]
    assert t["chi2"] == pytest.approx(chi2) and t["p"] == pytest.approx(p) and t["df"] == dof
    assert t["cramers_v"] == pytest.approx(
        stats.contingency.association(tab.to_numpy(), method="cramer"))
    sh = res.shares.set_index(["group", "level"])
    share = tab.div(tab.sum(axis=1), axis=0)
    assert sh.loc[(2019, "высокий"), "share"] == pytest.approx(share.loc[2019, "высокий"])
    ch = res.changes.set_index("level").loc["высокий"]
    assert ch["diff_pp"] == pytest.approx(
        100 * (share.loc[2019, "высокий"] - share.loc[2018, "высокий"]))
    # the SE of a change equals the HC1 SE of a linear probability model on the indicator
    X = sm.add_constant((df["year"] == 2019).astype(float).to_numpy())
    fit = sm.OLS((df["level"] == "высокий").astype(float).to_numpy(), X).fit(cov_type="HC1")
    assert ch["se_pp"] == pytest.approx(100 * fit.bse[1], rel=1e-10)
    # shares of a group sum to one
    np.testing.assert_allclose(res.shares.groupby("group")["share"].sum(), 1.0)
    assert "V Крамера" in res.summary()
    assert len(res.to_frame()) == 6


def test_level_shift_weighted_shares_match_weighted_mean():
    df = _with_levels(simulate(seed=23, n_schools=12, per_school=10, years=(2018, 2019)))
    df["w"] = np.random.default_rng(3).uniform(0.5, 2.0, len(df))
    res = level_shift(df, "year", weights="w")
    sub = df[df["year"] == 2019].assign(hi=lambda d: (d["level"] == "высокий").astype(float))
    wm = weighted_mean(sub, "hi", "w")
    row = res.shares.set_index(["group", "level"]).loc[(2019, "высокий")]
    assert row["share"] == pytest.approx(wm.mean) and row["se"] == pytest.approx(wm.se)


def test_level_shift_clustered_correction_is_conservative():
    df = _with_levels(simulate(seed=22, n_schools=20, per_school=15, years=(2018, 2019)))
    res = level_shift(df, "year").test.iloc[0]
    assert res["mean_deff"] >= 1.0
    assert res["p_adj"] >= res["p"]


# --------------------------------------------------------------------------- cohorts

def test_cohort_change_matches_ttest_rel_and_hand_dz():
    rng = np.random.default_rng(31)
    ids = [f"P{i:04d}" for i in range(60)]
    first = pd.DataFrame({"respondent_id": ids, "year": 2024,
                          "band": np.where(np.arange(60) < 30, "5-7", "8-9"),
                          "total": rng.normal(50, 10, 60)})
    second = first.iloc[5:].assign(year=2025)
    second["total"] = second["total"] + 3 + rng.normal(0, 6, 55)
    newcomers = pd.DataFrame({"respondent_id": ["P9998", "P9999"], "year": 2025,
                              "band": "8-9", "total": [40.0, 60.0]})
    df = pd.concat([first, second, newcomers], ignore_index=True)
    res = cohort_change(df, "total", years=(2024, 2025)).iloc[0]
    x1 = first.set_index("respondent_id").loc[second["respondent_id"], "total"].to_numpy()
    x2 = second["total"].to_numpy()
    tt = stats.ttest_rel(x2, x1)
    assert res["n_pairs"] == 55 and res["n_only_first"] == 5 and res["n_only_second"] == 2
    assert res["t"] == pytest.approx(tt.statistic) and res["p"] == pytest.approx(tt.pvalue)
    ci = tt.confidence_interval()
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((ci.low, ci.high))
    d = x2 - x1
    assert res["dz"] == pytest.approx(d.mean() / d.std(ddof=1))
    dzci = pg.compute_esci(res["dz"], nx=55, ny=55, paired=True, eftype="cohen", decimals=12)
    assert (res["dz_ci_low"], res["dz_ci_high"]) == pytest.approx(tuple(dzci), abs=1e-10)
    by = cohort_change(df, "total", years=(2024, 2025), by="band")
    assert list(by["group"]) == ["5-7", "8-9"] and by["n_pairs"].sum() == 55
    with pytest.raises(DataError, match="больше одного раза"):
        cohort_change(pd.concat([df, first.iloc[:1]]), "total", years=(2024, 2025))
