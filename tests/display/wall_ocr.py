"""Persian OCR of wall screenshots (a uniquely named helper: several test folders have a conftest)."""

from __future__ import annotations


def ocr(image, *, psm: int = 6) -> str:
    """Persian OCR of a PIL image (Tesseract ``fas``), digits made Latin."""
    import pytesseract

    from pishkhan.text.persian import to_latin_digits

    return to_latin_digits(pytesseract.image_to_string(image, lang="fas", config=f"--psm {psm}"))
