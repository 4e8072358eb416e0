"""Reports: the territorial diagnosis (page, tables as CSV/XLSX, PDF), team activity, GPX.

Pages ``/informes``, ``/informes/actividad``; commands ``revincula report``.
"""
