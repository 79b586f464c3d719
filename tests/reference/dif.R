# Reference values for proforient_diag.psychometrics.dif (Mantel–Haenszel and ordinal logistic DIF).
# Run from the repository root: Rscript tests/reference/dif.R  -> tests/reference/dif.json
# R 4.2.2, MASS 7.3 (Debian 12).
#
# Data: psychTools::bfi (tests/reference/data/bfi.csv), Agreeableness items A1..A5,
# A1 reversed as 7 - A1, rows complete on A1..A5 and gender (listwise).
# Group: gender (1 = male, 2 = female); focal = 1 (male), reference = 2 (female).
# Matching variable (strata): the rest score = sum of the other four items of the same table;
# a stratum is one value of the rest score; strata with fewer than 2 persons are dropped
# (stats::mantelhaen.test refuses them).
#   dichotomous case: item01 = as.integer(item >= 4), rest score 0..4
#   polytomous case:  raw 1..6 answers, rest score 4..24
library(MASS)
library(jsonlite)

bfi <- read.csv("tests/reference/data/bfi.csv")
items <- c("A1", "A2", "A3", "A4", "A5")
d <- bfi[complete.cases(bfi[, c(items, "gender")]), c(items, "gender")]
d$A1 <- 7 - d$A1
grp <- factor(ifelse(d$gender == 1, "focal", "reference"), levels = c("reference", "focal"))
dich <- as.data.frame(lapply(d[, items], function(x) as.integer(x >= 4)))

out <- list(n = nrow(d), n_focal = sum(grp == "focal"), n_reference = sum(grp == "reference"))

## --- Mantel–Haenszel on the dichotomised items ------------------------------------------
mh <- list()
for (it in items) {
  rest <- rowSums(dich[, setdiff(items, it)])
  keep <- rest %in% as.numeric(names(which(table(rest) >= 2)))
  # 2 x 2 x K table: rows reference/focal, columns correct(1)/incorrect(0), layers rest score
  tab <- table(grp[keep], factor(dich[keep, it], levels = c(1, 0)), rest[keep])
  # R: stats::mantelhaen.test(tab)  (correct = TRUE, exact = FALSE: the defaults)
  m <- mantelhaen.test(tab)
  # Robins–Breslow–Greenland SD of log(alpha_MH), recovered from R's 95 % CI:
  sd_log <- (log(m$conf.int[2]) - log(m$estimate)) / qnorm(0.975)
  mh[[it]] <- list(
    strata = as.numeric(dimnames(tab)[[3]]),
    statistic = unname(m$statistic),          # mantelhaen.test()$statistic (continuity corrected)
    p_value = unname(m$p.value),              # mantelhaen.test()$p.value
    alpha_mh = unname(m$estimate),            # mantelhaen.test()$estimate: common odds ratio
    delta_mh = -2.35 * log(unname(m$estimate)),  # ETS D-DIF = -2.35 ln(alpha_MH)
    se_delta = 2.35 * sd_log,                 # 2.35 * RBG SD of ln(alpha_MH)
    # mantelhaen.test(tab, correct = FALSE)$statistic
    statistic_uncorrected = unname(mantelhaen.test(tab, correct = FALSE)$statistic)
  )
}
out$mh_dichotomous <- mh

## --- Mantel (1963) 1-df test and SMD on the raw 1..6 answers -----------------------------
# No R package of Debian 12 prints Mantel's ordinal statistic; it is written out from the
# formula (Zwick, Donoghue & Grima 1993) on the table(group, item, stratum) counts, with the
# item scores 1..6 as the column scores. The general-association CMH (J - 1 df) is also
# given by stats::mantelhaen.test on the 2 x J x K table.
mantel <- list()
for (it in items) {
  rest <- rowSums(d[, setdiff(items, it)])
  keep <- rest %in% as.numeric(names(which(table(rest) >= 2)))
  tab <- table(grp[keep], factor(d[keep, it], levels = 1:6), rest[keep])
  y <- 1:6
  Fk <- apply(tab, 3, function(t) sum(y * t["focal", ]))
  nF <- apply(tab, 3, function(t) sum(t["focal", ]))
  nR <- apply(tab, 3, function(t) sum(t["reference", ]))
  N <- nF + nR
  sy <- apply(tab, 3, function(t) sum(y * colSums(t)))
  syy <- apply(tab, 3, function(t) sum(y^2 * colSums(t)))
  EF <- nF / N * sy
  VF <- nR * nF / (N^2 * (N - 1)) * (N * syy - sy^2)
  chi <- (sum(Fk) - sum(EF))^2 / sum(VF)
  # SMD (Dorans & Schmitt): sum_k (nF_k / nF) * (mean_F_k - mean_R_k), over strata with both groups
  mF <- Fk / nF
  mR <- apply(tab, 3, function(t) sum(y * t["reference", ])) / nR
  both <- nF > 0 & nR > 0
  smd <- sum((nF[both] / sum(nF)) * (mF[both] - mR[both]))
  # ETS polytomous effect size: SMD / SD of the item in the total (both groups) sample kept
  sd_item <- sd(d[keep, it])
  gen <- mantelhaen.test(tab)
  mantel[[it]] <- list(
    strata = as.numeric(dimnames(tab)[[3]]),
    statistic = chi,
    p_value = pchisq(chi, 1, lower.tail = FALSE),
    smd = smd,
    smd_sd = smd / sd_item,
    general_statistic = unname(gen$statistic),   # mantelhaen.test(2 x 6 x K)$statistic
    general_df = unname(gen$parameter),
    general_p_value = unname(gen$p.value)
  )
}
out$mantel_polytomous <- mantel

## --- Ordinal logistic regression DIF with MASS::polr ------------------------------------
# M0: item ~ rest; M1: item ~ rest + focal; M2: item ~ rest + focal + focal:rest
# focal = 1 for gender 1 (male), 0 otherwise; rest = sum of the other four raw items.
ll0 <- function(y) { p <- table(y) / length(y); sum(table(y) * log(p)) }   # thresholds only
nagel <- function(ll, lln, n) (1 - exp(-2 * (ll - lln) / n)) / (1 - exp(2 * lln / n))
lg <- list()
focal <- as.integer(grp == "focal")
ctrl <- list(reltol = 1e-14, maxit = 5000)
for (it in items) {
  rest <- rowSums(d[, setdiff(items, it)])
  y <- factor(d[, it], ordered = TRUE)
  # R: MASS::polr(y ~ rest, method = "logistic"), etc.; logLik() of each fit
  m0 <- polr(y ~ rest, method = "logistic", control = ctrl)
  m1 <- polr(y ~ rest + focal, method = "logistic", control = ctrl)
  m2 <- polr(y ~ rest + focal + focal:rest, method = "logistic", control = ctrl)
  l0 <- as.numeric(logLik(m0)); l1 <- as.numeric(logLik(m1)); l2 <- as.numeric(logLik(m2))
  ln <- ll0(y); n <- length(y)
  lg[[it]] <- list(
    loglik_m0 = l0, loglik_m1 = l1, loglik_m2 = l2, loglik_null = ln,
    chi2_total = 2 * (l2 - l0), p_total = pchisq(2 * (l2 - l0), 2, lower.tail = FALSE),
    chi2_uniform = 2 * (l1 - l0), p_uniform = pchisq(2 * (l1 - l0), 1, lower.tail = FALSE),
    chi2_nonuniform = 2 * (l2 - l1), p_nonuniform = pchisq(2 * (l2 - l1), 1, lower.tail = FALSE),
    beta_focal = unname(coef(m1)["focal"]),
    r2n_m0 = nagel(l0, ln, n), r2n_m1 = nagel(l1, ln, n), r2n_m2 = nagel(l2, ln, n),
    r2mf_m0 = 1 - l0 / ln, r2mf_m1 = 1 - l1 / ln, r2mf_m2 = 1 - l2 / ln
  )
}
out$logistic_polytomous <- lg

write_json(out, "tests/reference/dif.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
