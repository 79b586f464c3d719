# Reference values for proforient_diag measurement-invariance testing:
#   (1) continuous ML multi-group CFA (configural / metric / scalar / strict, chi-square
#       difference tests, score tests for partial invariance and partial scalar models),
#   (2) ordinal WLSMV invariance with thresholds first (Wu & Estabrook, 2016) via
#       semTools::measEq.syntax.
# lavaan 0.6-14, semTools 0.5-6, psychTools 2.2.9, R 4.2.2 as Debian 12 ships them.
# Run from the repository root:  Rscript tests/reference/invariance.R
# Reads  tests/reference/data/HolzingerSwineford1939.csv   (written by datasets.R)
# Writes tests/reference/invariance.json and
#        tests/reference/data/bfi_agreeableness_gender.csv (psychTools::bfi A1-A5 + gender,
#        complete cases, id = the bfi row name)
suppressPackageStartupMessages({
  library(lavaan)
  library(semTools)
})
library(jsonlite)
options(useFancyQuotes = FALSE)   # plain quotes in the captured lavTestLRT headings

FM_ML <- c("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "ntotal")
fm <- function(fit, what) as.list(fitMeasures(fit, what))
# lavTestLRT(a, b) for two nested models: the difference row (the second one)
lrt_ <- function(a, b) {
  r <- lavTestLRT(a, b)
  head <- trimws(unlist(strsplit(attr(r, "heading"), "\n")))
  l <- list(chisq = r$Chisq, df = r$Df, chisq_diff = r$`Chisq diff`[2],
            df_diff = r$`Df diff`[2], p_diff = r$`Pr(>Chisq)`[2])
  if (!is.null(r$RMSEA)) l$rmsea_diff <- r$RMSEA[2]   # RMSEA of the difference test (ML)
  c(l, list(method = head[head != ""][1], heading = attr(r, "heading"),
            printed = capture.output(print(r))))
}
# parameterEstimates(fit): lhs op rhs group label est se (all free and fixed parameters)
pe_ <- function(fit) {
  pe <- parameterEstimates(fit)
  list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = pe$group, label = pe$label,
       est = pe$est, se = pe$se)
}
# lavTestScore(fit)$uni with the ".pN. == .pM." labels mapped to the parameter they constrain
# (parTable(fit): plabel -> lhs op rhs and group; both sides name the same parameter in
# group 1 and group 2).
score_ <- function(fit) {
  ts <- lavTestScore(fit)        # univariate = TRUE, information = "expected"
  pt <- parTable(fit)
  u <- ts$uni
  i1 <- match(u$lhs, pt$plabel); i2 <- match(u$rhs, pt$plabel)
  stopifnot(all(pt$lhs[i1] == pt$lhs[i2]), all(pt$op[i1] == pt$op[i2]),
            all(pt$rhs[i1] == pt$rhs[i2]))
  par <- paste0(pt$lhs[i1], pt$op[i1], pt$rhs[i1])   # e.g. "x3~1", "visual=~x2"
  list(total = list(X2 = ts$test$X2, df = ts$test$df, p = ts$test$p.value),
       uni = list(constraint = paste(u$lhs, u$op, u$rhs), parameter = par,
                  op = pt$op[i1], group_lhs = pt$group[i1], group_rhs = pt$group[i2],
                  X2 = u$X2, df = u$df, p = u$p.value))
}
# lavInspect(fit, "test")[[name]] without the text fields
tst_ <- function(fit, name) {
  t <- lavInspect(fit, "test")[[name]]
  t[intersect(names(t), c("stat", "stat.group", "df", "pvalue", "scaling.factor",
                          "shift.parameter", "trace.UGamma", "trace.UGamma2"))]
}
# the intercept constraint with the largest univariate score statistic
top_intercept <- function(sc) {
  j <- which(sc$uni$op == "~1")
  j <- j[which.max(sc$uni$X2[j])]
  list(parameter = sc$uni$parameter[j], X2 = sc$uni$X2[j], p = sc$uni$p[j])
}

out <- list()

## 1. Continuous ML: HolzingerSwineford1939, groups = school ------------------------
hs <- read.csv("tests/reference/data/HolzingerSwineford1939.csv")
HS.model <- "visual  =~ x1 + x2 + x3
             textual =~ x4 + x5 + x6
             speed   =~ x7 + x8 + x9"
# cfa(HS.model, data = hs, group = "school", group.equal = ...)  (ML, marker loadings = 1,
# mean structure; groups in order of first appearance: Pasteur, Grant-White)
conf   <- cfa(HS.model, data = hs, group = "school")
metric <- cfa(HS.model, data = hs, group = "school", group.equal = "loadings")
scalar <- cfa(HS.model, data = hs, group = "school", group.equal = c("loadings", "intercepts"))
strict <- cfa(HS.model, data = hs, group = "school",
              group.equal = c("loadings", "intercepts", "residuals"))
ml <- list(model = HS.model, group_labels = lavInspect(conf, "group.label"),
           configural = list(group.equal = character(0), fit = fm(conf, FM_ML)),
           metric = list(group.equal = "loadings", fit = fm(metric, FM_ML)),
           scalar = list(group.equal = c("loadings", "intercepts"), fit = fm(scalar, FM_ML)),
           strict = list(group.equal = c("loadings", "intercepts", "residuals"),
                         fit = fm(strict, FM_ML)))
# lavTestLRT(conf, metric), lavTestLRT(metric, scalar), lavTestLRT(scalar, strict)
# (ML: plain chi-square difference, df difference, upper-tail p)
ml$lrt <- list(configural_vs_metric = lrt_(conf, metric),
               metric_vs_scalar = lrt_(metric, scalar),
               scalar_vs_strict = lrt_(scalar, strict))

# Partial scalar invariance.
# lavTestScore(scalar): one score (Lagrange multiplier) test per equality constraint
# (loadings and intercepts); the intercept with the largest X2 is freed in both groups:
# cfa(HS.model, data = hs, group = "school", group.equal = c("loadings", "intercepts"),
#     group.partial = "<that intercept>")
sc0 <- score_(scalar)
step1 <- top_intercept(sc0)
partial1 <- cfa(HS.model, data = hs, group = "school", group.equal = c("loadings", "intercepts"),
                group.partial = step1$parameter)
# lavTestScore(partial1): the largest remaining intercept constraint; freed too if p < .05
sc1 <- score_(partial1)
step2 <- top_intercept(sc1)
ml$partial <- list(
  rule = paste("free the intercept constraint with the largest univariate score X2 of",
               "lavTestScore(scalar); refit; repeat once on the refitted model if its",
               "largest intercept X2 still has p < .05"),
  score_scalar = sc0,
  step1 = list(freed = step1, group.partial = step1$parameter,
               fit = fm(partial1, FM_ML), score = sc1,
               lrt_vs_metric = lrt_(metric, partial1)))
if (step2$p < 0.05) {
  gp2 <- c(step1$parameter, step2$parameter)
  # cfa(HS.model, data = hs, group = "school", group.equal = c("loadings", "intercepts"),
  #     group.partial = c(<step 1>, <step 2>))
  partial2 <- cfa(HS.model, data = hs, group = "school",
                  group.equal = c("loadings", "intercepts"), group.partial = gp2)
  sc2 <- score_(partial2)
  ml$partial$step2 <- list(freed = step2, group.partial = gp2, fit = fm(partial2, FM_ML),
                           score = sc2, lrt_vs_metric = lrt_(metric, partial2),
                           lrt_vs_partial1 = lrt_(partial2, partial1))
} else {
  ml$partial$step2 <- list(freed = NULL, note = "largest remaining intercept X2 not significant",
                           candidate = step2)
}
out$ml_hs_school <- ml

## 2. Ordinal WLSMV: bfi agreeableness A1-A5 (6 categories) by gender -----------------
# psychTools::bfi, columns A1-A5 and gender (1 = male, 2 = female), complete cases;
# the data are written to CSV and read back. Row order as in bfi: the first row is male,
# so lavaan's group 1 = gender 1 (male), group 2 = gender 2 (female).
data(bfi, package = "psychTools")
items <- paste0("A", 1:5)
ag <- bfi[, c(items, "gender")]
ag <- ag[complete.cases(ag), ]
ag <- data.frame(id = rownames(ag), ag, row.names = NULL)
write.csv(ag, "tests/reference/data/bfi_agreeableness_gender.csv", row.names = FALSE)
ag <- read.csv("tests/reference/data/bfi_agreeableness_gender.csv")

CONF.model <- "agree =~ A1 + A2 + A3 + A4 + A5"
# syn <- measEq.syntax(configural.model = CONF.model, data = ag, ordered = items,
#                      parameterization = "delta", ID.fac = "std.lv",
#                      ID.cat = "Wu.Estabrook.2016", group = "gender", group.equal = GE)
# fit <- cfa(as.character(syn), data = ag, group = "gender", ordered = items,
#            parameterization = "delta", estimator = "WLSMV", std.lv = TRUE,
#            meanstructure = TRUE)
# (what measEq.syntax(..., return.fit = TRUE) runs; WLSMV = DWLS estimates, robust SEs,
#  mean-and-variance adjusted (scaled-shifted) test statistic)
ORD_LEVELS <- list(configural = "configural",
                   thresholds = "thresholds",
                   thresholds_loadings = c("thresholds", "loadings"),
                   thresholds_loadings_intercepts = c("thresholds", "loadings", "intercepts"))
FM_ORD <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
            "chisq.scaling.factor", "cfi.scaled", "tli.scaled",
            "rmsea.scaled", "srmr", "ntotal")
ord_fits <- list()
ord <- list(model = CONF.model, data = "tests/reference/data/bfi_agreeableness_gender.csv",
            n = nrow(ag), ordered = items, estimator = "WLSMV", parameterization = "delta",
            ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016")
for (lev in names(ORD_LEVELS)) {
  GE <- ORD_LEVELS[[lev]]
  syn <- measEq.syntax(configural.model = CONF.model, data = ag, ordered = items,
                       parameterization = "delta", ID.fac = "std.lv",
                       ID.cat = "Wu.Estabrook.2016", group = "gender", group.equal = GE)
  fit <- cfa(as.character(syn), data = ag, group = "gender", ordered = items,
             parameterization = "delta", estimator = "WLSMV", std.lv = TRUE,
             meanstructure = TRUE)
  stopifnot(lavInspect(fit, "converged"))
  ord_fits[[lev]] <- fit
  ord[[lev]] <- list(group.equal = GE, syntax = as.character(syn),
                     group_labels = lavInspect(fit, "group.label"),
                     group_n = unlist(lavInspect(fit, "nobs")),
                     fit = fm(fit, FM_ORD),
                     # lavInspect(fit, "test"): the standard (unscaled) statistic and the
                     # scaled-shifted one; chisq.scaled = chisq / scaling.factor + shift.parameter
                     # (one shift for the whole multi-group model; fitMeasures() omits it)
                     test = list(standard = tst_(fit, "standard"),
                                 scaled.shifted = tst_(fit, "scaled.shifted")),
                     estimates = pe_(fit))
}
# lavTestLRT(fit_a, fit_b) between consecutive levels. For WLSMV lavaan 0.6-14 uses the
# scaled difference test method = "satorra.2000" (A.method = "delta", scaled.shifted = TRUE):
# the "Chisq" column holds the standard (unscaled) statistics of the two models, while
# "Chisq diff" is the scaled (Satorra 2000) difference statistic -- not the difference of the
# two chisq.scaled values -- referred to chi-square with "Df diff" = df_b - df_a.
ord$lrt <- list(
  configural_vs_thresholds = lrt_(ord_fits$configural, ord_fits$thresholds),
  thresholds_vs_thresholds_loadings = lrt_(ord_fits$thresholds, ord_fits$thresholds_loadings),
  thresholds_loadings_vs_thresholds_loadings_intercepts =
    lrt_(ord_fits$thresholds_loadings, ord_fits$thresholds_loadings_intercepts))
out$ordinal_bfi_agree_gender <- ord

out$meta <- list(R_version = R.version.string,
                 lavaan_version = as.character(packageVersion("lavaan")),
                 semTools_version = as.character(packageVersion("semTools")),
                 psychTools_version = as.character(packageVersion("psychTools")),
                 notes = c(
  "Fit p-values are lavaan's 1 - pchisq(stat, df): exactly 0 when the tail is below ~1e-16 (e.g. configural pvalue.scaled; pchisq(138.47, 10, lower.tail = FALSE) = 8.7e-25).",
  "WLSMV lavTestLRT (satorra.2000): 'chisq' = standard statistics of the two models; 'chisq_diff' = scaled difference statistic, not the difference of chisq.scaled; p from chi-square(df_diff).",
  "Ordinal groups: group 1 = gender 1 (male, n 896), group 2 = gender 2 (female, n 1813), order of first appearance.",
  "Score tests: lavTestScore(fit) defaults (univariate, expected information); constraint labels .pN. mapped with parTable(fit)$plabel."))
write_json(out, "tests/reference/invariance.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")
