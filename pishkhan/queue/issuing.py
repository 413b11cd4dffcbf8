"""Issue a ticket and print it: commit first, print second, record the result.

The ticket is committed before anything is printed, so a printer that is
out of paper, offline or unplugged never loses a ticket: the result says
what happened, the ticket's ``print_state`` records it (the kiosk can list
:meth:`~pishkhan.queue.core.Queue.unprinted` tickets after a restart), and the
printer's state goes to the state log (component ``printer``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pishkhan.render import ticket_strings as text
from pishkhan.exc import PishkhanError, PrinterError
from pishkhan.render.ticket import render_ticket


@dataclass(frozen=True)
class IssueResult:
    ticket: object  # pishkhan.queue.core.Ticket
    printed: bool
    printer_state: str
    error: str = ""


def advice_for(queue, service_code: str) -> str | None:
    """The ticket's advice line: the documents the service needs, if the board lists them."""
    try:
        board = queue.board()
        service = board.service(service_code) if board else None
    except PishkhanError:
        return None
    if service is None or not service.documents:
        return None
    return text.ADVICE.format(documents="، ".join(service.documents))


def complaints_for(queue):
    """The complaint channel the effective board names (printed on every ticket), or None."""
    try:
        board = queue.board()
    except PishkhanError:
        return None
    return getattr(board, "complaints", None) if board else None


def ticket_bytes(ticket, *, queue, config, now=None) -> bytes:
    """The ESC/POS bytes of *ticket* (render, threshold, encode)."""
    from pishkhan.hardware.printer import encode_image

    image = render_ticket(ticket, config=config, paper=config.printer.paper, now=now,
                          advice=advice_for(queue, ticket.service_code), complaints=complaints_for(queue))
    return encode_image(image)


def print_ticket(queue, printer, ticket, *, config) -> IssueResult:
    """Print an already committed *ticket* and record how it went."""
    try:
        data = ticket_bytes(ticket, queue=queue, config=config, now=queue.store.now())
        printer.print_bytes(data)
    except PrinterError as e:
        state, error = e.state, str(e)
    except PishkhanError as e:  # rendering failed: the ticket still stands
        state, error = "render_failed", str(e)
    else:
        state, error = "ok", ""
    queue.record_print(ticket.id, state=state, error=error)
    if state != "render_failed":
        queue.store.record_state("printer", state, error if state != "ok" else "")
    return IssueResult(queue.ticket(ticket.id), state == "ok", state, error)


def issue_and_print(queue, printer, service_code: str, *, priority: bool = False, config) -> IssueResult:
    """Issue a ticket for *service_code*, then print it.

    Raises what :meth:`~pishkhan.queue.core.Queue.issue` raises (nothing is issued
    then). Printer trouble does not raise: ``printed`` is False and
    ``printer_state``/``error`` say why.
    """
    ticket = queue.issue(service_code, priority=priority)
    return print_ticket(queue, printer, ticket, config=config)


def reprint(queue, printer, ticket_id: int, *, config) -> IssueResult:
    """Print an issued ticket again (e.g. after the paper was changed)."""
    return print_ticket(queue, printer, queue.ticket(ticket_id), config=config)
