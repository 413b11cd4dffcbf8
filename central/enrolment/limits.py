"""Failed enrolment and renewal attempts, limited per client address.

The rule is the dashboard's (:mod:`pishkhan.lockout`, as :mod:`central.doors`
applies it): 5 refusals in a row from one address lock it for a minute,
each further lock-out doubling up to 15 minutes; a success or 30 quiet
minutes start the count again. The counts live in the fleet database's
``door_locks`` table under the key ``enrol:ADDRESS`` (an IPv6 address's
/64: one customer holds that many), so every server
process sharing the database shares them.

An attempt is counted as a refusal *before* it is tried (one transaction),
so a burst cannot slip in before the first refusal is counted; a success
takes back its own count (only its own: see :meth:`AttemptLimit.succeeded`).
"""

from __future__ import annotations

import ipaddress

from central.doors import _read, _write
from pishkhan.lockout import Count, Lockout

MAX_ADDRESS = 64


class AttemptLimit:
    """Counts of refused attempts per address in *db*; *clock* returns the aware time now."""

    def __init__(self, db, *, clock, rule: Lockout | None = None):
        self.db = db
        self.clock = clock
        self.rule = rule or Lockout()

    @staticmethod
    def _key(address: str) -> str:
        """``enrol:ADDRESS``; an IPv6 address counts as its /64 (one customer's network), an IPv4-mapped one
        as its IPv4 address."""
        text = str(address or "unknown")[:MAX_ADDRESS]
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return f"enrol:{text}"
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip.version == 6:
            return f"enrol:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
        return f"enrol:{ip}"

    def begin(self, address: str) -> float:
        """Count an attempt from *address* as refused; the seconds it stays locked (0: go ahead)."""
        key, now = self._key(address), self.clock()

        def work(c):
            count = _read(c, key, lock=self.db.dialect != "?")
            locked = self.rule.locked_for(count, now)
            if locked > 0:
                return locked
            _write(c, key, self.rule.wrong(count, now))
            return 0.0

        return self.db.write(work)

    def succeeded(self, address: str):
        """The attempt from *address* succeeded: that one attempt is taken back, the others stay.

        Not a reset: an idempotent repeat of an enrolment, or a renewal, would
        otherwise let whoever holds one enrolled device clear its count between
        guesses of claim codes."""
        key = self._key(address)

        def work(c):
            count = _read(c, key, lock=self.db.dialect != "?")
            _write(c, key, Count(max(0, count.failures - 1), count.lockouts, count.locked_until, count.last_wrong))

        self.db.write(work)
