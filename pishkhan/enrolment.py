"""The enrolment protocol between a device and the centre: paths, bounds, and why a request is refused.

A device enrols with ``POST /v1/enroll`` and renews its certificate with
``POST /v1/renew`` (JSON both ways; docs/enrolment.md). Every refusal is a
4xx answer ``{"reason", "message_fa", "message_en"}`` with ``reason`` one of
:data:`REASONS`; the device branches on ``reason`` alone. The texts here are
the one Persian/English wording of each, shown by the centre's answers and
by the device's ``pishkhan provision enroll``.
"""

from __future__ import annotations

ENROLL_PATH = "/v1/enroll"
RENEW_PATH = "/v1/renew"
#: A device renews its certificate when fewer days than this remain (the centre's central.ca says the same).
RENEW_WHEN_LEFT_DAYS = 30
#: The largest request body either side accepts (a CSR is under 1 KiB; an answer carries a schedule).
MAX_REQUEST_BYTES = 32 * 1024
MAX_ANSWER_BYTES = 4 * 1024 * 1024

#: reason -> (HTTP status, Persian, English)
REFUSALS = {
    "claim_invalid": (403, "کد ثبت درست نیست: کدی با این نویسه‌ها صادر نشده یا یک نویسه اشتباه خوانده شده است.",
                      "the claim code is not valid: no such code was issued, or a character is mistyped"),
    "claim_expired": (403, "مهلت کد ثبت گذشته است؛ از کارگروه استان کد تازه بخواهید.",
                      "the claim code has expired; ask the provincial working group for a new one"),
    "claim_used": (409, "این کد ثبت پیش‌تر برای دستگاه دیگری به کار رفته است؛ کد تازه بخواهید.",
                   "the claim code was already used by another device; ask for a new one"),
    "rate_limited": (429, "تلاش‌های نادرست زیاد بوده است؛ چند دقیقه بعد دوباره بکوشید.",
                     "too many failed attempts from this address; try again in a few minutes"),
    "key_reused": (409, "کلید این دستگاه پیش‌تر برای دستگاه دیگری ثبت شده است (کارت حافظهٔ کپی‌شده؟)؛ کارت را از نو بنویسید.",
                   "this device's key is already enrolled for another device (a copied SD card?); flash the card "
                   "afresh"),
    "bad_request": (400, "درخواست درست نیست.", "the request is malformed"),
    "too_large": (413, "درخواست بیش از اندازه بزرگ است.", "the request is too large"),
    "bad_csr": (400, "درخواست گواهی (CSR) پذیرفته نشد.", "the certificate signing request was refused"),
    "not_registered": (409, "این دفتر یا دستگاه در فهرست مرکز نیست یا به دفتر دیگری تعلق دارد.",
                       "the office or device does not match the centre's registry"),
    "not_ours": (403, "این گواهی را مرکز صادر نکرده است.", "the certificate was not issued by this centre"),
    "revoked": (403, "گواهی این دستگاه باطل شده است؛ دستگاه باید دوباره ثبت شود.",
                "this device's certificate is revoked; the device must be enrolled again"),
    "expired": (403, "گواهی این دستگاه منقضی شده است؛ دستگاه باید دوباره ثبت شود.",
                "this device's certificate has expired; the device must be enrolled again"),
    "bad_signature": (403, "امضای درخواست تمدید با کلید کنونی دستگاه نمی‌خواند.",
                      "the renewal request is not signed by the device's current key"),
    "not_due": (409, "گواهی این دستگاه هنوز به تمدید نیاز ندارد.",
                "this device's certificate is not yet due for renewal"),
    "server_error": (500, "خطای داخلی مرکز؛ بعداً دوباره بکوشید.", "the centre failed; try again later"),
}
REASONS = tuple(REFUSALS)


def refusal(reason: str) -> dict:
    """The body of a refusal for *reason*."""
    _status, fa, en = REFUSALS[reason]
    return {"reason": reason, "message_fa": fa, "message_en": en}


def status(reason: str) -> int:
    return REFUSALS[reason][0]
