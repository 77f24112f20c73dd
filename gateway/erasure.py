"""What an erased personal value reads as, in every store and in the knowledge base: one
constant with no imports, so every store can use it without depending on the privacy
package (which depends on the enforcement point)."""

from __future__ import annotations

__all__ = ["ERASED_TEXT"]

ERASED_TEXT = "(erased)"  # plain text in Markdown and in YAML front matter alike
