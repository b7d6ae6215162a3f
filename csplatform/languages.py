"""Which of the platform's two languages a text is written in: what a customer is answered in
(survey invitations, e-mail replies) when nothing else says."""

from __future__ import annotations

import re

ZH_HANS = "zh-hans"
EN = "en"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def language_of_text(text: str) -> str | None:
    """Simplified Chinese if the text has Chinese characters, English if it has words in Latin
    letters and no Chinese, ``None`` if it tells nothing (digits, emoji, an order number)."""
    if not text:
        return None
    if _CJK.search(text):
        return ZH_HANS
    if len(_LATIN_WORD.findall(text)) >= 2:
        return EN
    return None
