# Reference values for complex-survey estimation (design-based means, totals, domain means,
# calibration, replicate weights), computed with R's survey package on its public `api` data
# (California Academic Performance Index: apistrat, apiclus1, apiclus2, apipop).
# survey 4.1-1, R 4.2.2 as Debian 12 ships them.
# Run from the repository root:  Rscript tests/reference/survey.R
# Writes tests/reference/survey.json and the data the Python tests read:
#   tests/reference/data/apistrat.csv, apiclus1.csv, apiclus2.csv   (subset of columns, row order
#                                                                    as in data(api))
#   tests/reference/data/apipop_totals.csv        (population totals used for calibration)
#   tests/reference/data/apiclus1_boot_repweights.csv  (bootstrap analysis replicate weights)
# Every design below is built from the CSV as read back, so R and Python see identical data.
#
# Conventions of survey that the numbers depend on (see also the "notes" key of the JSON):
# - options(survey.lonely.psu = "fail"), survey.ultimate.cluster = FALSE,
#   survey.replicates.mse = FALSE (replicate variances centred on the mean of the replicates).
# - Linearisation: the variance of a ratio-type mean uses the influence values
#   w_i (y_i - ybar) / sum(w); stratum/PSU totals of them, centred within stratum, times
#   (1 - n_h/N_h) n_h/(n_h - 1).
# - Multistage with fpc at every stage: V = V_stage1(fpc1) + sum_i (n1/N1) V_stage2,i(fpc2)
#   (survey:::multistage). Without fpc only the first stage is used (with replacement).
suppressPackageStartupMessages(library(survey))
library(jsonlite)

options(survey.lonely.psu = "fail")           # the package default, stated explicitly
dir.create("tests/reference/data", showWarnings = FALSE)
api <- new.env()
data(api, package = "survey", envir = api)   # apistrat, apiclus1, apiclus2, apipop

## 0. Data export ---------------------------------------------------------------
# write.csv prints 15 significant digits, which loses the last bits of pw (stored as
# single-precision values, e.g. 44.209999084472656). write_csv_exact() prints each
# non-integer double with the fewest digits (15-17) that read back to the identical double.
exact_chr <- function(x) {
  out <- sprintf("%.15g", x)
  for (dg in 16:17) {
    bad <- !is.na(x) & as.numeric(out) != x
    out[bad] <- sprintf(paste0("%.", dg, "g"), x[bad])
  }
  out[is.na(x)] <- NA
  out
}
write_csv_exact <- function(df, path) {
  df <- as.data.frame(df)
  strcols <- which(vapply(df, function(c) is.character(c) || is.factor(c), TRUE))
  for (v in names(df)) if (is.double(df[[v]]) && any(df[[v]] != round(df[[v]]), na.rm = TRUE))
    df[[v]] <- exact_chr(df[[v]])
  write.csv(df, path, row.names = FALSE, na = "", quote = if (length(strcols)) strcols else FALSE)
}
KEEP <- c("cds", "stype", "dnum", "snum", "pw", "api00", "api99", "enroll",
          "sch.wide", "comp.imp", "both", "meals", "ell")
write_csv_exact(api$apistrat[, c(KEEP, "fpc")], "tests/reference/data/apistrat.csv")
write_csv_exact(api$apiclus1[, c(KEEP, "fpc")], "tests/reference/data/apiclus1.csv")
write_csv_exact(api$apiclus2[, c(KEEP, "fpc1", "fpc2")], "tests/reference/data/apiclus2.csv")

read_api <- function(path, orig) {
  d <- read.csv(path, colClasses = c(cds = "character"))
  d$stype <- factor(d$stype, levels = c("E", "H", "M"))
  for (v in c("sch.wide", "comp.imp", "both")) d[[v]] <- factor(d[[v]], levels = c("No", "Yes"))
  # the CSV round trip is exact for every numeric column (checked, not assumed)
  for (v in names(d)) if (is.numeric(d[[v]])) stopifnot(identical(as.numeric(d[[v]]),
                                                                  as.numeric(orig[[v]])))
  d
}
# from here on apistrat, apiclus1, apiclus2 are the CSV subsets as read back
apistrat <- read_api("tests/reference/data/apistrat.csv", api$apistrat)
apiclus1 <- read_api("tests/reference/data/apiclus1.csv", api$apiclus1)
apiclus2 <- read_api("tests/reference/data/apiclus2.csv", api$apiclus2)
apipop <- api$apipop

# Population totals from apipop (6194 schools), checked against the published numbers.
pop.types   <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
pop.greg    <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
stopifnot(nrow(apipop) == 6194,
          all(as.vector(table(apipop$stype)) == pop.types$Freq),
          all(as.vector(table(apipop$sch.wide)) == pop.schwide$Freq),
          sum(apipop$api99) == 3914069)
pop_totals_csv <- data.frame(
  margin = c("stype", "stype", "stype", "sch.wide", "sch.wide", "(Intercept)", "api99"),
  level  = c("E", "H", "M", "No", "Yes", "", ""),
  total  = c(pop.types$Freq, pop.schwide$Freq, 6194, 3914069))
write.csv(pop_totals_csv, "tests/reference/data/apipop_totals.csv", row.names = FALSE)

## helpers: each returns the estimate and its SE (SE(x) = sqrt(diag(vcov(x)))) ----------
m_  <- function(f, d, ...) { r <- svymean(f, d, ...);  list(mean  = unname(coef(r)), se = as.vector(SE(r))) }
t_  <- function(f, d, ...) { r <- svytotal(f, d, ...); list(total = unname(coef(r)), se = as.vector(SE(r))) }
by_ <- function(by, d) {                       # svyby(~api00, by, d, svymean)
  r <- svyby(~api00, by, d, svymean)
  l <- list(as.character(r[[1]]), mean = unname(coef(r)), se = unname(SE(r)))
  names(l)[1] <- all.vars(by)
  l
}
call_ <- function(d) paste(deparse(d$call, width.cutoff = 500L), collapse = " ")
# Standard block for a linearisation design: n, degf, svymean(~api00), svytotal(~enroll),
# svymean(~as.numeric(sch.wide == "Yes")) (a 0/1 variable: proportion of schools meeting the
# school-wide target), svyby(~api00, ~sch.wide, d, svymean).
block <- function(d, by_stype = FALSE, enroll_na_rm = FALSE) {
  b <- list(call = call_(d), n = nrow(d), degf = degf(d),
            svymean = list(api00 = m_(~api00, d),
                           sch_wide_yes = m_(~as.numeric(sch.wide == "Yes"), d)),
            svytotal = list(enroll = t_(~enroll, d, na.rm = enroll_na_rm)),
            svyby = list(api00_by_sch.wide = by_(~sch.wide, d)))
  if (by_stype) b$svyby$api00_by_stype <- by_(~stype, d)
  b
}

out <- list()

## 1. Stratified (by school type), simple random sampling within strata ---------
# dstrat   <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
# dstrat_n <- svydesign(id = ~1, strata = ~stype, weights = ~pw,             data = apistrat)
dstrat   <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dstrat_n <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
# svymean(~api00, d); svytotal(~enroll, d); svymean(~as.numeric(sch.wide == "Yes"), d);
# svyby(~api00, ~sch.wide, d, svymean)
out$strat_fpc   <- block(dstrat)
out$strat_nofpc <- block(dstrat_n)

## 2. One-stage cluster sample of 15 school districts (dnum) out of 757 ----------
# dclus1   <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
# dclus1_n <- svydesign(id = ~dnum, weights = ~pw,             data = apiclus1)
dclus1   <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus1_n <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
# same statistics, plus svyby(~api00, ~stype, d, svymean)
out$clus1_fpc   <- block(dclus1, by_stype = TRUE)
out$clus1_nofpc <- block(dclus1_n, by_stype = TRUE)

## 3. Two-stage cluster: 40 districts, then up to 5 schools per district -------------
# fpc1 = number of districts (757), fpc2 = number of schools in the district.
# enroll has 6 missing values in apiclus2: svytotal(~enroll, d, na.rm = TRUE) (survey drops
# them as a domain: their weights are set to 0, the PSU structure is kept).
# dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
#   (weights implied by the fpcs: (757/40) * (fpc2/n2); equal to pw, checked below)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
stopifnot(max(abs(weights(dclus2) - apiclus2$pw)) < 1e-9)
# dclus2_fpc1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc1, data = apiclus2)
#   (first stage only, without replacement: V_stage1(fpc1))
dclus2_fpc1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc1, data = apiclus2)
# dclus2_uc <- svydesign(id = ~dnum, weights = ~pw, data = apiclus2)
#   (ultimate cluster, with replacement at the first stage)
dclus2_uc <- svydesign(id = ~dnum, weights = ~pw, data = apiclus2)
# dclus2_2st_nofpc <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
#   (two stages declared but no fpc: survey uses the first stage only -> same as dclus2_uc)
dclus2_2st_nofpc <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
clus2_block <- function(d) list(call = call_(d), n = nrow(d), degf = degf(d),
                                svymean = list(api00 = m_(~api00, d)),
                                svytotal = list(enroll = t_(~enroll, d, na.rm = TRUE)))
out$clus2_fpc         <- clus2_block(dclus2)
out$clus2_fpc1_only   <- clus2_block(dclus2_fpc1)
out$clus2_ultimate    <- clus2_block(dclus2_uc)
out$clus2_2stage_nofpc <- clus2_block(dclus2_2st_nofpc)
# variance decomposition of svymean(~api00) in dclus2: stage 1 (with fpc1) + stage 2 part
v_all <- as.numeric(vcov(svymean(~api00, dclus2)))
v_st1 <- as.numeric(vcov(svymean(~api00, dclus2_fpc1)))
out$clus2_fpc$variance_decomposition <- list(
  svymean_api00_var_total = v_all, stage1_var_fpc1 = v_st1, stage2_var = v_all - v_st1)

## 4. Calibration of the one-stage cluster design (dclus1, with fpc) -----------
# Each case: svymean(~api00), svytotal(~enroll), svyby(~api00, ~sch.wide, svymean), the
# calibrated weights weights(d) in the row order of apiclus1.csv, and the same statistics
# with the calibrated weights treated as fixed:
#   svydesign(id = ~dnum, weights = ~w_cal, fpc = ~fpc, data = apiclus1)
# (the difference is the calibration's variance reduction: survey uses residuals of the
# influence values on the calibration model).
cal_block <- function(d) {
  b <- block(d)
  b$svymean$sch_wide_yes <- NULL
  w <- unname(weights(d))
  apiclus1_w <- apiclus1; apiclus1_w$w_cal <- w
  dfix <- svydesign(id = ~dnum, weights = ~w_cal, fpc = ~fpc, data = apiclus1_w)
  b$weights <- w
  b$fixed_weights <- list(call = call_(dfix),
                          svymean = list(api00 = m_(~api00, dfix)),
                          svytotal = list(enroll = t_(~enroll, dfix)),
                          svyby = list(api00_by_sch.wide = by_(~sch.wide, dfix)))
  b
}
# postStratify(dclus1, ~stype, pop.types)
dps <- postStratify(dclus1, ~stype, pop.types)
out$cal_poststrat <- cal_block(dps)

# rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
#   default control = list(maxit = 10, epsilon = 1): stops when the joint stype x sch.wide
#   weighted table changes by less than 1 (weight units) between sweeps, so the stype
#   margin is matched only approximately (the last margin, sch.wide, exactly).
drk <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
out$cal_rake <- cal_block(drk)
# the margins the raked weights reach: svytotal(~stype, drk), svytotal(~sch.wide, drk)
out$cal_rake$achieved_margins <- list(stype = unname(coef(svytotal(~stype, drk))),
                                      sch.wide = unname(coef(svytotal(~sch.wide, drk))))
# rake(..., control = list(maxit = 100, epsilon = 1e-10)): epsilon < 1 is relative to the
# total weight; converged raking, for comparison with an implementation iterating to the end.
drk2 <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
             control = list(maxit = 100, epsilon = 1e-10))
out$cal_rake_converged <- cal_block(drk2)
out$cal_rake_converged$achieved_margins <- list(
  stype = unname(coef(svytotal(~stype, drk2))), sch.wide = unname(coef(svytotal(~sch.wide, drk2))))

# calibrate(dclus1, ~stype + api99, pop.greg)                    (linear: GREG, chi-square distance)
dgreg <- calibrate(dclus1, ~stype + api99, pop.greg)
out$cal_greg_linear <- cal_block(dgreg)
# calibrate(dclus1, ~stype + api99, pop.greg, calfun = "raking")  (exponential distance)
dcrk <- calibrate(dclus1, ~stype + api99, pop.greg, calfun = "raking")
out$cal_greg_raking <- cal_block(dcrk)
# achieved totals: svytotal(~stype + api99, d) reproduces pop.greg
out$cal_greg_linear$achieved_totals <- unname(coef(svytotal(~stype + api99, dgreg)))
out$cal_greg_raking$achieved_totals <- unname(coef(svytotal(~stype + api99, dcrk)))

## 5. Replicate weights -------------------------------------------------------
# Variance = scale * sum_r rscales_r (theta_r - mean_r theta_r)^2  (mse = FALSE).
# weights(d, "analysis") = replicate factor x sampling weight pw (combined.weights = FALSE).
rep_block <- function(d) {
  a <- svymean(~api00, d, return.replicates = TRUE)
  b <- svytotal(~enroll, d, return.replicates = TRUE)
  list(call = call_(d), type = d$type, n_replicates = ncol(weights(d, "analysis")),
       scale = d$scale, rscales = unname(d$rscales), mse = d$mse,
       combined_weights = d$combined.weights,
       compressed = inherits(d$repweights, "repweights_compressed"),
       svymean = list(api00 = c(m_(~api00, d), list(replicates = unname(as.vector(a$replicates))))),
       svytotal = list(enroll = c(t_(~enroll, d), list(replicates = unname(as.vector(b$replicates))))))
}
# as.svrepdesign(dclus1, type = "JK1"): drop one PSU, the others x n/(n-1);
#   scale = (1 - 15/757) * (n - 1)/n (fpc used), rscales = 1
rjk1 <- as.svrepdesign(dclus1, type = "JK1")
out$rep_jk1_clus1 <- rep_block(rjk1)
# as.svrepdesign(dstrat, type = "JKn"): one replicate per PSU (school), within-stratum factor
#   n_h/(n_h - 1); scale = 1, rscales_r = (1 - n_h/N_h) (n_h - 1)/n_h of the PSU's stratum
rjkn <- as.svrepdesign(dstrat, type = "JKn")
out$rep_jkn_strat <- rep_block(rjkn)
out$rep_jkn_strat$replicate_stratum <- as.character(apistrat$stype)  # replicate r drops school r
# set.seed(2026); as.svrepdesign(dclus1, type = "bootstrap", replicates = 50)
#   Canty-Davison bootstrap of PSUs; with an fpc each replicate draws n = 15 PSUs WITHOUT
#   replacement from a pseudo-population of N = 757 PSUs (the 15 repeated), so the replicate
#   factors are counts (0, 1, 2, ...) and the n/(n-1) factor sits in
#   scale = n / ((n - 1) (R - 1)), rscales = 1.
set.seed(2026)
rboot <- as.svrepdesign(dclus1, type = "bootstrap", replicates = 50)
out$rep_boot_clus1 <- rep_block(rboot)
W <- weights(rboot, "analysis")           # 183 x 50, fully expanded: count x pw
stopifnot(nrow(W) == nrow(apiclus1), ncol(W) == 50)
colnames(W) <- paste0("rep", 1:50)
write_csv_exact(W, "tests/reference/data/apiclus1_boot_repweights.csv")
Wr <- as.matrix(read.csv("tests/reference/data/apiclus1_boot_repweights.csv"))
stopifnot(identical(unname(Wr), unname(W)))
# replicate factors (counts) per PSU, rows = districts in order of first appearance in apiclus1
Fct <- weights(rboot, "replication")
out$rep_boot_clus1$seed <- 2026
out$rep_boot_clus1$repweights_csv <- "tests/reference/data/apiclus1_boot_repweights.csv"
out$rep_boot_clus1$psu_order <- unique(apiclus1$dnum)
out$rep_boot_clus1$psu_factors <- unname(lapply(seq_len(ncol(Fct)),
                                                function(r) Fct[!duplicated(apiclus1$dnum), r]))
# check: the SE recomputed by hand from the exported analysis weights
th <- colSums(W * apiclus1$api00) / colSums(W)
se_hand <- sqrt(rboot$scale * sum((th - mean(th))^2))
stopifnot(abs(se_hand - out$rep_boot_clus1$svymean$api00$se) < 1e-10)

## meta -----------------------------------------------------------------------
out$meta <- list(
  R_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  options = list(survey.lonely.psu = getOption("survey.lonely.psu"),
                 survey.ultimate.cluster = getOption("survey.ultimate.cluster"),
                 survey.replicates.mse = getOption("survey.replicates.mse"),
                 survey.adjust.domain.lonely = getOption("survey.adjust.domain.lonely")),
  data = list(apistrat = "tests/reference/data/apistrat.csv",
              apiclus1 = "tests/reference/data/apiclus1.csv",
              apiclus2 = "tests/reference/data/apiclus2.csv",
              apipop_totals = "tests/reference/data/apipop_totals.csv"),
  pop_totals = list(N = 6194,
                    stype = setNames(as.list(pop.types$Freq), pop.types$stype),
                    sch.wide = setNames(as.list(pop.schwide$Freq), pop.schwide$sch.wide),
                    api99 = 3914069,
                    calibrate_vector = as.list(pop.greg)),
  notes = c(
    "SE = sqrt(diag(vcov(.))); svyby SEs are per-group linearisation SEs (domain estimation: out-of-domain rows keep the design, influence 0).",
    "Two-stage dclus2 with fpc = ~fpc1 + fpc2 uses both stages: V = V1(fpc1) + sum_i (n1/N1) V2_i(fpc2); districts whose schools were all sampled (fpc2 = n2) add 0 at stage 2.",
    "Without fpc, id = ~dnum + snum uses only the first stage (with replacement): identical to the ultimate-cluster design id = ~dnum.",
    "rake() default control (maxit 10, epsilon 1 weight unit) is not fully converged; cal_rake_converged uses epsilon = 1e-10 (relative). Raking variance: influence values are residualised by 10 sweeps of margin-wise weighted-mean removal (survey:::svyrecvar).",
    "postStratify/calibrate variance: influence values replaced by their weighted residuals on the calibration model (g-weights); fixed_weights gives the plain linearisation SE with the same final weights.",
    "Replicate variance = scale * sum(rscales * (theta_r - mean(theta_r))^2) (mse = FALSE). Bootstrap analysis weights are counts x pw; scale = n/((n-1)(R-1)).",
    "apiclus2$enroll has 6 NA: totals use na.rm = TRUE."))

write_json(out, "tests/reference/survey.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")
