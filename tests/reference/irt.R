# Reference values for proforient_diag.psychometrics.irt (graded response model).
# Run from the repository root: Rscript tests/reference/irt.R  -> tests/reference/irt.json
# R 4.2.2, lavaan 0.6-14 (Debian 12). mirt/ltm are not packaged for Debian 12, so:
#  (1) an approximate second implementation: lavaan's categorical one-factor model (DWLS on
#      polychorics, delta parameterisation, std.lv = TRUE) converted to logistic GRM
#      parameters a = 1.702 * lambda / sqrt(1 - lambda^2), b_k = tau_k / lambda;
#  (2) exact closed forms written out in R for given parameters: the GRM marginal
#      log-likelihood on the fixed quadrature grid (41 equally spaced nodes on [-6, 6],
#      weights proportional to dnorm), EAP theta and posterior SD, and item information.
# Data: psychTools::bfi (tests/reference/data/bfi.csv), Neuroticism items N1..N5, rows complete
# on N1..N5 (listwise), answers 1..6.
library(lavaan)
library(jsonlite)

bfi <- read.csv("tests/reference/data/bfi.csv")
items <- c("N1", "N2", "N3", "N4", "N5")
d <- bfi[complete.cases(bfi[, items]), items]
out <- list(n = nrow(d), items = items)

# (1) R: lavaan::cfa("f =~ N1 + N2 + N3 + N4 + N5", data = d, ordered = items, std.lv = TRUE)
fit <- cfa("f =~ N1 + N2 + N3 + N4 + N5", data = d, ordered = items, std.lv = TRUE)
pe <- parameterEstimates(fit)
lam <- pe$est[pe$op == "=~"]
names(lam) <- pe$rhs[pe$op == "=~"]
a_lav <- 1.702 * lam / sqrt(1 - lam^2)
b_lav <- list()
for (it in items) {
  tau <- pe$est[pe$op == "|" & pe$lhs == it]     # thresholds t1..t5
  b_lav[[it]] <- tau / lam[it]
}
out$lavaan <- list(lambda = unname(lam), a = unname(a_lav), b = b_lav)

# (2) closed forms at fixed parameters: a = a_lav, b = b_lav
grid <- seq(-6, 6, length.out = 41)
wq <- dnorm(grid); wq <- wq / sum(wq)
catprob <- function(a, b, theta) {          # matrix Q x K of P(X = k | theta), k = 0..K-1
  ps <- cbind(1, sapply(b, function(bk) plogis(a * (theta - bk))), 0)
  ps[, -ncol(ps)] - ps[, -1]
}
x <- as.matrix(d) - 1                       # categories 0..5
# put one answer of the first 50 rows to NA on a rotating item, to test missing answers
xm <- x
for (i in 1:50) xm[i, (i %% 5) + 1] <- NA
L <- matrix(0, nrow(xm), length(grid))
for (j in seq_along(items)) {
  P <- catprob(a_lav[j], b_lav[[j]], grid)
  ok <- !is.na(xm[, j])
  L[ok, ] <- L[ok, ] + t(log(P[, xm[ok, j] + 1, drop = FALSE]))
}
lik <- exp(L) %*% wq
post <- exp(L) * matrix(wq, nrow(L), length(grid), byrow = TRUE) / as.vector(lik)
eap <- as.vector(post %*% grid)
psd <- sqrt(as.vector(post %*% grid^2) - eap^2)
out$fixed <- list(
  na_rows = 1:50, na_item = (1:50 %% 5) + 1,   # 1-based item index set to NA in row i
  loglik = sum(log(lik)),                      # sum_n log sum_q w_q prod_j P_j(x_nj | theta_q)
  eap_first20 = eap[1:20], psd_first20 = psd[1:20]
)
# item information I_j(theta) = sum_k P'_jk(theta)^2 / P_jk(theta) on theta = -3, -1.5, 0, 1.5, 3
tg <- c(-3, -1.5, 0, 1.5, 3)
info <- list()
for (j in seq_along(items)) {
  ps <- cbind(1, sapply(b_lav[[j]], function(bk) plogis(a_lav[j] * (tg - bk))), 0)
  dps <- a_lav[j] * ps * (1 - ps)
  P <- ps[, -ncol(ps)] - ps[, -1]
  dP <- dps[, -ncol(dps)] - dps[, -1]
  info[[items[j]]] <- rowSums(dP^2 / P)
}
out$information <- list(theta = tg, item = info)

write_json(out, "tests/reference/irt.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
