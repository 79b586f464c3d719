# Reference values for proforient_diag.psychometrics.omega (McDonald's omega via Schmid-Leiman).
# Run from the repository root: Rscript tests/reference/omega.R
# R 4.x, psych 2.2.9, GPArotation 2022.10.2 (Debian 12); data: psychTools::bfi items A1..O5
# read from tests/reference/data/bfi.csv (written by tests/reference/datasets.R).
suppressMessages({library(psych); library(GPArotation); library(jsonlite)})
bfi <- read.csv("tests/reference/data/bfi.csv")
items <- bfi[, 1:25]

om_ref <- function(o) {
  sl <- o$schmid$sl
  list(omega_h = o$omega_h, omega_total = o$omega.tot, alpha = o$alpha, omega_lim = o$omega.lim,
       g6 = o$G6, ecv = as.numeric(o$ECV),
       sl = lapply(seq_len(ncol(sl)), function(j) as.numeric(sl[, j])),
       sl_columns = colnames(sl), sl_items = rownames(sl),
       key = as.numeric(o$key),
       phi = if (is.null(o$schmid$phi)) NULL else lapply(seq_len(ncol(o$schmid$phi)), function(j) as.numeric(o$schmid$phi[, j])),
       gloading = as.numeric(o$schmid$gloading),
       omega_group = lapply(o$omega.group, as.numeric),
       omega_group_rows = rownames(o$omega.group))
}
out <- list(meta = list(psych = as.character(packageVersion("psych")),
                        GPArotation = as.character(packageVersion("GPArotation"))))
# omega(items[, 1:10], nfactors = 3, plot = FALSE): agreeableness + conscientiousness
out$A_C_3 <- om_ref(suppressWarnings(suppressMessages(omega(items[, 1:10], nfactors = 3, plot = FALSE))))
# omega(items, nfactors = 3, plot = FALSE): all 25 items (some flipped by flip = TRUE)
out$all_3 <- om_ref(suppressWarnings(suppressMessages(omega(items, nfactors = 3, plot = FALSE))))
# omega(items, nfactors = 5, plot = FALSE)
out$all_5 <- om_ref(suppressWarnings(suppressMessages(omega(items, nfactors = 5, plot = FALSE))))
# omega(items[, 11:20], nfactors = 2, plot = FALSE): extraversion + neuroticism (option = "equal")
out$E_N_2 <- om_ref(suppressWarnings(suppressMessages(omega(items[, 11:20], nfactors = 2, plot = FALSE))))
# omega(items[, 6:10], nfactors = 1, plot = FALSE): conscientiousness, one factor
out$C_1 <- om_ref(suppressWarnings(suppressMessages(omega(items[, 6:10], nfactors = 1, plot = FALSE))))
# omega(items[, 1:15], nfactors = 3, key = c(-1,1,1,1,1, 1,1,1,-1,-1, -1,-1,1,1,1), plot = FALSE):
# keys given (A1, C4, C5, E1, E2 reversed), so no automatic flip
out$ACE_keys_3 <- om_ref(suppressWarnings(suppressMessages(omega(items[, 1:15], nfactors = 3,
  key = c(-1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, 1, 1, 1), plot = FALSE))))
write_json(out, "tests/reference/omega.json", digits = NA, auto_unbox = TRUE, null = "null")
