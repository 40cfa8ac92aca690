"""HTML to PDF with WeasyPrint, fonts found through fontconfig (Noto per script).

```python
from outreach.channels.pdf import html_to_pdf
pdf_bytes = html_to_pdf("<html lang='ar' dir='rtl'>...</html>")
```
"""

from __future__ import annotations

import logging
from functools import lru_cache

from outreach.channels.environment import TEMPLATES_DIR

# WeasyPrint and fontTools log every font subsetting step at INFO/WARNING; keep it quiet.
for _name in ("weasyprint", "fontTools", "fontTools.subset"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@lru_cache(maxsize=1)
def _font_config():  # type: ignore[no-untyped-def]
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def html_to_pdf(html: str) -> bytes:
    """Render one HTML document to PDF bytes."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=str(TEMPLATES_DIR))
    return document.write_pdf(font_config=_font_config())
