# tests/bench/local.mk - make bench: measured side by side, never in make check.
