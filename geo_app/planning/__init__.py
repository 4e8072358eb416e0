"""Planning: the weekly plan of home visits (job, map, moves, re-plans, publishing).

Pages ``/planificacion``; commands ``revincula plan|replan|vrptw``.

``plans.py`` holds the plan's life (used by the pages, the CLI and the demo),
``gestores.py`` the team and its overnight stays, ``output.py`` the plan in
readable forms, ``service.py`` what the pages ask for.
"""
