"""Accounts: signing in and out, one's own password, the accounts page and the audit log.

Pages ``/ingresar``, ``/cuenta``, ``/admin/usuarios``, ``/admin/auditoria``;
commands ``revincula user add|list|disable|enable``.

``users.py`` holds the account rules (roles, passwords, lockout), ``login.py``
the Flask-Login wiring, ``audit_log.py`` the reading and export of the audit
log, ``service.py`` what the pages ask for.
"""
