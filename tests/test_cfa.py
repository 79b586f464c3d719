"""CFA and invariance against lavaan 0.6-14 (tests/reference/cfa.R -> cfa.json).

Tolerances: fit statistics (χ², CFI, TLI, RMSEA and its CI, SRMR, logL, AIC, BIC)
relative 1e-6 (SRMR absolute 1e-6); parameter estimates, standard errors and std.all absolute 1e-4
(iterative estimates; measured differences are below 2e-5).
"""
import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE, load_reference
from proforient_diag.errors import DataError, ModelSyntaxError
from proforient_diag.psychometrics.confirmatory import CFAResult, cfa, invariance

REF = load_reference("cfa")
DATA = REFERENCE / "data"
HS = pd.read_csv(DATA / "HolzingerSwineford1939.csv")
MODEL = REF["hs_ml"]["model"]

# lavaan fitMeasures name -> CFAResult attribute
FIT_MAP = {"chisq": "chisq", "df": "dof", "pvalue": "pvalue", "cfi": "cfi", "tli": "tli",
           "rmsea": "rmsea", "rmsea.pvalue": "rmsea_pvalue", "srmr": "srmr", "aic": "aic",
           "bic": "bic", "logl": "loglik", "npar": "npar", "baseline.chisq": "chisq_baseline",
           "baseline.df": "dof_baseline", "ntotal": "n_obs"}


def _fit_case(case):
    if case == "hs_ml":
        return cfa(HS, MODEL), REF["hs_ml"]
    if case == "hs_syntax":
        return cfa(HS, REF["hs_syntax"]["model"]), REF["hs_syntax"]
    if case in ("configural", "metric", "scalar", "strict"):
        equal = {"configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts"),
                 "strict": ("loadings", "intercepts", "residuals")}[case]
        return cfa(HS, MODEL, group="school", group_equal=equal), REF["invariance"][case]
    mis = pd.read_csv(DATA / "cfa_hs_missing.csv")
    if case == "missing_listwise":
        return cfa(mis, MODEL), REF["missing_listwise"]
    if case == "missing_fiml_metric":
        mis["school"] = HS["school"]
        return (cfa(mis, MODEL, missing="fiml", group="school", group_equal="loadings"),
                REF["missing_fiml_metric"])
    return cfa(mis, MODEL, missing="fiml"), REF["missing_fiml"]


CASES = ["hs_ml", "hs_syntax", "configural", "metric", "scalar", "strict", "missing_listwise",
         "missing_fiml", "missing_fiml_metric"]
_CACHE: dict = {}


def fitted(case):
    if case not in _CACHE:
        _CACHE[case] = _fit_case(case)
    return _CACHE[case]


@pytest.mark.parametrize("case", CASES)
def test_fit_measures_equal_lavaan(case):
    fit, ref = fitted(case)
    for name, attr in FIT_MAP.items():
        # SRMR is not stationary at the optimum, so it carries lavaan's own convergence
        # error (its estimates stop ~1e-5 from the optimum): absolute 1e-6 there.
        tol = dict(rel=1e-6, abs=1e-6) if name == "srmr" else dict(rel=1e-6, abs=1e-10)
        assert getattr(fit, attr) == pytest.approx(ref["fit"][name], **tol), name
    assert fit.rmsea_ci[0] == pytest.approx(ref["fit"]["rmsea.ci.lower"], rel=1e-6)
    assert fit.rmsea_ci[1] == pytest.approx(ref["fit"]["rmsea.ci.upper"], rel=1e-6)


def _merge(fit, ref):
    r = pd.DataFrame(ref["estimates"]).fillna({"rhs": ""})
    m = r.merge(fit.estimates, on=["lhs", "op", "rhs", "group"], how="outer",
                suffixes=("_r", ""), indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["lhs", "op", "rhs"]]
    return m


@pytest.mark.parametrize("case", CASES)
def test_estimates_equal_lavaan(case):
    fit, ref = fitted(case)
    m = _merge(fit, ref)
    for col in ("est", "se", "std_all"):
        np.testing.assert_allclose(m[col], m[col + "_r"], atol=1e-4, err_msg=col)
    free = m["se_r"] > 0
    np.testing.assert_allclose(m.loc[free, "z"], m.loc[free, "z_r"], rtol=1e-3)
    np.testing.assert_allclose(m.loc[free, "pvalue"], m.loc[free, "pvalue_r"], atol=1e-4)
    assert m.loc[~free, "z"].isna().all()


def test_standardized_loadings_matrix():
    fit, ref = fitted("hs_ml")
    lam = np.array(ref["loadings_std"]).T  # lavaan: columns are factors
    np.testing.assert_allclose(fit.loadings.to_numpy(), lam, atol=1e-4)
    assert list(fit.loadings.index) == [f"x{i}" for i in range(1, 10)]
    assert list(fit.loadings.columns) == ["visual", "textual", "speed"]


def test_groups_in_order_of_first_appearance():
    fit, _ = fitted("configural")
    assert fit.group_labels == tuple(REF["invariance"]["group_labels"]) == ("Pasteur", "Grant-White")
    assert fit.loadings.index.names == ["group", "item"]
    assert fit.loadings.loc[("Grant-White", "x2"), "visual"] == pytest.approx(
        _merge(fit, REF["invariance"]["configural"]).query(
            "lhs == 'visual' and rhs == 'x2' and group == 2")["std_all_r"].iloc[0], abs=1e-4)


def test_invariance_equals_lavtestlrt():
    tab = invariance(HS, MODEL, group="school")
    lrt = REF["invariance"]["lrt"]
    assert list(tab["level"]) == ["configural", "metric", "scalar", "strict"]
    np.testing.assert_allclose(tab["chisq"], lrt["chisq"], rtol=1e-6)
    np.testing.assert_array_equal(tab["df"], lrt["df"])
    np.testing.assert_allclose(tab["chisq_diff"][1:], lrt["chisq_diff"][1:], rtol=1e-5)
    np.testing.assert_array_equal(tab["df_diff"][1:], lrt["df_diff"][1:])
    np.testing.assert_allclose(tab["p_diff"][1:], lrt["p_diff"][1:], rtol=1e-5)
    np.testing.assert_allclose(tab["aic"], lrt["aic"], rtol=1e-8)
    np.testing.assert_allclose(tab["bic"], lrt["bic"], rtol=1e-8)
    lev = REF["invariance"]
    d_cfi = lev["scalar"]["fit"]["cfi"] - lev["metric"]["fit"]["cfi"]
    assert tab.loc[2, "delta_cfi"] == pytest.approx(d_cfi, abs=1e-8)
    d_srmr = lev["metric"]["fit"]["srmr"] - lev["configural"]["fit"]["srmr"]
    assert tab.loc[1, "delta_srmr"] == pytest.approx(d_srmr, abs=1e-6)
    # metric holds by all three criteria; scalar fails (ΔCFI = −0,038, ΔSRMR = 0,011 > 0,010)
    assert tab.loc[1, "verdict"].startswith("инвариантность подтверждается")
    assert tab.loc[2, "verdict"].startswith("инвариантность не подтверждается")
    assert "ΔCFI = −0,038" in tab.loc[2, "verdict"]
    assert np.isnan(tab.loc[0, "chisq_diff"])


def test_invariance_subset_of_levels():
    tab = invariance(HS, MODEL, group="school", levels=("configural", "metric"))
    assert len(tab) == 2
    assert tab.loc[1, "chisq_diff"] == pytest.approx(REF["invariance"]["lrt"]["chisq_diff"][1], rel=1e-5)


def test_result_is_frozen_with_frame_and_summary():
    fit, _ = fitted("hs_ml")
    assert isinstance(fit, CFAResult)
    with pytest.raises(Exception):
        fit.chisq = 0.0
    frame = fit.to_frame()
    assert list(frame.columns) == ["lhs", "op", "rhs", "group", "label", "est", "se", "z",
                                   "pvalue", "std_all"]
    assert len(frame) == 24
    summ = fit.summary()
    assert "CFI" in set(summ["Показатель"])
    assert summ.loc[summ["Показатель"] == "CFI", "Значение"].iloc[0] == "0,931"
    assert summ.loc[summ["Показатель"] == "CFI", "Вывод"].iloc[0] == "не соответствует"


def test_labels_make_parameters_equal():
    fit, _ = fitted("hs_syntax")
    e = fit.estimates
    b = e[(e["lhs"] == "speed") & e["rhs"].isin(["x8", "x9"])]
    assert b["est"].nunique() == 1 and set(b["label"]) == {"b"}
    assert fit.npar == 20


@pytest.mark.parametrize("model", [
    "visual =~ x1 + x2 + x3\nspeed ~ visual",       # regression
    "visual =~ x1 + x2 + x3\nx1 ~ 1",                 # intercept
    "visual =~ x1 + x2 + \n",                          # dangling +
    "visual x1 x2",                                    # no operator
    "visual =~ x1 + c(a, b)*x2 + x3",                  # group modifier
    "visual =~ x1 + x2 + x3\nvisual =~ x1",            # duplicate
    "",
])
def test_bad_syntax_raises_russian_error(model):
    with pytest.raises(ModelSyntaxError) as err:
        cfa(HS, model)
    assert any("а" <= ch <= "я" for ch in str(err.value))


def test_comments_and_continuation_lines():
    model = "# three factors\nvisual =~ x1 + x2 +\n   x3 ! mplus-style comment\n" \
            "textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
    assert cfa(HS, model).chisq == pytest.approx(REF["hs_ml"]["fit"]["chisq"], rel=1e-6)


def test_bad_options_and_data():
    with pytest.raises(ValueError, match="ML"):
        cfa(HS, MODEL, estimator="GLS")
    with pytest.raises(ValueError, match="fiml"):
        cfa(HS, MODEL, missing="pairwise")
    with pytest.raises(ValueError, match="loadings"):
        cfa(HS, MODEL, group="school", group_equal=("slopes",))
    with pytest.raises(ValueError, match="group"):
        cfa(HS, MODEL, group_equal=("loadings",))
    with pytest.raises(ValueError, match="WLSMV"):
        cfa(HS, MODEL, ordered=True)
    with pytest.raises(ValueError, match="ML"):
        invariance(HS, MODEL, group="school", estimator="WLSMV")
    with pytest.raises(ValueError, match="configural"):
        invariance(HS, MODEL, group="school", levels=("scalar", "metric"))
    with pytest.raises(DataError, match="x10"):
        cfa(HS, MODEL.replace("x9", "x10"))
    with pytest.raises(DataError):
        cfa(HS.assign(x1=HS["x1"].astype(str)), MODEL)
    with pytest.raises(DataError):
        cfa(HS, MODEL, group="nonexistent")
    with pytest.raises(DataError):
        cfa(HS.head(8), MODEL)


# --------------------------------------------------------------------------- WLSMV
# Ordered case: x1-x9 cut into 3-4 categories by the rule in cfa.R. We report lavaan's
# `.scaled` statistics (scaled-shifted test): chisq.scaled, cfi.scaled, tli.scaled,
# rmsea.scaled (+ its CI and close-fit p). Tolerance relative 1e-5 (measured <= 3e-7,
# RMSEA CI 2e-7); estimates, robust SEs and std.all absolute 1e-4 (measured 5e-6).
WL = REF["wlsmv"]
ORD = pd.read_csv(DATA / "cfa_hs_ordered.csv")


@pytest.fixture(scope="module")
def wlsmv_fit():
    return cfa(ORD, MODEL, estimator="WLSMV", ordered=True)


def test_wlsmv_scaled_fit_equals_lavaan(wlsmv_fit):
    f, F = wlsmv_fit, WL["fit"]
    pairs = [("chisq", "chisq.scaled"), ("chisq_unscaled", "chisq"),
             ("scaling_factor", "chisq.scaling.factor"), ("pvalue", "pvalue.scaled"),
             ("cfi", "cfi.scaled"), ("tli", "tli.scaled"), ("rmsea", "rmsea.scaled"),
             ("rmsea_pvalue", "rmsea.pvalue.scaled"), ("srmr", "srmr"),
             ("chisq_baseline", "baseline.chisq.scaled"), ("npar", "npar"), ("dof", "df")]
    for attr, name in pairs:
        assert getattr(f, attr) == pytest.approx(F[name], rel=1e-5), name
    assert f.rmsea_ci == pytest.approx((F["rmsea.ci.lower.scaled"], F["rmsea.ci.upper.scaled"]),
                                       rel=1e-5)
    assert np.isnan(f.aic) and f.estimator == "WLSMV"


def test_wlsmv_estimates_equal_lavaan(wlsmv_fit):
    m = _merge(wlsmv_fit, WL)
    for col in ("est", "se", "std_all"):
        np.testing.assert_allclose(m[col], m[col + "_r"], atol=1e-4, err_msg=col)
    assert (m["op"] == "|").sum() == 21


def test_polychoric_thresholds_and_gamma_equal_lavaan():
    from proforient_diag.psychometrics._sem import OrdinalStats
    Y = ORD[[f"x{i}" for i in range(1, 10)]].to_numpy() - 1
    st = OrdinalStats(Y)
    np.testing.assert_allclose(st.thresholds, WL["thresholds"], atol=1e-10)
    R = np.array(WL["polychoric"]).T
    np.testing.assert_allclose(st.rho, [R[i, j] for i, j in st.pairs], atol=1e-6)
    np.testing.assert_allclose(np.diag(st.gamma), WL["gamma_diag"], rtol=1e-5)


def test_wlsmv_unsupported_combinations():
    with pytest.raises(ValueError, match="ordered"):
        cfa(ORD, MODEL, estimator="WLSMV")
    with pytest.raises(ValueError, match="одной группы"):
        cfa(ORD, MODEL, estimator="WLSMV", ordered=True, group="school")
    with pytest.raises(ValueError, match="все задания"):
        cfa(ORD, MODEL, estimator="WLSMV", ordered=["x1", "x2"])
    with pytest.raises(ModelSyntaxError):
        cfa(ORD, MODEL + "\nx1 ~~ x1", estimator="WLSMV", ordered=True)


def test_unidentified_models_raise():
    with pytest.raises(DataError, match="df < 0"):
        cfa(HS, "f =~ x1 + x2")
    with pytest.raises(DataError, match="не идентифицирована"):
        cfa(HS, "f =~ NA*x1 + x2 + x3\ng =~ x4 + x5 + x6")  # f has no scale


def test_package_level_export_is_callable():
    from proforient_diag.psychometrics import cfa as exported
    fit = exported(HS, MODEL)
    assert fit.chisq == pytest.approx(REF["hs_ml"]["fit"]["chisq"], rel=1e-6)


def test_heywood_case_is_noted():
    # x2 is x1 plus tiny noise: x1's residual variance goes negative (a Heywood case)
    rng = np.random.default_rng(1)
    d = HS.assign(x2=HS["x1"] + rng.normal(0, 0.01, len(HS)))
    fit = cfa(d, "f =~ x1 + x2 + x3 + x4")
    clean, _ = fitted("hs_ml")
    assert clean.notes == ()
    assert any(n.startswith("отрицательная дисперсия «x1»") for n in fit.notes)
    assert any("«f =~ x1»" in n and "больше 1" in n for n in fit.notes)
    assert (fit.summary()["Показатель"] == "Замечание").sum() == len(fit.notes)
