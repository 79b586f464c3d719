# Reference values for proforient_diag.psychometrics.items / .reliability.
# Run from the repository root: Rscript tests/reference/reliability.R
# psych 2.2.9 (Debian 12); data: psychTools::bfi as exported by tests/reference/datasets.R.
suppressPackageStartupMessages({library(psych); library(jsonlite)})
bfi <- read.csv("tests/reference/data/bfi.csv")
scales <- list(
  A = list(items = paste0("A", 1:5), keys = c("A1")),
  C = list(items = paste0("C", 1:5), keys = c("C4", "C5")),
  E = list(items = paste0("E", 1:5), keys = c("E1", "E2")),
  N = list(items = paste0("N", 1:5), keys = character(0)),
  O = list(items = paste0("O", 1:5), keys = c("O2", "O5")),
  # ten items, two of them reversed: a longer block for alpha-if-dropped and split halves
  AC = list(items = c(paste0("A", 1:5), paste0("C", 1:5)), keys = c("A1", "C4", "C5")),
  # no keys at all: psych reverses nothing (check.keys = FALSE), only warns
  A_nokeys = list(items = paste0("A", 1:5), keys = NULL)
)
out <- list()
for (nm in names(scales)) {
  s <- scales[[nm]]
  x <- bfi[, s$items]
  keys <- if (is.null(s$keys) || length(s$keys) == 0) NULL else s$keys
  # a <- psych::alpha(x, keys = keys)            (use = "pairwise", n = nrow(x))
  a <- suppressWarnings(psych::alpha(x, keys = keys, warnings = FALSE))
  tot <- a$total
  dr <- a$alpha.drop
  st <- a$item.stats
  rf <- a$response.freq
  out[[nm]] <- list(
    items = I(s$items), keys = I(if (is.null(keys)) character(0) else keys),
    n = nrow(x),
    # a$total
    raw_alpha = tot$raw_alpha, std_alpha = tot$std.alpha, g6 = tot[["G6(smc)"]],
    average_r = tot$average_r, s_n = tot[["S/N"]], ase = tot$ase,
    total_mean = tot$mean, total_sd = tot$sd, median_r = tot$median_r,
    # a$feldt  (= psych::alpha.ci(raw_alpha, n.obs = nrow(x), n.var = k))
    feldt_lower = as.numeric(a$feldt$lower.ci[[1]]), feldt_upper = as.numeric(a$feldt$upper.ci[[1]]),
    # print(a): Duhachek = raw_alpha -/+ 1.96 * ase
    duhachek_lower = tot$raw_alpha - 1.96 * tot$ase,
    duhachek_upper = tot$raw_alpha + 1.96 * tot$ase,
    # a$alpha.drop
    drop_raw_alpha = dr$raw_alpha, drop_std_alpha = dr$std.alpha,
    drop_g6 = dr[["G6(smc)"]], drop_average_r = dr$average_r, drop_s_n = dr[["S/N"]],
    drop_alpha_se = dr[["alpha se"]], drop_var_r = dr$var.r, drop_med_r = dr$med.r,
    # a$item.stats
    item_n = st$n, raw_r = st$raw.r, std_r = st$std.r, r_cor = st$r.cor,
    r_drop = st$r.drop, item_mean = st$mean, item_sd = st$sd,
    # a$response.freq (shares of the answers given, raw codes; miss = share missing)
    freq_codes = as.numeric(colnames(rf)[colnames(rf) != "miss"]),
    freq = unname(as.matrix(rf[, colnames(rf) != "miss"])),
    freq_miss = unname(rf[, "miss"])
  )
  # sh <- psych::splitHalf(x)   (check.keys = TRUE by default: keys from the first PC)
  sh <- suppressWarnings(psych::splitHalf(x, raw = TRUE))
  out[[nm]]$split <- list(
    maxrb = sh$maxrb, minrb = sh$minrb, meanr = sh$meanr, av_r = sh$av.r,
    med_r = sh$med.r, alpha = sh$alpha, lambda2 = sh$lambda2, lambda6 = sh$lambda6,
    n_splits = length(sh$raw), ci = unname(sh$ci))
}
# a 9-item block (odd k): psych enumerates only the first choose(9,4)/2 = 63 splits
x9 <- bfi[, c(paste0("A", 1:5), paste0("E", 3:5), "O1")]
sh9 <- suppressWarnings(psych::splitHalf(x9, raw = TRUE))
out$split9 <- list(items = colnames(x9), maxrb = sh9$maxrb, minrb = sh9$minrb,
  meanr = sh9$meanr, lambda2 = sh9$lambda2, lambda6 = sh9$lambda6, alpha = sh9$alpha,
  n_splits = length(sh9$raw), raw = sh9$raw)
# 16 items, 6435 splits: psych::splitHalf(bfi[, c(A, C, E1:E5 minus one ...)])
x16 <- bfi[, c(paste0("A", 1:5), paste0("C", 1:5), paste0("E", 1:5), "O1")]
sh16 <- suppressWarnings(psych::splitHalf(x16))
out$split16 <- list(items = colnames(x16), maxrb = sh16$maxrb, minrb = sh16$minrb,
  meanr = sh16$meanr, lambda2 = sh16$lambda2, lambda6 = sh16$lambda6, alpha = sh16$alpha)
write_json(out, "tests/reference/reliability.json", digits = NA, auto_unbox = TRUE)
