"""A ticket read back from the store: every column a field, and the JSON the CLI prints."""

from __future__ import annotations

from dataclasses import fields

from queue_helpers import LANE_A

from pishkhan.queue.core import Ticket

#: The keys of ``Ticket.to_json()``, in the order the CLI has always printed them.
JSON_KEYS = ["id", "day", "lane", "number", "label", "display_label", "service_code", "service_title", "priority",
             "state", "issued_at", "arrived_at", "counter", "recalls", "people_ahead", "wait_minutes", "called_at",
             "finished_at", "print_state", "print_error"]


def test_every_column_of_tickets_is_a_field(qstore):
    columns = {r[1] for r in qstore.query("PRAGMA table_info(tickets)")}
    assert columns == {f.name for f in fields(Ticket)}


def test_the_json_keeps_its_keys_and_their_order(queue):
    ticket = queue.issue(LANE_A, priority=True)
    data = ticket.to_json()
    assert list(data) == JSON_KEYS
    assert data["display_label"] == "A۰۰۱" and data["priority"] is True and data["counter"] is None
    assert {k: v for k, v in data.items() if k != "display_label"} == {
        f.name: getattr(ticket, f.name) for f in fields(Ticket) if f.name != "origin_id"}


def test_a_transferred_ticket_reads_back_whole(queue):
    first = queue.issue(LANE_A)
    moved = queue.transfer(first.id, "B", actor="staff")
    assert moved.origin_id == first.id and moved.label == first.label and moved.arrived_at == first.arrived_at
    assert queue.ticket(first.id).state == "transferred" and queue.ticket(first.id).finished_at
    assert queue.ticket(moved.id) == moved
    assert type(moved.priority) is bool
