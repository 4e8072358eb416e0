"""Territory: the map and its layers, journeys, counts by comuna, travel networks.

Pages ``/``, ``/resumen``, ``/api/capas/...``, ``/api/viaje``; commands
``revincula territory|network|route|matrix``.
"""
