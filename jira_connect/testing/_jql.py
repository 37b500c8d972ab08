"""A small JQL engine: enough of the language for the searches a connected site makes.

Supported: `field op value` clauses joined by AND, OR, NOT and parentheses; operators `=`, `!=`,
`~`, `!~`, `IN (...)`, `NOT IN (...)`, `IS [NOT] EMPTY`; the function `currentUser()`; and
`ORDER BY field [ASC|DESC], ...`. Fields: project, key (issuekey, id), assignee, reporter, status,
priority, issuetype (type), labels, summary, description, text. Anything else is answered with
Jira's 400 error shape rather than silently matching nothing, so a test notices.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jira_connect.testing._data import ISSUE_TYPES, PRIORITIES, STATUSES, DataSet, Issue

Predicate = Callable[[Issue], bool]


class JqlError(ValueError):
    """A query Jira would reject; the message is what Jira puts in `errorMessages`."""


@dataclass(frozen=True)
class JqlContext:
    """What a query is evaluated against: the data, who asks, and how to find users."""

    data: DataSet
    current_user_key: str | None
    resolve_user: Callable[[str], str | None]
    visible_projects: frozenset[str]


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|!~|<=|>=|=|~|<|>)
      | (?P<punct>[(),])
      | (?P<word>[^\s()",'=!~<>]+)
    )""",
    re.VERBOSE,
)

_USER_FIELDS = {"assignee", "reporter"}
_TEXT_FIELDS = {"summary", "description", "text"}
_FIELD_ALIASES = {"issuekey": "key", "id": "key", "type": "issuetype"}
_KNOWN_FIELDS = {"project", "key", "status", "priority", "issuetype", "labels"}
_KNOWN_FIELDS |= _USER_FIELDS | _TEXT_FIELDS


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "op", "punct", "word"
    text: str

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


def _tokenize(jql: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(jql):
        if not jql[position:].strip():
            break
        match = _TOKEN.match(jql, position)
        if match is None or match.end() == position:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {position}.")
        kind = match.lastgroup or "word"
        text = match.group(kind)
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        tokens.append(_Token(kind, text))
        position = match.end()
    return tokens


@dataclass
class _Value:
    text: str | None  # None: EMPTY / NULL
    function: bool = False


class _Parser:
    def __init__(self, jql: str, context: JqlContext) -> None:
        self.tokens = _tokenize(jql)
        self.position = 0
        self.context = context

    # -- token helpers -------------------------------------------------------------------------
    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise JqlError("Error in the JQL Query: the query ended unexpectedly.")
        self.position += 1
        return token

    def expect_punct(self, text: str) -> None:
        token = self.take()
        if token.kind != "punct" or token.text != text:
            raise JqlError(f"Error in the JQL Query: expecting '{text}' but got '{token.text}'.")

    # -- grammar -------------------------------------------------------------------------------
    def parse(self) -> tuple[Predicate, list[tuple[str, bool]]]:
        predicate: Predicate = lambda issue: True  # noqa: E731
        token = self.peek()
        if token is not None and not token.is_word("ORDER"):
            predicate = self.or_expr()
        order: list[tuple[str, bool]] = []
        token = self.peek()
        if token is not None and token.is_word("ORDER"):
            self.take()
            if not self.take().is_word("BY"):
                raise JqlError("Error in the JQL Query: expecting 'BY' after 'ORDER'.")
            order = self.order_items()
        token = self.peek()
        if token is not None:
            raise JqlError(f"Error in the JQL Query: unexpected '{token.text}'.")
        return predicate, order

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (token := self.peek()) is not None and token.is_word("OR"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda issue: any(p(issue) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while (token := self.peek()) is not None and token.is_word("AND"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda issue: all(p(issue) for p in parts))

    def not_expr(self) -> Predicate:
        token = self.peek()
        if token is not None and token.is_word("NOT"):
            self.take()
            inner = self.not_expr()
            return lambda issue: not inner(issue)
        if token is not None and token.kind == "punct" and token.text == "(":
            self.take()
            inner = self.or_expr()
            self.expect_punct(")")
            return inner
        return self.clause()

    def clause(self) -> Predicate:
        field_token = self.take()
        if field_token.kind not in ("word", "string"):
            raise JqlError(
                f"Error in the JQL Query: expecting a field name, got '{field_token.text}'."
            )
        field = _FIELD_ALIASES.get(field_token.text.lower(), field_token.text.lower())
        if field not in _KNOWN_FIELDS:
            raise JqlError(
                f"Field '{field_token.text}' does not exist or you do not have permission to view it."
            )
        operator = self.operator()
        values = self.value_list() if operator in ("in", "not in") else [self.value()]
        return self.build(field, operator, values)

    def operator(self) -> str:
        token = self.take()
        if token.kind == "op":
            if token.text in ("=", "!=", "~", "!~"):
                return token.text
            raise JqlError(f"The operator '{token.text}' is not supported by this simulator.")
        if token.is_word("IN"):
            return "in"
        if token.is_word("NOT"):
            if self.take().is_word("IN"):
                return "not in"
        elif token.is_word("IS"):
            following = self.peek()
            if following is not None and following.is_word("NOT"):
                self.take()
                return "!="
            return "="
        raise JqlError(f"Error in the JQL Query: expecting an operator, got '{token.text}'.")

    def value(self) -> _Value:
        token = self.take()
        if token.kind == "string":
            return _Value(token.text)
        if token.kind != "word":
            raise JqlError(f"Error in the JQL Query: expecting a value, got '{token.text}'.")
        if token.is_word("EMPTY", "NULL"):
            return _Value(None)
        following = self.peek()
        if following is not None and following.kind == "punct" and following.text == "(":
            self.take()
            self.expect_punct(")")
            return _Value(token.text, function=True)
        return _Value(token.text)

    def value_list(self) -> list[_Value]:
        self.expect_punct("(")
        values = [self.value()]
        while (token := self.peek()) is not None and token.kind == "punct" and token.text == ",":
            self.take()
            values.append(self.value())
        self.expect_punct(")")
        return values

    def order_items(self) -> list[tuple[str, bool]]:
        items: list[tuple[str, bool]] = []
        while True:
            token = self.take()
            field = _FIELD_ALIASES.get(token.text.lower(), token.text.lower())
            if field not in _SORT_KEYS:
                raise JqlError(f"Not able to sort using field '{token.text}'.")
            descending = False
            following = self.peek()
            if following is not None and following.is_word("ASC", "DESC"):
                descending = self.take().is_word("DESC")
            items.append((field, descending))
            following = self.peek()
            if following is None or following.kind != "punct" or following.text != ",":
                return items
            self.take()

    # -- semantics -----------------------------------------------------------------------------
    def build(self, field: str, operator: str, values: list[_Value]) -> Predicate:
        if field in _TEXT_FIELDS:
            return self.text_clause(field, operator, values)
        if operator in ("~", "!~"):
            raise JqlError(f"The operator '{operator}' is not supported by the '{field}' field.")
        wanted = {self.resolve(field, value) for value in values}
        negate = operator in ("!=", "not in")

        def matches(issue: Issue) -> bool:
            actual = _field_values(issue, field)
            hit = bool(actual & wanted) if actual else None in wanted
            return hit != negate

        return matches

    def text_clause(self, field: str, operator: str, values: list[_Value]) -> Predicate:
        if operator not in ("~", "!~"):
            raise JqlError(f"The operator '{operator}' is not supported by the '{field}' field.")
        needle = (values[0].text or "").lower().strip("*")
        negate = operator == "!~"

        def matches(issue: Issue) -> bool:
            haystacks = [issue.summary, issue.description] if field == "text" else []
            haystacks = haystacks or [getattr(issue, field)]
            return any(needle in text.lower() for text in haystacks) != negate

        return matches

    def resolve(self, field: str, value: _Value) -> str | None:
        """Turn a JQL value into the form stored on issues, or raise Jira's "does not exist"."""
        if value.text is None:
            return None
        text = value.text
        missing = JqlError(f"The value '{text}' does not exist for the field '{field}'.")
        if value.function:
            if field in _USER_FIELDS and text.lower() == "currentuser":
                return self.context.current_user_key or "\0anonymous"
            raise JqlError(f"Unable to find JQL function '{text}()'.")
        if field == "project":
            project = self.context.data.project(text) or next(
                (p for p in self.context.data.projects.values() if p.name.lower() == text.lower()),
                None,
            )
            if project is None or project.key not in self.context.visible_projects:
                raise missing
            return project.key
        if field == "key":
            issue = self.context.data.issue(text)
            if issue is None or issue.project not in self.context.visible_projects:
                raise JqlError(f"An issue with key '{text}' does not exist for field 'key'.")
            return issue.key
        if field in _USER_FIELDS:
            key = self.context.resolve_user(text)
            if key is None:
                raise missing
            return key
        tables: dict[str, list[str]] = {
            "status": list(STATUSES),
            "priority": list(PRIORITIES),
            "issuetype": list(ISSUE_TYPES),
        }
        choices = tables.get(field)
        if choices is not None:
            for name in choices:
                if name.lower() == text.lower():
                    return name
            raise missing
        return text  # labels


def _field_values(issue: Issue, field: str) -> set[str | None]:
    if field == "labels":
        return set(issue.labels)
    value: str | None = getattr(issue, field)
    return {value}


def _key_order(issue: Issue) -> tuple[str, int]:
    project, _, number = issue.key.partition("-")
    return project, int(number)


_SORT_KEYS: dict[str, Callable[[Issue], Any]] = {
    "updated": lambda issue: issue.updated,
    "created": lambda issue: issue.created,
    "key": _key_order,
    "priority": lambda issue: -int(PRIORITIES[issue.priority]),  # Highest is the greatest
    "status": lambda issue: issue.status,
    "summary": lambda issue: issue.summary.lower(),
    "project": lambda issue: issue.project,
    "issuetype": lambda issue: issue.issuetype,
    "assignee": lambda issue: issue.assignee or "\uffff",
    "reporter": lambda issue: issue.reporter,
}


def search(jql: str, context: JqlContext) -> list[Issue]:
    """Return the visible issues matching `jql`, in the order it asks for (newest first if none)."""
    predicate, order = _Parser(jql or "", context).parse()
    issues = [
        issue
        for issue in context.data.issues
        if issue.project in context.visible_projects and predicate(issue)
    ]
    issues.sort(key=lambda issue: int(issue.id), reverse=True)
    for field, descending in reversed(order):
        issues.sort(key=_SORT_KEYS[field], reverse=descending)
    return issues
