"""KMO, Bartlett, parallel analysis and EFA against psych 2.2.9 (tests/reference/factor.R)."""
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from conftest import REFERENCE, load_reference
from proforient_diag.errors import DataError
from proforient_diag.psychometrics import bartlett, efa, kmo, parallel_analysis
from proforient_diag.psychometrics.factor import FactorDataError, pairwise_correlation
from proforient_diag.psychometrics.rotation import gpf_oblique, promax, varimax

REF = load_reference("factor")
ITEMS = pd.read_csv(REFERENCE / "data" / "bfi.csv").iloc[:, :25]
ITER = 1e-3      # iterative estimates (loadings, Φ, communalities, fit indices, omegas)
CLOSED = 1e-6    # closed forms


def _aslist(x):
    return [x] if isinstance(x, str) else list(x)


def _ref_matrix(cols):
    return np.array(cols, dtype=float).reshape(len(cols), -1).T


def _match(mine: np.ndarray, ref: np.ndarray):
    """Permutation and signs of my columns that best match R's (by congruence)."""
    cong = (mine.T @ ref) / np.outer(np.linalg.norm(mine, axis=0), np.linalg.norm(ref, axis=0))
    rows, cols = linear_sum_assignment(-np.abs(cong))
    perm = rows[np.argsort(cols)]
    signs = np.sign(cong[perm, np.arange(ref.shape[1])])
    return perm, signs


# --------------------------------------------------------------------------- KMO, Bartlett
def test_kmo_matches_psych():
    res = kmo(ITEMS)
    assert res.overall == pytest.approx(REF["kmo"]["overall"], abs=CLOSED)
    ref = pd.Series(REF["kmo"]["per_item"])
    assert list(res.per_item.index) == list(ref.index)
    np.testing.assert_allclose(res.per_item.to_numpy(), ref.to_numpy(), atol=CLOSED)
    frame = res.to_frame()
    assert list(frame.columns) == ["item", "msa"] and len(frame) == 26
    assert "KMO = 0,846" in res.summary()


def test_bartlett_matches_psych():
    res = bartlett(ITEMS)
    assert res.chisq == pytest.approx(REF["bartlett"]["chisq"], abs=CLOSED)
    assert res.df == REF["bartlett"]["df"] == 300
    assert res.pvalue == pytest.approx(REF["bartlett"]["pvalue"], abs=CLOSED)
    assert res.n_obs == 2800
    assert "Бартлетта" in res.summary()


def test_pairwise_correlation_equals_pandas_pairwise():
    r, npairs = pairwise_correlation(ITEMS)
    np.testing.assert_allclose(r, ITEMS.corr().to_numpy(), atol=1e-12)
    counts = ITEMS.notna().astype(int)
    np.testing.assert_array_equal(npairs, (counts.T @ counts).to_numpy())


# --------------------------------------------------------------------------- EFA
FA_CASES = sorted(REF["fa"])


@pytest.mark.parametrize("case", FA_CASES)
def test_efa_matches_psych(case):
    ref = REF["fa"][case]
    method, rot, nf = case.split("_")
    rotation = "geomin" if rot == "geominQ" else rot
    res = efa(ITEMS, int(nf), method=method, rotation=rotation)
    names = _aslist(ref["factor_names"])
    # psych's labels and order (sorted by SS loadings after rotation and sign flips)
    assert list(res.loadings.columns) == names
    assert list(res.loadings.index) == ref["items"]
    ref_l = _ref_matrix(ref["loadings"])
    mine = res.loadings.to_numpy()
    perm, signs = _match(mine, ref_l)
    np.testing.assert_array_equal(perm, np.arange(len(names)))
    np.testing.assert_array_equal(signs, np.ones(len(names)))
    np.testing.assert_allclose(mine, ref_l, atol=ITER)
    if ref["phi"] is None:
        assert res.phi is None
    else:
        np.testing.assert_allclose(res.phi.to_numpy(), _ref_matrix(ref["phi"]), atol=ITER)
    np.testing.assert_allclose(res.communalities.to_numpy(), ref["communality"], atol=ITER)
    np.testing.assert_allclose(res.uniquenesses.to_numpy(), ref["uniquenesses"], atol=ITER)
    np.testing.assert_allclose(res.eigenvalues.to_numpy(), ref["e_values"], atol=CLOSED)
    np.testing.assert_allclose(res.common_eigenvalues.to_numpy(), ref["values"], atol=ITER)
    assert res.dof == ref["dof"]
    assert res.chisq == pytest.approx(ref["chisq"], rel=1e-5)
    assert res.bic == pytest.approx(ref["bic"], rel=1e-5)
    assert res.objective == pytest.approx(ref["objective"], abs=ITER)
    assert res.pvalue == pytest.approx(ref["pvalue"], abs=ITER)
    assert res.tli == pytest.approx(ref["tli"], abs=ITER)
    rmsea = [res.rmsea, res.rmsea_lower, res.rmsea_upper]
    np.testing.assert_allclose(rmsea, ref["rmsea"], atol=ITER)
    assert res.rms == pytest.approx(ref["rms"], abs=ITER)
    assert res.crms == pytest.approx(ref["crms"], abs=ITER)
    assert res.null_chisq == pytest.approx(ref["null_chisq"], rel=1e-9)
    assert res.null_dof == ref["null_dof"]
    vacc = np.array(ref["vaccounted"], dtype=float).reshape(len(ref["vaccounted"]), -1)
    np.testing.assert_allclose(res.variance.to_numpy()[: vacc.shape[0]], vacc, atol=ITER)
    assert res.converged


def test_efa_from_correlation_matrix_gives_same_solution():
    raw = efa(ITEMS, 5, rotation="oblimin")
    r, _ = pairwise_correlation(ITEMS)
    rdf = pd.DataFrame(r, index=ITEMS.columns, columns=ITEMS.columns)
    mat = efa(rdf, 5, rotation="oblimin", n_obs=len(ITEMS))
    pd.testing.assert_frame_equal(mat.loadings, raw.loadings, atol=1e-10)
    assert mat.chisq == pytest.approx(raw.chisq, rel=1e-12)
    assert mat.tli == pytest.approx(REF["fa"]["minres_oblimin_5"]["tli"], abs=ITER)
    nofit = efa(rdf, 5, rotation="oblimin")
    assert nofit.n_obs is None and np.isnan(nofit.chisq)


def test_efa_tidy_frame_and_summary():
    res = efa(ITEMS, 5, method="ml", rotation="promax")
    tidy = res.to_frame()
    assert list(tidy.columns) == ["item", "factor", "loading"]
    assert len(tidy) == 25 * 5
    for _, row in tidy.sample(10, random_state=1).iterrows():
        assert row.loading == res.loadings.loc[row["item"], row["factor"]]
    text = res.summary()
    assert "факторов — 5" in text and "RMSEA = 0,0" in text and "," in text


@pytest.mark.parametrize("kwargs, option", [
    ({"method": "wls"}, "method"), ({"rotation": "quartimax"}, "rotation"),
    ({"cor": "spearman"}, "cor")])
def test_efa_bad_option_lists_allowed(kwargs, option):
    with pytest.raises(ValueError, match=option) as exc:
        efa(ITEMS, 2, **kwargs)
    assert "допустимые значения" in str(exc.value)


def test_efa_data_errors_are_russian():
    with pytest.raises(FactorDataError, match="Число факторов"):
        efa(ITEMS, 25)
    with pytest.raises(DataError, match="нечисловые"):
        efa(ITEMS.assign(A1=ITEMS["A1"].astype(str)), 2)
    with pytest.raises(FactorDataError, match="постоянный пункт"):
        efa(ITEMS.assign(A2=3.0), 2)
    with pytest.raises(FactorDataError, match="не меньше 3"):
        kmo(ITEMS[["A1", "A2"]])


POLY = REF["polychoric"]


@pytest.mark.parametrize("case, ncols, kwargs", [
    ("minres_oblimin_5", 25, dict(n_factors=5)),
    ("ml_promax_2_AC", 10, dict(n_factors=2, method="ml", rotation="promax"))])
def test_efa_polychoric_matches_psych(case, ncols, kwargs):
    """fa(x, cor = "poly"): psych's polychoric is itself accurate to ~1e-4 (R-CONVENTIONS)."""
    ref = POLY[case]
    res = efa(ITEMS.iloc[:, :ncols], cor="polychoric", **kwargs)
    assert list(res.loadings.columns) == _aslist(ref["factor_names"])
    np.testing.assert_allclose(res.loadings.to_numpy(), _ref_matrix(ref["loadings"]), atol=ITER)
    if ref["phi"] is not None:
        np.testing.assert_allclose(res.phi.to_numpy(), _ref_matrix(ref["phi"]), atol=ITER)
    np.testing.assert_allclose(res.communalities.to_numpy(), ref["communality"], atol=ITER)
    assert res.chisq == pytest.approx(ref["chisq"], rel=1e-4)
    assert res.tli == pytest.approx(ref["tli"], abs=ITER)
    np.testing.assert_allclose([res.rmsea, res.rmsea_lower, res.rmsea_upper], ref["rmsea"],
                               atol=ITER)
    assert res.rms == pytest.approx(ref["rms"], abs=ITER)
    assert res.cor == "polychoric" and "полихорические" in res.summary()


def test_parallel_polychoric_observed_values_match_psych():
    ref = POLY["parallel_AC"]
    res = parallel_analysis(ITEMS.iloc[:, :10], n_iter=5, seed=1, cor="polychoric")
    np.testing.assert_allclose(res.observed_fa.to_numpy(), ref["fa_values"], atol=ITER)
    np.testing.assert_allclose(res.observed_pc.to_numpy(), ref["pc_values"], atol=ITER)


# --------------------------------------------------------------------------- rotations
def test_rotations_keep_communalities_and_unit_phi():
    lam = efa(ITEMS, 5, rotation="none").loadings.to_numpy()
    h2 = (lam ** 2).sum(axis=1)
    np.testing.assert_allclose((varimax(lam).loadings ** 2).sum(axis=1), h2, atol=1e-12)
    for rot in (promax(lam), gpf_oblique(lam, "oblimin"), gpf_oblique(lam, "geomin", delta=.01)):
        np.testing.assert_allclose(np.diag(rot.phi), 1.0, atol=1e-12)
        np.testing.assert_allclose(np.diag(rot.loadings @ rot.phi @ rot.loadings.T), h2,
                                   atol=1e-10)


# --------------------------------------------------------------------------- parallel analysis
def test_parallel_analysis_observed_values_and_suggestion():
    ref = REF["parallel"]
    res = parallel_analysis(ITEMS, n_iter=20, seed=20240901)
    np.testing.assert_allclose(res.observed_fa.to_numpy(), ref["fa_values"], atol=ITER)
    np.testing.assert_allclose(res.observed_pc.to_numpy(), ref["pc_values"], atol=CLOSED)
    assert res.n_factors == ref["nfact"] == 6
    assert res.n_components == ref["both_ncomp"] == 6
    frame = res.to_frame()
    assert list(frame.columns) == ["number", "observed_fa", "simulated_fa", "quantile_fa",
                                   "observed_pc", "simulated_pc", "quantile_pc"]
    assert len(frame) == 25
    assert "факторов — 6" in res.summary()


def test_parallel_analysis_is_seeded_and_simulates_null_correlations():
    a = parallel_analysis(ITEMS, n_iter=10, seed=7, fa="pc")
    b = parallel_analysis(ITEMS, n_iter=10, seed=7, fa="pc")
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert a.n_factors == a.n_components == 6
    # eigenvalues of a null correlation matrix sum to p; the mean largest ones agree with R's
    # simulation (fa.parallel(fa = "both")$pc.sim, another random stream: Monte Carlo error)
    assert a.simulated_pc.sum() == pytest.approx(25.0, abs=1e-9)
    np.testing.assert_allclose(a.simulated_pc.to_numpy()[:3], REF["parallel"]["pc_sim"][:3],
                               atol=0.02)
    with pytest.raises(ValueError, match="параметр «fa»: допустимые значения «fa», «pc», «both»"):
        parallel_analysis(ITEMS, fa="factors")
