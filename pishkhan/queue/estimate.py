"""The wait estimate: the queue as it stands, replayed forward.

:func:`estimate_wait` is a pure function of plain data (what
:class:`~pishkhan.queue.core.Queue` reads from the store in one snapshot).
The queue is replayed forward, with each lane's mean service time, over the
counters open now:

- each lane's mean service time *s* is an exponentially weighted mean of
  the observed ones (first call → done; weight :data:`EWMA_ALPHA` for the
  newest, outliers clipped to 4×*s*; starts at
  ``queue.default_service_minutes``; kept across days in ``lane_stats``;
  the queue learns it, see :meth:`~pishkhan.queue.core.Queue.finish`);
- a counter with a customer now is free after half its lane's *s* (on
  average half a service is left), an idle one at once;
- whenever a counter is free it takes the next ticket of the first of its
  lanes that has one, exactly as :meth:`~pishkhan.queue.core.Queue.call_next`
  does; the tickets of *other* lanes include those expected to arrive
  meanwhile, at the rate seen over the last :data:`ARRIVAL_WINDOW` minutes
  (later tickets of the new ticket's own lane queue behind it);
- the estimate is the minute at which a counter takes the new ticket
  (capped at :data:`HORIZON_MINUTES`). People ahead are the waiting tickets
  of the lane (for a priority ticket, the waiting priority ones).

``bench/eta.py`` simulates seeded days and prints the mean absolute error
(about 5 minutes for waits averaging 20-25 minutes, with little bias).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Weight of the newest observed service time in the lane's running mean.
EWMA_ALPHA = 0.2
#: Minutes of recent arrivals that give each lane's arrival rate for the estimate.
ARRIVAL_WINDOW = 60
#: An estimate is not replayed further than this many minutes.
HORIZON_MINUTES = 600


@dataclass(frozen=True)
class Estimate:
    """People ahead of a ticket taken now, and the minutes until it is called (-1: no counter open)."""

    people_ahead: int
    minutes: int


@dataclass(frozen=True)
class OpenCounter:
    """A counter open now: its number, its lanes in the order it serves them,
    and the lane of the ticket it has now (None: idle)."""

    number: int
    lanes: tuple[str, ...]
    busy_with: str | None = None


def learn(mean: float, minutes: float) -> float:
    """The lane's new mean service time after one observed service of *minutes*."""
    minutes = min(max(minutes, 0.0), 4 * mean)
    return mean + EWMA_ALPHA * (minutes - mean)


def estimate_wait(lane: str, *, waiting: Mapping[str, int], service_minutes: Mapping[str, float],
                  counters: Iterable[OpenCounter], arrivals: Mapping[str, int]) -> Estimate:
    """The :class:`Estimate` for a new ticket of *lane*.

    :param waiting: tickets waiting now in each lane (for a priority ticket,
        its own lane counts only the waiting priority tickets).
    :param service_minutes: each configured lane's mean service time; its
        keys are the lanes the replay knows.
    :param counters: the counters open now, in number order.
    :param arrivals: tickets issued in each lane over the last
        :data:`ARRIVAL_WINDOW` minutes.
    """
    counters = list(counters)
    ahead = waiting.get(lane, 0)
    if not any(lane in counter.lanes for counter in counters):
        return Estimate(ahead, -1)
    mean = service_minutes
    lanes_of = {counter.number: counter.lanes for counter in counters}
    free_at = [(mean[c.busy_with] / 2 if c.busy_with else 0.0, c.number) for c in counters]
    heapq.heapify(free_at)  # (minutes from now the counter is free, counter number)
    remaining = {code: waiting.get(code, 0) for code in mean}
    rate = {code: n / ARRIVAL_WINDOW for code, n in arrivals.items() if code != lane}  # later arrivals in
    before = remaining[lane]  # *lane* queue behind; our ticket is called when a counter takes the next after these
    while free_at:
        at, n = heapq.heappop(free_at)
        if at > HORIZON_MINUTES:
            return Estimate(ahead, int(round(at)))
        for code in lanes_of[n]:
            if code == lane and before == 0:
                return Estimate(ahead, int(round(at)))
            if remaining[code] + int(rate.get(code, 0) * at) > 0:
                remaining[code] -= 1
                if code == lane:
                    before -= 1
                heapq.heappush(free_at, (at + mean[code], n))
                break
        # a counter with nothing left to take drops out
    return Estimate(ahead, -1)  # not reached: a counter serving the lane always reaches it
