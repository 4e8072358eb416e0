"""The synthetic demo: caseload, gestores, a published week and one account per role.

Everything is labelled *sintético* and built on real geography (real schools
and towns). Commands ``revincula demo seed|users|plan|messy``; ``make demo``.
"""
