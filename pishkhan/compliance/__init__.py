"""Working-hours compliance, judged from stored facts only.

:mod:`~pishkhan.compliance.uptime` records heartbeats (when the device was
up, and clock jumps); :mod:`~pishkhan.compliance.timeline` places every fact
in trusted time and gives each minute of the announced hours its state
(serving, degraded, closed, unknown); :mod:`~pishkhan.compliance.judge` turns
those minutes into events and the daily report.
"""
