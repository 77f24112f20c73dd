"""A target put into a PromQL template without changing what the query means.

A target (``printer-3f``, ``10.0.0.7:9100``, ``https://intranet.example.com``) is first
checked against the characters host names, addresses, ports and URLs use; anything else is
refused, so a target can never close a string, a matcher or a selector.  It then enters the
template only as a PromQL string literal (double-quoted, backslashes and quotes escaped):
``$target`` as the target itself, ``$instance`` as an anchored regular expression (RE2)
matching the target with or without a ``:port``, its regex characters escaped.
"""

from __future__ import annotations

import re
from string import Template

__all__ = ["check_target", "render_query", "string_literal"]

_TARGET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/\[\]-]{0,252}")
_REGEX_SPECIAL = re.compile(r"[.\[\]\\^$|?*+(){}-]")


def check_target(target: str) -> str:
    """``target`` when it is a host, address, port or URL name; else ``ValueError``."""
    if _TARGET.fullmatch(target) is None:
        raise ValueError(
            "target must be a host name, address or URL (letters, digits and . _ : @ / - [ ])"
        )
    return target


def string_literal(text: str) -> str:
    """``text`` as a double-quoted PromQL string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_query(template: str, target: str) -> str:
    """The PromQL of ``template`` (``$target``, ``$instance``) for a checked ``target``."""
    checked = check_target(target)
    pattern = _REGEX_SPECIAL.sub(lambda found: "\\" + found.group(0), checked)
    return Template(template).substitute(
        target=string_literal(checked), instance=string_literal(f"{pattern}(:[0-9]+)?")
    )
