"""The limits the gateway puts on CEL texts, which the library does not bound itself.

Without comprehension macros (refused at load) the cost of an evaluation is linear in the
length of the text, so capping the text caps the work.  Documented in ``docs/expressions.md``.
"""

from __future__ import annotations

from typing import Final

MAX_EXPRESSION_LENGTH: Final = 4_096
"""Characters in one expression (or in one ``{{ ... }}`` of a template)."""

MAX_TEMPLATE_LENGTH: Final = 65_536
"""Characters in one template."""

MAX_TEXT_LENGTH: Final = 65_536
"""Characters of text a template renders."""

MAX_RENDER_DEPTH: Final = 64
"""Nesting of dicts and lists that ``render_value`` walks."""

PARSE_CACHE_SIZE: Final = 2_048
"""Compiled expressions and templates kept, by source text."""
