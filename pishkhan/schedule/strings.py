"""What the working hours say to people: Persian first, English for the English screens.

English texts carry no Persian words or digits (the reason of an exception is
Persian, so English screens name only its kind).
"""

from __future__ import annotations

CLOSED = "تعطیل"
CLOSED_EN = "Closed"
#: A day an exception closes, with its reason: «تعطیل (عید نوروز)».
CLOSED_BECAUSE = "تعطیل ({reason})"
#: Changed hours with their reason: «۰۷:۳۰ تا ۱۲:۰۰ (کاهش ساعت کاری به دلیل گرما)».
HOURS_BECAUSE = "{hours} ({reason})"
KIND_EN = {"holiday": "Closed (public holiday)", "closure": "Closed (announced closure)",
           "hours": "{hours} (changed hours)"}
#: Persian names of the kinds, for `pishkhan schedule show`.
KIND_FA = {"weekly": "ساعات هفتگی", "holiday": "تعطیل رسمی", "closure": "تعطیلی اعلام‌شده",
           "hours": "ساعات تغییر‌یافته"}
