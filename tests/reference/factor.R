# Reference values for proforient_diag.psychometrics.factor (KMO, Bartlett, parallel analysis, EFA).
# Run from the repository root: Rscript tests/reference/factor.R
# R 4.x, psych 2.2.9, GPArotation 2022.10.2 (Debian 12); data: psychTools::bfi, the 25 items A1..O5,
# read from tests/reference/data/bfi.csv (written by tests/reference/datasets.R).
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
bfi <- read.csv("tests/reference/data/bfi.csv")
items <- bfi[, 1:25]
n <- nrow(items)
out <- list(meta = list(data = "psychTools::bfi items 1:25", n = n,
                        psych = as.character(packageVersion("psych")),
                        GPArotation = as.character(packageVersion("GPArotation"))))

# KMO(items): overall MSA and per-item MSAi (pairwise correlations)
k <- KMO(items)
out$kmo <- list(overall = k$MSA, per_item = as.list(k$MSAi))

# cortest.bartlett(items, n = nrow(items)): raw data, pairwise correlations
b <- suppressMessages(cortest.bartlett(items, n = n))
out$bartlett <- list(chisq = b$chisq, df = b$df, pvalue = b$p.value)

fa_ref <- function(f) {
  L <- unclass(f$loadings)
  list(loadings = lapply(seq_len(ncol(L)), function(j) as.numeric(L[, j])),
       factor_names = colnames(L),
       items = rownames(L),
       phi = if (is.null(f$Phi)) NULL else lapply(seq_len(ncol(f$Phi)), function(j) as.numeric(f$Phi[, j])),
       communality = as.numeric(f$communality),
       uniquenesses = as.numeric(f$uniquenesses),
       chisq = f$STATISTIC, dof = f$dof, pvalue = f$PVAL, objective = f$objective,
       tli = f$TLI, rmsea = as.numeric(f$RMSEA[1:3]), bic = f$BIC,
       rms = f$rms, crms = f$crms, null_chisq = f$null.chisq, null_dof = f$null.dof,
       e_values = as.numeric(f$e.values), values = as.numeric(f$values),
       vaccounted = lapply(seq_len(nrow(f$Vaccounted)), function(i) as.numeric(f$Vaccounted[i, ])),
       vaccounted_rows = rownames(f$Vaccounted))
}

# fa(items, nfactors = 5, fm = FM, rotate = ROT) for every method x rotation supported
out$fa <- list()
for (fm in c("minres", "ml", "pa")) {
  for (rot in c("none", "varimax", "promax", "oblimin", "geominQ")) {
    f <- suppressWarnings(suppressMessages(fa(items, nfactors = 5, fm = fm, rotate = rot)))
    out$fa[[paste(fm, rot, 5, sep = "_")]] <- fa_ref(f)
  }
}
# fa(items, nfactors = 1) and fa(items, nfactors = 2) (minres; oblimin and varimax for 2)
out$fa[["minres_none_1"]] <- fa_ref(fa(items, nfactors = 1))
out$fa[["ml_none_1"]] <- fa_ref(fa(items, nfactors = 1, fm = "ml"))
out$fa[["minres_oblimin_2"]] <- fa_ref(fa(items, nfactors = 2, rotate = "oblimin"))
out$fa[["pa_varimax_2"]] <- fa_ref(fa(items, nfactors = 2, fm = "pa", rotate = "varimax"))

# fa.parallel(items, fa = "fa", n.iter = 20): observed eigenvalues and psych's suggestion
set.seed(20240901)
pa <- suppressWarnings(fa.parallel(items, fa = "fa", n.iter = 20, plot = FALSE))
set.seed(20240901)
pb <- suppressWarnings(fa.parallel(items, fa = "both", n.iter = 20, plot = FALSE))
out$parallel <- list(fa_values = as.numeric(pa$fa.values), pc_values = as.numeric(pa$pc.values),
                     nfact = pa$nfact, fa_sim = as.numeric(pa$fa.sim),
                     both_nfact = pb$nfact, both_ncomp = pb$ncomp, pc_sim = as.numeric(pb$pc.sim))

write_json(out, "tests/reference/factor.json", digits = NA, auto_unbox = TRUE, null = "null")

# Polychoric path (psych::polychoric with global thresholds, then fa / fa.parallel)
# fa(items, nfactors = 5, cor = "poly", rotate = "oblimin")  and  fa(items[, 1:10], nfactors = 2, cor = "poly", fm = "ml", rotate = "promax")
poly <- list()
poly$minres_oblimin_5 <- fa_ref(suppressWarnings(suppressMessages(fa(items, nfactors = 5, cor = "poly", rotate = "oblimin"))))
poly$ml_promax_2_AC <- fa_ref(suppressWarnings(suppressMessages(fa(items[, 1:10], nfactors = 2, cor = "poly", fm = "ml", rotate = "promax"))))
# fa.parallel(items[, 1:10], fa = "fa", cor = "poly", n.iter = 5): observed values (nfact is
# borderline here, 3 or 4 between runs of R itself, so tests use only the observed values)
set.seed(1)
pp <- suppressWarnings(suppressMessages(fa.parallel(items[, 1:10], fa = "fa", cor = "poly", n.iter = 5, plot = FALSE)))
poly$parallel_AC <- list(fa_values = as.numeric(pp$fa.values), pc_values = as.numeric(pp$pc.values), nfact = pp$nfact)
out$polychoric <- poly
write_json(out, "tests/reference/factor.json", digits = NA, auto_unbox = TRUE, null = "null")
