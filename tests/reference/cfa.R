# Reference values for proforient_diag.psychometrics.cfa (CFA, invariance, WLSMV, FIML).
# lavaan 0.6-14 as Debian 12 ships it.
# Run from the repository root:  Rscript tests/reference/cfa.R
# Writes tests/reference/cfa.json and two derived data sets:
#   tests/reference/data/cfa_hs_ordered.csv  (x1-x9 cut into ordered categories, rule below)
#   tests/reference/data/cfa_hs_missing.csv  (x1-x9 with values set missing, seeded rule below)
suppressPackageStartupMessages(library(lavaan))
library(jsonlite)

hs <- read.csv("tests/reference/data/HolzingerSwineford1939.csv")
xs <- paste0("x", 1:9)
HS.model <- "visual  =~ x1 + x2 + x3
             textual =~ x4 + x5 + x6
             speed   =~ x7 + x8 + x9"

FM <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
        "rmsea.ci.upper", "rmsea.pvalue", "srmr", "aic", "bic", "logl",
        "baseline.chisq", "baseline.df", "ntotal")

# parameterEstimates(fit, standardized = TRUE): est, se, z, pvalue and std.all
# (std.all is standardizedSolution(fit)$est.std) as columns.
pe_tab <- function(fit) {
  pe <- parameterEstimates(fit, standardized = TRUE)
  if (is.null(pe$group)) pe$group <- 1L
  pe <- pe[pe$op %in% c("=~", "~~", "~1", "|"), ]
  list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = pe$group, est = pe$est,
       se = pe$se, z = pe$z, pvalue = pe$pvalue, std_all = pe$std.all)
}
fm <- function(fit, what = FM) as.list(fitMeasures(fit, what))

out <- list()

## 1. Single-group ML, the classic three-factor model -------------------------
# fit <- cfa(HS.model, data = hs)      (estimator = "ML", N covariance, listwise)
fit1 <- cfa(HS.model, data = hs)
out$hs_ml <- list(model = HS.model, fit = fm(fit1), estimates = pe_tab(fit1),
                  # lavInspect(fit1, "std")$lambda: standardized loadings (items x factors)
                  loadings_std = unname(as.list(as.data.frame(lavInspect(fit1, "std")$lambda))))

## 2. Syntax features: NA* (free marker), fixed values, labels (equality), covariances
SYN.model <- "# a comment line
  visual  =~ x1 + x2 + x3       # trailing comment
  textual =~ NA*x4 + x5 + x6
  speed   =~ x7 + b*x8 + b*x9
  textual ~~ 1*textual
  x7 ~~ x8
  visual ~~ 0*speed"
fit2 <- cfa(SYN.model, data = hs)
out$hs_syntax <- list(model = SYN.model, fit = fm(fit2), estimates = pe_tab(fit2))

## 3. Multi-group and invariance across school -------------------------------
# cfa(HS.model, data = hs, group = "school", group.equal = ...)
# groups in order of first appearance: Pasteur, Grant-White
conf   <- cfa(HS.model, data = hs, group = "school")
metric <- cfa(HS.model, data = hs, group = "school", group.equal = "loadings")
scalar <- cfa(HS.model, data = hs, group = "school", group.equal = c("loadings", "intercepts"))
strict <- cfa(HS.model, data = hs, group = "school",
              group.equal = c("loadings", "intercepts", "residuals"))
lrt <- lavTestLRT(conf, metric, scalar, strict)   # chi-square difference tests (ML: plain difference)
out$invariance <- list(
  group_labels = lavInspect(conf, "group.label"),
  configural = list(fit = fm(conf), estimates = pe_tab(conf)),
  metric = list(fit = fm(metric), estimates = pe_tab(metric)),
  scalar = list(fit = fm(scalar), estimates = pe_tab(scalar)),
  strict = list(fit = fm(strict), estimates = pe_tab(strict)),
  lrt = list(chisq = lrt$Chisq, df = lrt$Df, chisq_diff = lrt$`Chisq diff`,
             df_diff = lrt$`Df diff`, p_diff = lrt$`Pr(>Chisq)`, aic = lrt$AIC, bic = lrt$BIC))

## 4. Ordered items, WLSMV -----------------------------------------------------
# Rule: items x1, x4, x7 are cut at their quartiles into 4 categories, the other six at
# their tertiles into 3 categories: category = 1 + findInterval(x, quantile(x, probs))
# (quantile type 7; a value equal to a cut point goes to the upper category).
ord <- hs[, c("school", xs)]
for (v in xs) {
  probs <- if (v %in% c("x1", "x4", "x7")) c(.25, .5, .75) else c(1/3, 2/3)
  ord[[v]] <- 1L + findInterval(hs[[v]], quantile(hs[[v]], probs))
}
write.csv(ord, "tests/reference/data/cfa_hs_ordered.csv", row.names = FALSE)
ord <- read.csv("tests/reference/data/cfa_hs_ordered.csv")
# cfa(HS.model, data = ord, ordered = xs, estimator = "WLSMV")
# (DWLS on polychorics, delta parameterisation, scaled-shifted test)
fit4 <- cfa(HS.model, data = ord, ordered = xs, estimator = "WLSMV")
FMW <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
         "chisq.scaling.factor", "chisq.shift.parameters", "baseline.chisq", "baseline.df",
         "baseline.chisq.scaled", "baseline.pvalue.scaled", "cfi", "tli", "rmsea",
         "cfi.scaled", "tli.scaled", "rmsea.scaled", "rmsea.ci.lower.scaled",
         "rmsea.ci.upper.scaled", "rmsea.pvalue.scaled", "srmr", "ntotal")
ss <- lavInspect(fit4, "sampstat")                 # polychoric correlations and thresholds
gam <- lavInspect(fit4, "gamma")                   # NACOV (N times the asymptotic covariance)
out$wlsmv <- list(model = HS.model, fit = fm(fit4, FMW), estimates = pe_tab(fit4),
                  polychoric = unname(as.list(as.data.frame(unclass(ss$cov)))),
                  thresholds = unname(as.numeric(ss$th)),
                  gamma_diag = unname(diag(gam)))

## 5. Missing values: listwise (default) and FIML (missing = "ml") -------------
# Rule: set.seed(20240501); each of the 301 x 9 values of x1-x9 is set missing when
# runif() < 0.08 (matrix filled column by column).
set.seed(20240501)
mis <- hs[, xs]
mis[matrix(runif(nrow(mis) * 9) < 0.08, nrow(mis), 9)] <- NA
write.csv(mis, "tests/reference/data/cfa_hs_missing.csv", row.names = FALSE, na = "")
mis <- read.csv("tests/reference/data/cfa_hs_missing.csv")
fit5 <- cfa(HS.model, data = mis)                  # listwise deletion
fit6 <- cfa(HS.model, data = mis, missing = "ml")  # FIML
FMF <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
         "rmsea.ci.upper", "rmsea.pvalue", "srmr", "aic", "bic", "logl", "unrestricted.logl",
         "baseline.chisq", "baseline.df", "ntotal")
out$missing_listwise <- list(fit = fm(fit5), estimates = pe_tab(fit5))
out$missing_fiml <- list(fit = fm(fit6, FMF), estimates = pe_tab(fit6))

## 6. FIML with groups: the missing-data set with school taken from the HS file (same rows)
# cfa(HS.model, data = mis, group = "school", group.equal = "loadings", missing = "ml")
mis$school <- hs$school
fit7 <- cfa(HS.model, data = mis, group = "school", group.equal = "loadings", missing = "ml")
out$missing_fiml_metric <- list(fit = fm(fit7, FMF), estimates = pe_tab(fit7))

out$versions <- list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")))
write_json(out, "tests/reference/cfa.json", digits = NA, auto_unbox = TRUE, na = "null")
