"""Read a collection's content hierarchy (a small JSON tree) into the facts reports need.

The tree is one per collection and small (hundreds of nodes), so walking it in Python is fine; what it
yields is turned into tiny tables the engine joins against the per-learner data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from exhaust.errors import SourceDataError

COLLECTION_MIME = "application/vnd.ekstep.content-collection"
#: Deepest nesting of a content hierarchy that reports accept (Sunbird courses use 2 to 5 levels); a
#: deeper tree is refused with a clear error instead of exhausting the stack.
MAX_DEPTH = 100


@dataclass(frozen=True)
class AssessmentRules:
    """Which hierarchy nodes count as assessments (SPEC §3.1)."""

    content_types: Sequence[str] = ("SelfAssess",)
    object_types: Sequence[str] = ("QuestionSet",)
    primary_categories: Sequence[str] = ("Practice Question Set",)

    def matches(self, node: dict) -> bool:
        if node.get("contentType") in self.content_types:
            return True
        return (
            node.get("objectType") in self.object_types
            and node.get("primaryCategory") in self.primary_categories
        )


@dataclass
class CollectionNode:
    """The root or a nested trackable collection, with what its progress needs."""

    identifier: str
    level: str  # dotted 1-based child positions from the root; "" for the root
    leaves: int  # leafNodesCount, or leaves counted from the tree
    members: set[str] | None  # leaf ids that count; None when the tree does not say (count every entry)


@dataclass
class Hierarchy:
    """What reports use from a collection's tree."""

    identifier: str
    name: str | None
    channel: str | None
    status: str | None
    user_consent: bool
    primary_category: str | None
    root: CollectionNode
    nested: list[CollectionNode] = field(default_factory=list)
    assessments: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # node id -> name, for question sets
    registration: list[str] = field(default_factory=list)  # Registration question sets (consent-only answers)


def _is_collection(node: dict) -> bool:
    mime = node.get("mimeType")
    return mime == COLLECTION_MIME if mime else bool(node.get("children"))


def _is_trackable(node: dict) -> bool:
    trackable = node.get("trackable")
    if isinstance(trackable, str):
        try:
            trackable = json.loads(trackable)
        except json.JSONDecodeError:
            return False
    return isinstance(trackable, dict) and str(trackable.get("enabled", "")).lower() == "yes"


def _children(node: dict) -> list[dict]:
    """Children in hierarchy order: by `index` when every child has one, else as listed."""
    children = [c for c in node.get("children") or [] if isinstance(c, dict)]
    if children and all(isinstance(c.get("index"), int | float) for c in children):
        return sorted(children, key=lambda c: c["index"])
    return children


def _walk(node: dict, path: tuple[int, ...] = ()) -> Iterator[tuple[dict, tuple[int, ...]]]:
    """Pre-order walk yielding (node, 1-based child positions from the root), without recursion."""
    stack = [(node, path)]
    while stack:
        current, where = stack.pop()
        if len(where) > MAX_DEPTH:
            raise SourceDataError(
                f"the content hierarchy is nested deeper than {MAX_DEPTH} levels (at node "
                f"{str(current.get('identifier', '?'))[:100]}); such a tree is not supported"
            )
        yield current, where
        children = _children(current)
        stack.extend((child, (*where, pos)) for pos, child in reversed(list(enumerate(children, start=1))))


def _leaf_ids(node: dict) -> list[str]:
    return [n["identifier"] for n, p in _walk(node) if p and not _is_collection(n) and n.get("identifier")]


def _collection(node: dict, path: tuple[int, ...]) -> CollectionNode:
    descendant_leaves = set(_leaf_ids(node))
    declared = node.get("leafNodes")
    members = set(declared) if isinstance(declared, list) and declared else (descendant_leaves or None)
    count = node.get("leafNodesCount")
    if isinstance(count, int | float) and not isinstance(count, bool):
        leaves = int(count)
    else:
        leaves = len(members) if members else 0
    return CollectionNode(node.get("identifier", ""), ".".join(map(str, path)), leaves, members)


def read_hierarchy(tree: dict, rules: AssessmentRules | None = None) -> Hierarchy:
    """Flatten a hierarchy JSON object into the root, nested trackable collections and assessments."""
    rules = rules or AssessmentRules()
    nested: list[CollectionNode] = []
    assessments: list[str] = []
    titles: dict[str, str] = {}
    registration: list[str] = []
    for node, path in _walk(tree):
        identifier = node.get("identifier")
        if not identifier:
            continue
        if path and _is_collection(node) and _is_trackable(node):
            nested.append(_collection(node, path))
        if rules.matches(node) and identifier not in assessments:
            assessments.append(identifier)
        if node.get("name") is not None:
            titles.setdefault(identifier, str(node["name"]))
        if "Registration" in (node.get("primaryCategory"), node.get("contentType")):
            registration.append(identifier)
    consent = str(tree.get("userConsent") or "").strip().lower() == "yes"
    return Hierarchy(
        identifier=tree.get("identifier", ""),
        name=tree.get("name"),
        channel=tree.get("channel"),
        status=tree.get("status"),
        user_consent=consent,
        primary_category=tree.get("primaryCategory"),
        root=_collection(tree, ()),
        nested=nested,
        assessments=assessments,
        titles=titles,
        registration=registration,
    )
