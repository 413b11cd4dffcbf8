"""Working hours: when the office is open, closes and opens next.

:mod:`~pishkhan.schedule.document` is the schema and typed model of the
signed schedule (``pishkhan.schedule/1``) and holiday list
(``pishkhan.holidays/1``); :mod:`~pishkhan.schedule.installed` the one
install path (CLI, USB, centre) and the history kept in the store;
:mod:`~pishkhan.schedule.calendar` decides each day from the documents in
effect; :mod:`~pishkhan.schedule.defaults` is the built-in Iranian holiday
calendar; :mod:`~pishkhan.schedule.hours` is the small :class:`Hours`
interface the queue, kiosk and display ask.
"""
