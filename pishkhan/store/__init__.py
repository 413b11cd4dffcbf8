"""The local store: one SQLite file every process on the device shares.

:mod:`~pishkhan.store.database` opens it, migrates it with the numbered SQL
steps in :mod:`pishkhan.store.schema`, and keeps settings, the audit log and
the state log of timestamped facts.
"""
