# Reference values for proforient_diag.psychometrics.correlation.
# Run from the repository root: Rscript tests/reference/polychoric.R
# psych 2.2.9, polycor 0.8-1 (Debian 12); data: psychTools::bfi (tests/reference/data/bfi.csv).
suppressPackageStartupMessages({library(psych); library(polycor); library(jsonlite)})
bfi <- read.csv("tests/reference/data/bfi.csv")
out <- list()
sets <- list(A = paste0("A", 1:5), C = paste0("C", 1:5),
             all25 = colnames(bfi)[1:25])
for (nm in names(sets)) {
  x <- bfi[, sets[[nm]]]
  # p <- psych::polychoric(x)   (global = TRUE, smooth = TRUE, correct = .5 unused on the global path)
  p <- psych::polychoric(x)
  out[[nm]] <- list(items = sets[[nm]], rho = unname(p$rho), tau = unname(p$tau),
                    n_obs = p$n.obs)
}
# polycor::polychor(x, y, thresholds = TRUE)   two-step, the pair's own thresholds
pairs <- combn(c(paste0("A", 1:5), paste0("E", 1:5)), 2)
pc <- list()
for (k in seq_len(ncol(pairs))) {
  a <- pairs[1, k]; b <- pairs[2, k]
  r <- polycor::polychor(bfi[[a]], bfi[[b]], thresholds = TRUE)
  pc[[k]] <- list(x = a, y = b, rho = r$rho, row_cuts = r$row.cuts, col_cuts = r$col.cuts, n = r$n)
}
out$polychor_pairs <- pc
# A sparse case: gender (1/2) with education (1..5, many NA) and A1 recoded to 3 categories
x3 <- data.frame(A1 = cut(bfi$A1, c(0, 2, 4, 6), labels = FALSE),
                 A2 = cut(bfi$A2, c(0, 2, 4, 6), labels = FALSE),
                 E1 = cut(bfi$E1, c(0, 2, 4, 6), labels = FALSE))
p3 <- psych::polychoric(x3)
out$three_cat <- list(rho = unname(p3$rho), tau = unname(p3$tau))
write_json(out, "tests/reference/polychoric.json", digits = NA, auto_unbox = TRUE)
