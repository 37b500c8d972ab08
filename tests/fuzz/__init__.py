"""Property-based fuzz tests (Hypothesis) of everything a user or Jira can send.

Profiles (``conftest.py``): ``ci``, the default, is derandomised and runs about
150 examples per test; ``HYPOTHESIS_PROFILE=long`` runs thousands, with fresh
randomness on every run. Inputs that hit a known, reported bug are skipped by
the fuzzers (see ``known_bugs.py``) and kept as strict ``xfail`` regressions,
so fixing the bug makes the suite say so.
"""
