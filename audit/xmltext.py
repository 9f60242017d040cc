"""Text written into XML (graph labels drawn into SVG, a discovered BPMN model's names).

XML 1.0 cannot hold NUL, the other C0 control characters but tab and line breaks, lone
surrogates, U+FFFE or U+FFFF. Input text can (a CSV cell with a control character in an
activity, a person or an evidence value): lxml refuses to write it, and Graphviz copies it
into an SVG that then does not parse. Such characters are written as U+FFFD, visibly
replaced; the findings (JSON, CSV, XLSX) keep the text as read.
"""

from __future__ import annotations

import re

NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """`text` with each character XML 1.0 cannot hold replaced by U+FFFD."""
    return NOT_XML.sub("\ufffd", text)
