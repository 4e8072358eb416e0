"""Coverage for mesas: services, travel-time bands, gaps, what-if and protected tables.

Pages ``/cobertura`` and ``/cobertura/servicios``; command ``revincula coverage``.
``services.py`` stores the team's services (import, add, edit, retire),
``runs.py`` computes coverage as a background job, ``service.py`` assembles
what each role may see (small counts protected for the mesa with
`layers.privacy.protect`), ``exports.py`` the CSV and XLSX tables.
"""
