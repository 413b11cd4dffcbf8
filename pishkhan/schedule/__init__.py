"""Working hours: when the office is open, closes and opens next.

:mod:`~pishkhan.schedule.hours` is the small :class:`Hours` interface the
queue, kiosk and display ask, read today from the configuration's weekly hours.
"""
