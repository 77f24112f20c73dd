"""The limits of the expression language.

Each limit is enforced with its own error message and documented in ``docs/expressions.md``.
Text and nesting limits are checked while parsing (``ExpressionSyntaxError``); value limits
are checked on every value the language builds (``ExpressionEvaluationError``).  Values read
from the scope are passed through unchanged.
"""

from __future__ import annotations

from typing import Final

MAX_EXPRESSION_LENGTH: Final = 4_096
"""Characters in one expression (or in one ``{{ ... }}`` of a template)."""

MAX_TEMPLATE_LENGTH: Final = 65_536
"""Characters in one template."""

MAX_NESTING_DEPTH: Final = 32
"""Levels opened by parentheses, lists, calls, subscripts and unary ``not``/``-``."""

MAX_STRING_LENGTH: Final = 65_536
"""Characters in a string the language builds, including rendered templates."""

MAX_LIST_ITEMS: Final = 10_000
"""Items in a list the language builds."""

MAX_INT: Final = 2**63 - 1
MIN_INT: Final = -(2**63)
"""Integer results must fit in a signed 64-bit integer."""

MAX_PATTERN_LENGTH: Final = 256
"""Characters in the pattern of ``matches()``."""

MAX_MATCH_TEXT_LENGTH: Final = 10_000
"""Characters of text ``matches()`` searches."""

MAX_ROUND_DIGITS: Final = 15
"""Largest number of digits (either sign) ``round()`` accepts."""

MAX_COMPARE_STEPS: Final = 100_000
"""Values visited by one equality test of nested lists and dicts."""

MAX_RENDER_DEPTH: Final = 64
"""Nesting of dicts and lists that ``render_value`` walks."""

PARSE_CACHE_SIZE: Final = 2_048
"""Parsed expressions and templates kept, by source text."""
