"""The centre's enrolment: claim codes (claims.py), the enrolment and renewal rules (service.py), the
per-address limit on failed attempts (limits.py) and the HTTPS server that speaks them (server.py)."""
