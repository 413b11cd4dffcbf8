"""Tariff boards: the signed document of services and official fees.

:mod:`~pishkhan.boards.document` is the board's schema and typed model;
:mod:`~pishkhan.boards.signing` the Ed25519 envelope and verification code;
:mod:`~pishkhan.boards.trust` the issuer keys this device trusts and for which
scope; :mod:`~pishkhan.boards.layering` folds national, province and office
boards into the effective board; :mod:`~pishkhan.boards.installed` is the one
install path (CLI, USB, centre) and the history kept in the store;
:mod:`~pishkhan.boards.notices` the notices staff post beside the board;
:mod:`~pishkhan.boards.jsonlimits` the strict JSON loader (size, depth,
duplicate keys) for every document from outside.
"""
