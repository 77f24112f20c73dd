"""A recursive-descent parser from tokens to the syntax tree.

Precedence, lowest first: ``x if c else y``; ``or``; ``and``; ``not``; comparisons
(``== != < <= > >= in``, ``not in``; not chained); ``+ -``; ``* / %``; unary ``-``; paths,
subscripts and calls.  Every parenthesis, list, call, subscript and unary operator opens
a nesting level; more than ``MAX_NESTING_DEPTH`` is refused while parsing, which keeps both
the parser's and the evaluator's recursion shallow.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from gateway.expressions.errors import ExpressionSyntaxError
from gateway.expressions.functions import ARITY, IMPLEMENTATIONS, arity_text
from gateway.expressions.lexer import KEYWORDS, Token, TokenKind, tokenize
from gateway.expressions.limits import MAX_NESTING_DEPTH
from gateway.expressions.nodes import (
    Arithmetic,
    Call,
    Comparison,
    Conditional,
    Default,
    Defined,
    ListLiteral,
    Literal,
    Logical,
    Matches,
    Name,
    Negate,
    Node,
    Not,
    Path,
    PathStep,
)
from gateway.expressions.patterns import compile_pattern

__all__ = ["parse"]

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_CONSTANTS = {"true": True, "false": False, "null": None}
_Rule = Callable[[], Node]


def parse(text: str, start: int = 0, in_template: bool = False) -> tuple[Node, int, int]:
    """Parse the expression at ``start``; return it, where it ends and where parsing stopped.

    Outside a template the expression runs to the end of ``text``.  Inside one it runs to
    the closing ``}}``: the second number is the offset of ``}}`` and the third the offset
    just after it.
    """
    parser = _Parser(text, tokenize(text, start, in_template), in_template)
    try:
        node = parser.expression()
    except RecursionError:  # only when called with little stack left
        raise ExpressionSyntaxError(
            "expression is nested too deeply to parse", text, start
        ) from None
    closing = parser.peek()
    expected = TokenKind.CLOSE if in_template else TokenKind.END
    if closing.kind is not expected:
        raise parser.error("expected '}}'" if in_template else "expected end of input", closing)
    return node, closing.start, closing.end


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, float) or _is_int(value)


def _step_text(key: str | int) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    if key.isidentifier() and key.isascii() and key not in KEYWORDS:
        return f".{key}"
    return f"[{json.dumps(key, ensure_ascii=False)}]"


class _Parser:
    def __init__(self, text: str, tokens: list[Token], in_template: bool) -> None:
        self.text = text
        self.tokens = tokens
        self.position = 0
        self.depth = 0
        self.in_template = in_template

    # -- tokens ---------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        """Consume the current token; only called after checking it is not the last one."""
        token = self.tokens[self.position]
        self.position += 1
        return token

    def at(self, kind: TokenKind, text: str) -> bool:
        token = self.peek()
        return token.kind is kind and token.text == text

    def at_operator(self, text: str) -> bool:
        return self.at(TokenKind.OPERATOR, text)

    def at_keyword(self, text: str) -> bool:
        return self.at(TokenKind.KEYWORD, text)

    def error(self, problem: str, token: Token, detail: str | None = None) -> ExpressionSyntaxError:
        """An error at ``token``; the detail defaults to naming the token found there."""
        if detail is None:
            detail = f", found {token.describe()}"
        return ExpressionSyntaxError(problem, self.text, token.start, detail)

    def expect(self, kind: TokenKind, text: str) -> Token:
        if not self.at(kind, text):
            raise self.error(f"expected '{text}'", self.peek())
        return self.advance()

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING_DEPTH:
            raise self.error(
                f"expression is nested more than {MAX_NESTING_DEPTH} levels deep",
                token,
                detail="",
            )

    def leave(self) -> None:
        self.depth -= 1

    # -- grammar --------------------------------------------------------------------

    def expression(self) -> Node:
        value = self.disjunction()
        if not self.at_keyword("if"):
            return value
        branches: list[tuple[Node, Node]] = []
        while self.at_keyword("if"):
            self.advance()
            condition = self.disjunction()
            self.expect(TokenKind.KEYWORD, "else")
            branches.append((value, condition))
            value = self.disjunction()
        return Conditional(tuple(branches), value)

    def disjunction(self) -> Node:
        return self.logical("or", self.conjunction)

    def conjunction(self) -> Node:
        return self.logical("and", self.negation)

    def logical(self, keyword: str, operand: _Rule) -> Node:
        operands = [operand()]
        while self.at_keyword(keyword):
            self.advance()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else Logical(keyword, tuple(operands))

    def negation(self) -> Node:
        if not self.at_keyword("not"):
            return self.comparison()
        self.enter(self.advance())
        operand = self.negation()
        self.leave()
        return Not(operand)

    def comparison_operator(self) -> str | None:
        token = self.peek()
        if token.kind is TokenKind.OPERATOR and token.text in _COMPARISONS:
            self.advance()
            return token.text
        if self.at_keyword("in"):
            self.advance()
            return "in"
        if self.at_keyword("not"):
            following = self.tokens[self.position + 1]
            if following.kind is TokenKind.KEYWORD and following.text == "in":
                self.position += 2
                return "not in"
        return None

    def comparison(self) -> Node:
        left = self.additive()
        symbol = self.comparison_operator()
        if symbol is None:
            return left
        right = self.additive()
        chained = self.peek()
        if self.comparison_operator() is not None:
            raise ExpressionSyntaxError(
                "comparisons cannot be chained", self.text, chained.start, ": join them with 'and'"
            )
        return Comparison(symbol, left, right)

    def additive(self) -> Node:
        return self.arithmetic(("+", "-"), self.multiplicative)

    def multiplicative(self) -> Node:
        return self.arithmetic(("*", "/", "%"), self.unary)

    def arithmetic(self, symbols: tuple[str, ...], operand: _Rule) -> Node:
        first = operand()
        rest: list[tuple[str, Node]] = []
        while self.peek().kind is TokenKind.OPERATOR and self.peek().text in symbols:
            symbol = self.advance().text
            rest.append((symbol, operand()))
        return Arithmetic(first, tuple(rest)) if rest else first

    def unary(self) -> Node:
        if not self.at_operator("-"):
            return self.postfix()
        self.enter(self.advance())
        operand = self.unary()
        self.leave()
        if isinstance(operand, Literal) and _is_number(operand.value):
            return Literal(-operand.value)
        return Negate(operand)

    def postfix(self) -> Node:
        start = self.peek().start
        base = self.primary()
        base_end = self.tokens[self.position - 1].end
        steps: list[PathStep] = []
        while True:
            if self.at_operator("."):
                self.advance()
                token = self.peek()
                if token.kind not in (TokenKind.NAME, TokenKind.KEYWORD):
                    raise self.error("expected a name after '.'", token)
                self.advance()
                steps.append(PathStep(token.text, None, _step_text(token.text)))
            elif self.at_operator("["):
                steps.append(self.subscript())
            elif self.at_operator("("):
                raise self.error(
                    "unexpected '('",
                    self.peek(),
                    ": only built-in functions can be called, by name",
                )
            else:
                break
        if not steps:
            return base
        return Path(base, self.text[start:base_end], tuple(steps))

    def subscript(self) -> PathStep:
        self.enter(self.advance())
        index_start = self.peek().start
        index = self.expression()
        index_end = self.tokens[self.position - 1].end
        self.expect(TokenKind.OPERATOR, "]")
        self.leave()
        if isinstance(index, Literal) and (isinstance(index.value, str) or _is_int(index.value)):
            return PathStep(index.value, None, _step_text(index.value))
        return PathStep(None, index, f"[{self.text[index_start:index_end]}]")

    def primary(self) -> Node:
        token = self.peek()
        if token.kind in (TokenKind.NUMBER, TokenKind.STRING):
            self.advance()
            return Literal(token.value)
        if token.kind is TokenKind.KEYWORD and token.text in _CONSTANTS:
            self.advance()
            return Literal(_CONSTANTS[token.text])
        if self.at_operator("("):
            self.enter(self.advance())
            node = self.expression()
            self.expect(TokenKind.OPERATOR, ")")
            self.leave()
            return node
        if self.at_operator("["):
            self.enter(self.advance())
            items = self.sequence("]")
            self.leave()
            return ListLiteral(tuple(node for _, node in items))
        if token.kind is TokenKind.NAME:
            self.advance()
            if self.at_operator("("):
                return self.call(token)
            return Name(token.text)
        raise self.error("expected an expression", token)

    def sequence(self, closing: str) -> list[tuple[Token, Node]]:
        """Comma-separated expressions up to ``closing`` (a trailing comma is allowed).

        Each expression comes with its first token, for error positions.
        """
        items: list[tuple[Token, Node]] = []
        while not self.at_operator(closing):
            items.append((self.peek(), self.expression()))
            if not self.at_operator(","):
                break
            self.advance()
        self.expect(TokenKind.OPERATOR, closing)
        return items

    def call(self, name: Token) -> Node:
        if name.text not in ARITY:
            raise self.error(f"unknown function '{name.text}'", name, detail="")
        self.enter(self.advance())
        items = self.sequence(")")
        self.leave()
        arguments = [node for _, node in items]
        least, most = ARITY[name.text]
        if len(arguments) < least or (most is not None and len(arguments) > most):
            raise self.error(
                f"{name.text}() takes {arity_text(name.text)}", name, f", found {len(arguments)}"
            )
        if name.text == "default":
            return Default(arguments[0], arguments[1])
        if name.text == "defined":
            if not isinstance(arguments[0], Name | Path):
                raise self.error(
                    "defined() takes a name or path", items[0][0], ", such as ticket.assignee"
                )
            return Defined(arguments[0])
        if name.text == "matches":
            return self.matches(items)
        return Call(name.text, tuple(arguments), IMPLEMENTATIONS[name.text])

    def matches(self, items: list[tuple[Token, Node]]) -> Node:
        (_, text), (pattern_token, pattern) = items
        if not (isinstance(pattern, Literal) and isinstance(pattern.value, str)):
            raise self.error("matches() takes its pattern as a quoted string", pattern_token, "")
        try:
            compiled = compile_pattern(pattern.value)
        except ValueError as problem:
            raise self.error(str(problem), pattern_token, "") from None
        return Matches(text, compiled)
