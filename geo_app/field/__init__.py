"""Field: the gestor's day on a phone (``/terreno``, «Mi día»).

Stops, boats, the last boat back, the map and the printable day sheet.
"""
