"""Cases: the list, one case's page and its pin, the map's case layer, importing lists.

Pages ``/casos``, ``/importar``; command ``revincula import``.
``importing.py`` holds the import itself (used by the pages, the CLI and the
demo), ``uploads.py`` the web import's steps, ``context.py`` what both need
from the territory, ``counts.py`` the counts a mesa may see, ``service.py``
what the case pages ask for.
"""
