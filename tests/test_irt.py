"""Graded response model and linking: R closed forms, lavaan (approximate), planted recovery."""
import numpy as np
import pandas as pd
import pytest

from proforient_diag.errors import DataError
from proforient_diag.psychometrics import irt
from proforient_diag.psychometrics.irt import GRMResult, grm, link, simulate_grm
from tests.conftest import ROOT, load_reference

REF = load_reference("irt")
ITEMS = REF["items"]


@pytest.fixture(scope="module")
def neuro():
    b = pd.read_csv(ROOT / "tests" / "reference" / "data" / "bfi.csv")
    return b[ITEMS].dropna()


@pytest.fixture(scope="module")
def neuro_fit(neuro):
    return grm(neuro)


def _lavaan_params():
    a = np.array(REF["lavaan"]["a"])
    b = np.array([REF["lavaan"]["b"][it] for it in ITEMS])
    return a, b


def test_loglik_and_eap_match_r_closed_form(neuro):
    """Marginal log-likelihood, EAP and PSD at fixed parameters, with missing answers."""
    x = neuro.copy()
    for i, j in zip(REF["fixed"]["na_rows"], REF["fixed"]["na_item"]):
        x.iloc[i - 1, j - 1] = np.nan
    a, b = _lavaan_params()
    data = irt._prepare(x)
    theta, w = irt._quadrature(41)
    tmask = np.ones(b.shape, bool)
    _, post, ll, _ = irt._estep(data, a, -a[:, None] * b, theta, np.log(w), tmask)
    assert ll == pytest.approx(REF["fixed"]["loglik"], abs=1e-6)
    eap = (post @ theta)[data.inverse]
    psd = np.sqrt(post @ theta ** 2 - (post @ theta) ** 2)[data.inverse]
    np.testing.assert_allclose(eap[:20], REF["fixed"]["eap_first20"], atol=1e-6)
    np.testing.assert_allclose(psd[:20], REF["fixed"]["psd_first20"], atol=1e-6)


def test_item_information_matches_r():
    a, b = _lavaan_params()
    items = pd.DataFrame({"item": ITEMS, "a": a})
    for k in range(5):
        items[f"b_{k + 1}"] = b[:, k]
    res = GRMResult(items=items, theta=pd.DataFrame(), loglik=np.nan, aic=np.nan, bic=np.nan,
                    n_iter=0, converged=True, se_method="none", n_persons=0, n_quad=41)
    grid = REF["information"]["theta"]
    info = res.item_information(grid)
    for it in ITEMS:
        got = info.loc[info["item"] == it, "information"].to_numpy()
        np.testing.assert_allclose(got, REF["information"]["item"][it], atol=1e-6)
    test = res.test_information(grid)
    expected = np.sum([REF["information"]["item"][it] for it in ITEMS], axis=0)
    np.testing.assert_allclose(test["information"], expected, atol=1e-6)
    np.testing.assert_allclose(test["se"], 1 / np.sqrt(expected), atol=1e-6)


def test_bfi_against_lavaan_categorical(neuro_fit):
    """Approximate second implementation: lavaan DWLS one-factor model converted to the GRM.

    The conversion (normal ogive × 1.702, limited-information DWLS versus full-information ML)
    is approximate: slopes agree within 15 % and thresholds within 0.12 on these data.
    """
    a, b = _lavaan_params()
    res = neuro_fit.items
    assert list(res["item"]) == ITEMS
    np.testing.assert_allclose(res["a"], a, rtol=0.15)
    bhat = res[[f"b_{k}" for k in range(1, 6)]].to_numpy()
    assert np.max(np.abs(bhat - b)) < 0.12
    assert neuro_fit.converged
    npar = 5 * 6
    assert neuro_fit.aic == pytest.approx(-2 * neuro_fit.loglik + 2 * npar, abs=1e-8)
    assert neuro_fit.bic == pytest.approx(-2 * neuro_fit.loglik + npar * np.log(2694), abs=1e-8)
    # the fit is a maximum of the R-verified marginal likelihood: it beats the lavaan values
    assert neuro_fit.loglik > REF["fixed"]["loglik"] - 100  # (REF loglik has missing answers)


PLANT_A = np.linspace(0.8, 2.2, 10)
PLANT_B = np.array([[-1.6, -0.5, 0.6], [-1.2, 0.0, 1.1], [-0.8, 0.3, 1.5], [-2.0, -0.9, 0.2],
                    [-1.0, 0.1, np.nan], [-0.4, 0.7, 1.8], [-1.5, -0.2, 0.9],
                    [-0.9, 0.4, np.nan], [-1.8, -0.6, 0.5], [-0.2, 0.8, 2.0]])


@pytest.fixture(scope="module")
def planted():
    x = simulate_grm(PLANT_A, PLANT_B, n=2000, missing=0.05, seed=11)
    x.index = [f"p{i}" for i in range(len(x))]
    x.iloc[5] = np.nan          # one person without any answer
    return x, grm(x, seed=1)


def test_parameter_recovery(planted):
    """2000 persons × 10 items, 5 % MCAR: every estimate within 3.5 observed-information SEs."""
    x, res = planted
    assert res.converged and res.se_method == "observed"
    za = (res.items["a"] - PLANT_A) / res.items["se_a"]
    bhat = res.items[["b_1", "b_2", "b_3"]].to_numpy()
    sb = res.items[["se_b_1", "se_b_2", "se_b_3"]].to_numpy()
    zb = (bhat - PLANT_B) / sb
    assert np.max(np.abs(za)) < 3.5
    assert np.nanmax(np.abs(zb)) < 3.5
    assert np.array_equal(np.isnan(bhat), np.isnan(PLANT_B))
    # SEs have the size the information predicts for n ≈ 1900 answers per item
    assert res.items["se_a"].between(0.04, 0.15).all()
    assert list(res.items["n_categories"]) == [4, 4, 4, 4, 3, 4, 4, 3, 4, 4]


def test_theta_eap(planted):
    x, res = planted
    assert list(res.theta.index) == list(x.index)
    assert np.isnan(res.theta.loc["p5", "theta"])
    th = res.theta.drop("p5")
    assert th["theta"].mean() == pytest.approx(0.0, abs=0.05)
    # EAP shrinkage: var(EAP) + mean(PSD²) ≈ 1 (the prior variance)
    assert th["theta"].var() + (th["psd"] ** 2).mean() == pytest.approx(1.0, abs=0.05)
    assert res.n_persons == 1999


def test_mle_and_standard_errors(planted):
    x, res = planted
    data = irt._prepare(x)
    J, Km = 10, 4
    tmask = np.arange(Km - 1)[None, :] < (data.K[:, None] - 1)
    cmask = np.arange(Km)[None, :] < data.K[:, None]
    pmask = np.concatenate([np.ones((J, 1), bool), tmask], axis=1)
    theta, w = irt._quadrature(41)
    a = res.items["a"].to_numpy()
    d = np.nan_to_num(-a[:, None] * res.items[["b_1", "b_2", "b_3"]].to_numpy())
    g = irt._marginal_score(data, a, d, theta, np.log(w), tmask, cmask, pmask)
    assert np.max(np.abs(g)) < 1e-3        # the marginal score vanishes at the MLE
    cp = grm(x, se="crossprod").items
    ratio = cp["se_a"] / res.items["se_a"]
    assert ratio.between(0.8, 1.25).all()  # empirical and observed information agree


def test_tidy_outputs(planted):
    _, res = planted
    tidy = res.to_frame()
    assert list(tidy.columns) == ["item", "parameter", "estimate", "se"]
    assert len(tidy) == 10 + 28
    info = res.item_information(np.linspace(-3, 3, 7))
    assert list(info.columns) == ["item", "theta", "information"] and len(info) == 70
    assert "Модель градуированных ответов" in res.summary()


def _form_params():
    rng = np.random.default_rng(5)
    a = rng.uniform(0.9, 2.2, 24)
    b = np.sort(rng.normal(0, 1, (24, 3)), axis=1)
    return a, b


def test_link_exact_transformation():
    """Parameters transformed exactly by θ_old = 1.3·θ_new + 0.5 give back A and B."""
    a, b = _form_params()
    old = pd.DataFrame({"item": [f"i{j}" for j in range(8)], "a": a[:8]})
    new = pd.DataFrame({"item": [f"i{j}" for j in range(8)], "a": a[:8] * 1.3})
    for k in range(3):
        old[f"b_{k + 1}"] = b[:8, k]
        new[f"b_{k + 1}"] = (b[:8, k] - 0.5) / 1.3
    for method in ("stocking-lord", "mean-sigma", "mean-mean"):
        res = link(old, new, anchors=list(old["item"]), method=method)
        assert res.A == pytest.approx(1.3, abs=1e-6)
        assert res.B == pytest.approx(0.5, abs=1e-6)
        assert res.se_B == pytest.approx(0.0, abs=1e-5)
        np.testing.assert_allclose(res.items[["a", "b_1"]], old[["a", "b_1"]], atol=1e-6)


def test_link_planted_shift():
    """Two forms share 8 anchors; the new population is N(0.5, 1.3²): A = 1.3, B = 0.5."""
    a, b = _form_params()
    old_ix = list(range(8)) + list(range(8, 16))
    new_ix = list(range(8)) + list(range(16, 24))
    rng = np.random.default_rng(9)
    x_old = simulate_grm(a[old_ix], b[old_ix], theta=rng.normal(0, 1, 3000), seed=21)
    x_new = simulate_grm(a[new_ix], b[new_ix], theta=rng.normal(0.5, 1.3, 3000), seed=22)
    names_old = [f"i{j}" for j in old_ix]
    names_new = [f"i{j}" for j in new_ix]
    x_old.columns, x_new.columns = names_old, names_new
    f_old, f_new = grm(x_old, se="none").items, grm(x_new, se="none").items
    anchors = [f"i{j}" for j in range(8)]
    for method in ("stocking-lord", "mean-sigma", "mean-mean"):
        res = link(f_old, f_new, anchors, method=method)
        assert res.A == pytest.approx(1.3, abs=0.12), method
        assert res.B == pytest.approx(0.5, abs=0.1), method
        assert 0 < res.se_B < 0.1 and 0 < res.se_A < 0.15
        assert len(res.jackknife) == 8
    sl = link(f_old, f_new, anchors)
    assert abs(sl.A - 1.3) < 3 * sl.se_A + 0.02 and abs(sl.B - 0.5) < 3 * sl.se_B + 0.02
    assert list(sl.to_frame()["parameter"]) == ["A", "B"]
    assert "Стокинга–Лорда" in sl.summary()
    # new-form unique items land near their true (old-scale) parameters
    moved = sl.items.set_index("item").loc["i16"]
    assert moved["a"] == pytest.approx(a[16], abs=0.25)
    assert moved["b_1"] == pytest.approx(b[16, 0], abs=0.2)


def test_bad_input(planted):
    x, res = planted
    with pytest.raises(ValueError, match="observed"):
        grm(x, se="sandwich")
    const = x.copy()
    const["i01"] = 1.0
    with pytest.raises(DataError, match="не варьирует"):
        grm(const)
    with pytest.raises(DataError, match="Якорных заданий нет"):
        link(res.items, res.items, ["i01", "zz"])
    with pytest.raises(DataError, match="не меньше двух"):
        link(res.items, res.items, ["i01"])
    with pytest.raises(ValueError, match="stocking-lord"):
        link(res.items, res.items, ["i01", "i02"], method="haebara")


def test_grm_recovers_the_planted_item_parameters_of_the_sample_data():
    """COG scale of the 8–9 form, 2024–2025 pooled (version 2024): the planted discriminations are
    recovered up to the latent scale (the planted θ has school, municipality and grade variance on
    top of N(0, 1)), and the planted weak item COG06 has the lowest slope."""
    from pathlib import Path

    from proforient_diag.ingest import read_responses
    from proforient_diag.instrument import load_instrument
    from proforient_diag.synth import item_parameters

    root = Path(__file__).resolve().parents[1] / "data_samples" / "diagnostics"
    inst = load_instrument("psd", 2024)
    items = inst.items_for("8-9", "COG")
    frames = [read_responses(root / str(y), year=y).responses for y in (2024, 2025)]
    resp = pd.concat(frames)
    resp = resp[resp["band"] == "8-9"][items].copy()
    for i in items:  # keyed direction, as the generator plants it
        if inst.item_by_id[i].reverse:
            resp[i] = 6 - resp[i]
    fit = grm(resp - 1)
    est = fit.items.set_index("item")["a"]
    planted = item_parameters(inst).set_index("item").loc[items, "a"]
    assert est.idxmin() == "COG06" and planted.idxmin() == "COG06"
    assert np.corrcoef(est[items], planted)[0, 1] > 0.8
    ratio = (est[items] / planted).drop("COG06")
    assert 0.7 < ratio.median() < 1.3
