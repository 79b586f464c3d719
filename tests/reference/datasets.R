# Exports the public datasets the reference tests use, so that CI (without R) reads them.
# Run from the repository root: Rscript tests/reference/datasets.R
# psychTools 2.x (Debian 12), lavaan 0.6-14.
library(psychTools)
library(lavaan)
dir.create("tests/reference/data", showWarnings = FALSE)
data(bfi, package = "psychTools")
write.csv(bfi, "tests/reference/data/bfi.csv", row.names = FALSE, na = "")
data(HolzingerSwineford1939, package = "lavaan")
write.csv(HolzingerSwineford1939, "tests/reference/data/HolzingerSwineford1939.csv", row.names = FALSE, na = "")
