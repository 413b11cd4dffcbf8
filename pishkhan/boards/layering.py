"""Layer national, province and office boards into the effective board.

- The national board is the base.
- A province board may add categories and services and set the fees and
  titles of national services; it is an official issuer too.
- An office board may add its own services, hide services the office does
  not offer, and add notices. It can never change an official amount or
  title: such a change is ignored and listed in ``conflicts``.

Every value of the effective board records which layer it came from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from pishkhan.boards.document import Board, Service

OFFICIAL_FIELDS = ("title", "government_fee", "office_fee")
LEVEL_FA = {"national": "ملی", "province": "استانی", "office": "دفتر"}


@dataclass(frozen=True)
class Layer:
    """One installed board that takes part in the effective board."""

    board: Board
    verification_code: str
    key_fingerprint: str = ""

    @property
    def label(self) -> str:
        return f"{self.board.scope.key} v{self.board.version}"


@dataclass
class EffectiveService:
    code: str
    title: str
    government_fee: int
    office_fee: int
    category: str
    title_en: str = ""
    documents: tuple[str, ...] = ()
    notes: str = ""
    #: field name -> label of the layer it came from, e.g. "national v12".
    sources: dict[str, str] = field(default_factory=dict)
    #: Reason given by staff when the service is marked unavailable, else None.
    unavailable: str | None = None

    @property
    def total_fee(self) -> int:
        return self.government_fee + self.office_fee

    @property
    def official(self) -> bool:
        return not self.sources.get("title", "").startswith("office:")


@dataclass
class EffectiveCategory:
    code: str
    title: str
    services: list[EffectiveService]
    title_en: str = ""
    source: str = ""


@dataclass
class EffectiveBoard:
    """The board customers see: layered, with where each value came from."""

    categories: list[EffectiveCategory]
    layers: list[Layer]
    notices: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def services(self):
        for category in self.categories:
            yield from category.services

    def service(self, code: str) -> EffectiveService | None:
        return next((s for s in self.services() if s.code == code), None)

    def category(self, code: str) -> EffectiveCategory | None:
        return next((c for c in self.categories if c.code == code), None)

    @property
    def base(self) -> Layer:
        return self.layers[0]

    @property
    def version_label(self) -> str:
        """E.g. ``12`` or ``12+3+1`` for national+province+office versions."""
        return "+".join(str(layer.board.version) for layer in self.layers)

    @property
    def effective_from(self) -> dt.date:
        return max(layer.board.effective_from for layer in self.layers)

    @property
    def issuer(self) -> str:
        return self.base.board.issuer

    @property
    def complaints(self):
        """The complaint channel of the most specific layer that names one (province over national), or None."""
        named = [l.board.complaints for l in self.layers if l.board.complaints]
        return named[-1] if named else None

    @property
    def verification_code(self) -> str:
        """The single layer's code, or a code derived from every layer's (:func:`layered_code`)."""
        return layered_code([l.verification_code for l in self.layers])

    def with_unavailable(self, reasons: dict[str, str]) -> "EffectiveBoard":
        """Mark services unavailable (staff's overlay); returns self."""
        for service in self.services():
            service.unavailable = reasons.get(service.code)
        return self

    def to_json(self) -> dict:
        return {
            "version": self.version_label,
            "effective_from": self.effective_from.isoformat(),
            "issuer": self.issuer,
            "verification_code": self.verification_code,
            "layers": [{"scope": l.board.scope.key, "version": l.board.version, "issuer": l.board.issuer,
                        "effective_from": l.board.effective_from.isoformat(),
                        "verification_code": l.verification_code} for l in self.layers],
            "notices": self.notices, "hidden": self.hidden, "conflicts": self.conflicts,
            **({"complaints": self.complaints.to_json()} if self.complaints else {}),
            "categories": [{"code": c.code, "title": c.title, "source": c.source, "services": [
                {"code": s.code, "title": s.title, "title_en": s.title_en, "government_fee": s.government_fee,
                 "office_fee": s.office_fee, "total_fee": s.total_fee, "documents": list(s.documents),
                 "notes": s.notes, "sources": s.sources, "unavailable": s.unavailable}
                for s in c.services]} for c in self.categories],
        }


def layered_code(codes: list[str]) -> str:
    """The verification code of a board made of layers with these *codes* (national first, then
    province, then office): the one code itself, or a hash of them all (``XXXX-XXXX``)."""
    if len(codes) == 1:
        return codes[0]
    import base64
    digest = hashlib.sha256("|".join(codes).encode()).digest()
    text = base64.b32encode(digest).decode()[:8]
    return f"{text[:4]}-{text[4:]}"


def _from_service(s: Service, category: str, label: str) -> EffectiveService:
    return EffectiveService(s.code, s.title, s.government_fee, s.office_fee, category, s.title_en,
                            s.documents, s.notes, {f: label for f in
                                                   ("title", "government_fee", "office_fee", "title_en",
                                                    "documents", "notes")})


def layer_boards(layers: list[Layer]) -> EffectiveBoard:
    """Combine *layers* (national first, then province, then office)."""
    if not layers:
        raise ValueError("at least one board is needed")
    layers = sorted(layers, key=lambda l: ("national", "province", "office").index(l.board.scope.level))
    categories: dict[str, EffectiveCategory] = {}
    index: dict[str, EffectiveService] = {}
    notices: list[str] = []
    hidden: list[str] = []
    conflicts: list[str] = []
    for layer in layers:
        board, label = layer.board, layer.label
        office = board.scope.level == "office"
        notices.extend(board.notices)
        for cat in board.categories:
            target = categories.get(cat.code)
            if target is None:
                target = categories[cat.code] = EffectiveCategory(cat.code, cat.title, [], cat.title_en, label)
            elif not office and cat.title != target.title:
                target.title, target.source = cat.title, label
            for s in cat.services:
                existing = index.get(s.code)
                if existing is None:
                    new = _from_service(s, cat.code, label)
                    index[s.code] = new
                    target.services.append(new)
                    continue
                if office:
                    changed = [f for f in OFFICIAL_FIELDS if getattr(s, f) != getattr(existing, f)]
                    if changed:
                        conflicts.append(f"{label}: service {s.code} may not change official "
                                         f"{', '.join(changed)}; the official value stays")
                    for f in ("documents", "notes"):
                        if getattr(s, f) and getattr(s, f) != getattr(existing, f):
                            conflicts.append(f"{label}: service {s.code} may not change {f}")
                    continue
                for f in ("title", "government_fee", "office_fee", "title_en", "documents", "notes"):
                    value = getattr(s, f)
                    if value != getattr(existing, f) and (value or f in ("government_fee", "office_fee")):
                        setattr(existing, f, value)
                        existing.sources[f] = label
        for code in board.hide:
            if code in index:
                hidden.append(code)
            else:
                conflicts.append(f"{label}: hide names unknown service {code}")
    result = []
    for cat in categories.values():
        cat.services = [s for s in cat.services if s.code not in hidden]
        if cat.services:
            result.append(cat)
    return EffectiveBoard(result, layers, notices, hidden, conflicts)


def preview(document: dict) -> EffectiveBoard:
    """An effective board from one board file, signed or not, for previews.

    Nothing is verified here: a signed file gets its verification code, an
    unsigned one gets ``""`` (the renderer then marks the page as a draft).
    """
    from pishkhan.boards.document import parse_board
    from pishkhan.boards.signing import ENVELOPE, verification_code

    if isinstance(document, dict) and document.get("format") == ENVELOPE:
        board = parse_board(document.get("payload"))  # first: only a valid payload gets a code
        sig = document.get("signature")
        key = sig.get("key", "") if isinstance(sig, dict) else ""
        return layer_boards([Layer(board, verification_code(document), key if isinstance(key, str) else "")])
    return layer_boards([Layer(parse_board(document), "")])
