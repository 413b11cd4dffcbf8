"""The office queue: numbered tickets per lane, called to counters.

:mod:`~pishkhan.queue.core` holds the rules (numbering, states, calling order,
cut-off) over the store; :mod:`~pishkhan.queue.estimate` replays the queue
forward for the wait estimate (plain data, no store);
:mod:`~pishkhan.queue.issuing` commits a ticket and then prints it;
:mod:`~pishkhan.queue.kpi` gives a day's figures; :mod:`~pishkhan.queue.strings`
holds the queue's Persian text.
"""
