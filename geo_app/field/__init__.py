"""Field: the gestor's week on a phone (``/terreno``, «Mi día»), also with no connection.

Stops, boats, the last boat back, the map and the printable day sheet; the
visit records the phone queues and sends to ``POST /api/visitas``
(`geo_app.field.visits`); the web app manifest and the service worker
(``/sw.js``, rendered from ``templates/field/sw.js``) with the phone's code in
``static/js/field-app.js``.

The service worker is hand-written (about 150 lines) rather than Workbox: what
it must do is specific to us — keep only responses the server marks as the
gestor's own day (``X-Revincula-Dia``), key them by day whatever the query,
expire them after ``FIELD_OFFLINE_DAYS`` counted from when they were kept,
treat a page without our marker (a captive portal) as no connection, and never
touch the IndexedDB queue — while Workbox would bring a loader and a dozen
modules to vendor for the three strategies we use (cache-first, network-first
with a timeout, stale-while-revalidate) and its expiration plugin would still
not know about our per-response expiry or the logout.
"""
