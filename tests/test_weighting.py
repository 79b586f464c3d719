import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from proforient_diag.errors import DataError
from proforient_diag.weighting import (design_effect, poststratify, rake, weight_summary,
                                       weighted_mean)


def _two_by_two():
    # sample counts: rows sex (м, ж), columns urban (True, False)
    #            urban  rural
    #   м          30     20     (50)
    #   ж          10     40     (50)
    counts = {("м", True): 30, ("м", False): 20, ("ж", True): 10, ("ж", False): 40}
    rows = [(s, u) for (s, u), k in counts.items() for _ in range(k)]
    return pd.DataFrame(rows, columns=["sex", "urban"])


def test_rake_two_by_two_hand_solution():
    # Targets: м 60, ж 40; urban 50, rural 50.
    # IPF keeps the sample odds ratio (30*40)/(20*10) = 6 and meets the margins, so the
    # fitted table is [[x, 60-x], [50-x, x-10]] with x(x-10) / ((60-x)(50-x)) = 6
    # <=> x^2 - 130x + 3600 = 0 <=> x = 40 (the other root 90 is infeasible).
    # Fitted table [[40, 20], [10, 30]]; weights = fitted / sample:
    # м-urban 40/30 = 4/3, м-rural 20/20 = 1, ж-urban 10/10 = 1, ж-rural 30/40 = 3/4.
    df = _two_by_two()
    w = rake(df, {"sex": pd.Series({"м": 60, "ж": 40}),
                  "urban": pd.Series({True: 50, False: 50})}, trim=None)
    expected = {("м", True): 4 / 3, ("м", False): 1.0, ("ж", True): 1.0, ("ж", False): 0.75}
    got = w.groupby([df["sex"], df["urban"]]).agg(["min", "max"])
    for cell, value in expected.items():
        assert got.loc[cell, "min"] == pytest.approx(value, abs=1e-7)
        assert got.loc[cell, "max"] == pytest.approx(value, abs=1e-7)
    assert w.sum() == pytest.approx(100)
    # default trim (0.3, 3) x mean weight = (0.3, 3) does not bind here
    w2 = rake(df, {"sex": pd.Series({"м": 60, "ж": 40}),
                   "urban": pd.Series({True: 50, False: 50})})
    np.testing.assert_allclose(w2, w, atol=1e-7)


def test_rake_joint_margin_from_dataframe():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"mo": rng.choice(["MO01", "MO02", "MO03"], 600, p=[.7, .2, .1]),
                       "grade": rng.choice([5, 9], 600),
                       "sex": rng.choice(["м", "ж"], 600)})
    pop = pd.DataFrame([(m, g, 1000 if m != "MO03" else 3000) for m in ["MO01", "MO02", "MO03"]
                        for g in [5, 9]], columns=["mo", "grade", "n_enrolled"])
    sex = pd.Series({"м": 5000, "ж": 5000})
    with pytest.warns(RuntimeWarning, match="несовместимы"):
        # MO03 cells need weight ~100 against a mean of ~17: the bounds cannot hold
        w = rake(df, {("mo", "grade"): pop, "sex": sex}, trim=(0.3, 3.0))
    cell = w.groupby([df["mo"], df["grade"]]).sum()
    np.testing.assert_allclose(cell.to_numpy(), pop.set_index(["mo", "grade"])
                               .loc[cell.index, "n_enrolled"].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(w.groupby(df["sex"]).sum().loc[["м", "ж"]], [5000, 5000],
                               rtol=1e-6)


def test_rake_trims_an_extreme_base_weight_and_rerakes():
    df = _two_by_two()
    base = pd.Series(1.0, index=df.index)
    base.iloc[0] = 30.0                       # one м-urban student with a huge design weight
    margins = {"sex": pd.Series({"м": 60, "ж": 40}),
               "urban": pd.Series({True: 50, False: 50})}
    untrimmed = rake(df, margins, base_weights=base, trim=None)
    assert untrimmed.max() / untrimmed.mean() > 3.0
    w = rake(df, margins, base_weights=base, trim=(0.3, 3.0))
    assert w.max() / w.mean() <= 3.0 * (1 + 1e-6)
    assert w.min() / w.mean() >= 0.3 * (1 - 1e-6)
    np.testing.assert_allclose(w.groupby(df["sex"]).sum().loc[["м", "ж"]], [60, 40], rtol=1e-7)
    np.testing.assert_allclose(w.groupby(df["urban"]).sum().to_numpy(), [50, 50], rtol=1e-7)


def test_rake_errors_in_russian():
    df = _two_by_two()
    with pytest.raises(DataError, match="нет в таблице численностей"):
        rake(df, {"sex": pd.Series({"м": 60})})
    with pytest.raises(DataError, match="нет ни одного респондента"):
        rake(df, {"sex": pd.Series({"м": 50, "ж": 40, "x": 10})})
    with pytest.raises(DataError, match="разную общую численность"):
        rake(df, {"sex": pd.Series({"м": 60, "ж": 40}),
                  "urban": pd.Series({True: 50, False: 70})})


def test_poststratify_cell_ratio_and_missing_cell():
    df = pd.DataFrame({"mo": ["MO01"] * 3 + ["MO02"] * 2, "sex": ["м", "м", "ж", "ж", "м"]})
    pop = pd.DataFrame({"mo": ["MO01", "MO01", "MO02", "MO02"],
                        "sex": ["м", "ж", "м", "ж"], "n_enrolled": [300, 250, 80, 120]})
    w = poststratify(df, ["mo", "sex"], pop)
    np.testing.assert_allclose(w, [150, 150, 250, 120, 80])
    assert w.sum() == 750
    with pytest.raises(DataError, match="нет ни одного респондента"):
        poststratify(df.iloc[:4], ["mo", "sex"], pop)


def test_design_effect_kish():
    w = np.array([1.0, 1.0, 2.0, 4.0])
    # n sum(w^2) / (sum w)^2 = 4 * 22 / 64 = 1.375; 1 + CV^2 with ddof=0 gives the same
    assert design_effect(w) == pytest.approx(1.375)
    assert design_effect(w) == pytest.approx(1 + np.var(w) / np.mean(w) ** 2)
    s = weight_summary(w, trim=None).set_index("показатель")["значение"]
    assert s["Эффективный объём выборки"] == pytest.approx(4 / 1.375)
    assert s["Отношение максимального веса к минимальному"] == 4


def test_weighted_mean_matches_statsmodels_cluster_wls():
    rng = np.random.default_rng(7)
    school = np.repeat(np.arange(25), rng.integers(5, 40, 25))
    n = school.size
    y = 50 + rng.normal(0, 6, 25)[school] + rng.normal(0, 12, n)
    w = rng.uniform(0.5, 3, n)
    df = pd.DataFrame({"total": y, "school_id": school.astype(str), "w": w})
    res = weighted_mean(df, "total", "w")
    fit = sm.WLS(y, np.ones(n), weights=w).fit(cov_type="cluster",
                                               cov_kwds={"groups": school}, use_t=True)
    assert res.mean == pytest.approx(fit.params[0], abs=1e-10)
    assert res.se == pytest.approx(fit.bse[0], rel=1e-10)
    lo, hi = fit.conf_int()[0]
    assert (res.ci_low, res.ci_high) == pytest.approx((lo, hi), rel=1e-10)
    assert res.n_clusters == 25 and res.n == n
    assert res.n_eff == pytest.approx(n / design_effect(w))
    # without clusters: HC1 of the intercept-only WLS
    res0 = weighted_mean(df, "total", "w", cluster=None)
    fit0 = sm.WLS(y, np.ones(n), weights=w).fit(cov_type="HC1")
    assert res0.se == pytest.approx(fit0.bse[0], rel=1e-10)
    # unweighted, unclustered: the ordinary standard error sd / sqrt(n)
    res1 = weighted_mean(df, "total", cluster=None)
    assert res1.se == pytest.approx(np.std(y, ddof=1) / np.sqrt(n), rel=1e-10)
    assert "взвешенное среднее" in res.summary()
    assert res.to_frame().shape == (1, 10)
