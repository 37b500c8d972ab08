"""Benchmarks of django-jira-connect against DESIGN §5's targets.

``python -m bench`` (or ``scripts/bench``) runs them all on a throw-away PostgreSQL database and
rewrites ``docs/benchmarks.md``; ``python -m bench overhead|race|refresh|ratelimit`` runs one, and
``--quick`` makes a fast smoke run that leaves the document alone. Figures are ratios against a
baseline measured in the same run, never absolute times, because those depend on the machine.
"""
