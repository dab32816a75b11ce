"""The demo courses: their content hierarchy (as Sunbird's hierarchy JSON) and their question banks.

A course is described as a small outline; building it assigns Sunbird-style ids, depth, index,
parent, `leafNodes` / `leafNodesCount` on every collection, and records what the learner-level
generator needs: the leaves in hierarchy (pre-order) order, the assessments and the nested
trackable collections with the leaves each one covers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from exhaust.demo.vocab import LEAF_KINDS, QUESTIONS
from exhaust.sources.schema import QUESTION

COLLECTION_MIME = "application/vnd.ekstep.content-collection"
CREATED_ON = "2025-11-03T09:12:44.318+0000"
UPDATED_ON = "2026-01-10T14:05:09.771+0000"

# An outline node is ("course" | "unit", name, children) for collections, or a leaf kind name.
Outline = tuple[str, str, list["Outline | str"]]

MAIN_OUTLINE: Outline = (
    "course",
    "NISHTHA FLN 2.0 – Foundational Literacy and Numeracy",
    [
        (
            "unit",
            "Module 1: Introduction to the FLN Mission",
            [
                ("course", "Course 1.1: Understanding NIPUN Bharat", ["video", "pdf", "video", "selfassess"]),
                (
                    "course",
                    "Course 1.2: Learning Outcomes and Competencies",
                    ["video", "html", "pdf", "youtube", "questionset"],
                ),
                "pdf",
            ],
        ),
        (
            "unit",
            "Module 2: Early Language and Literacy",
            ["video", "video", "ecml", "pdf", "selfassess", "video", "youtube", "questionset"],
        ),
        (
            "unit",
            "Module 3: Foundational Numeracy",
            [
                ("unit", "3.1 Number Sense", ["video", "pdf", "h5p", "selfassess"]),
                (
                    "unit",
                    "3.2 Shapes and Spatial Understanding",
                    [
                        (
                            "course",
                            "Course 3.2.1: Measurement Activities",
                            ["video", "video", "pdf", "selfassess"],
                        ),
                        "video",
                        "pdf",
                    ],
                ),
            ],
        ),
        (
            "unit",
            "Module 4: Assessment for Learning",
            ["video", "pdf", "html", "video", "selfassess", "youtube", "video", "questionset"],
        ),
        (
            "unit",
            "Module 5: School Readiness and Parental Engagement",
            ["video", "pdf", "video", "ecml", "youtube"],
        ),
    ],
)

SAFETY_OUTLINE: Outline = (
    "course",
    "Cyber Safety and Security for Teachers",
    [
        ("unit", "Safe Use of Devices", ["video", "pdf", "video"]),
        ("unit", "Protecting Children Online", ["video", "html", "selfassess"]),
    ],
)

ORIENTATION_OUTLINE: Outline = (
    "course",
    "Orientation: Teaching with DIKSHA",
    ["video", "pdf", "video", "youtube"],
)

TOPICS = (
    "Why foundational learning matters", "The three developmental goals", "Play-based pedagogy",
    "Reading aloud in class", "Print-rich environments", "Letter-sound knowledge", "Story time",
    "Oral language", "Emergent writing", "Counting with objects", "Place value with bundles",
    "Patterns around us", "Measurement with hand spans", "Shapes in the classroom", "Data handling",
    "Classroom observation", "Portfolios", "Feedback that helps", "Remedial teaching", "Vidya Pravesh",
    "Working with parents", "Community libraries", "Inclusive classrooms", "Multilingual classrooms",
    "Lesson planning", "Toy-based learning", "Learning corners", "Peer learning", "Using TLMs",
)  # fmt: skip
KIND_LABELS = {
    "video": "Video",
    "youtube": "Watch",
    "pdf": "Reading",
    "html": "Interactive",
    "h5p": "Activity",
    "ecml": "Story",
    "selfassess": "Quiz",
    "questionset": "Practice",
}


@dataclass(frozen=True)
class Question:
    """One question of an assessment: its options, the right one and an optional half-right one."""

    identifier: str
    qtype: str
    title: str
    options: tuple[str, ...]
    answer: int
    partial: int | None
    max_score: float


@dataclass(frozen=True)
class Assessment:
    identifier: str
    name: str
    leaf: int  # column of the leaf in CoursePlan.leaves
    questions: tuple[Question, ...]


@dataclass
class CoursePlan:
    """A built course: its hierarchy JSON and the facts the learner generator needs."""

    course_id: str
    name: str
    channel: str
    hierarchy: dict[str, Any]
    leaves: list[str] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    nested: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (collection id, leaf columns)

    def hierarchy_text(self) -> str:
        return json.dumps(self.hierarchy, ensure_ascii=False, separators=(",", ":"))


class IdMaker:
    """Sunbird-style ids (`do_31…` content, `do_21…` questions), reproducible from the seed."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def content(self) -> str:
        return "do_31" + "".join(map(str, self.rng.integers(0, 10, size=20)))

    def question(self) -> str:
        return "do_21" + "".join(map(str, self.rng.integers(0, 10, size=20)))

    def code(self) -> str:
        hexes = "".join(f"{b:02x}" for b in self.rng.integers(0, 256, size=16))
        return f"{hexes[:8]}-{hexes[8:12]}-4{hexes[13:16]}-a{hexes[17:20]}-{hexes[20:32]}"


def build_course(outline: Outline, channel: str, ids: IdMaker, consent: bool) -> CoursePlan:
    """Build a course from its outline."""
    plan = CoursePlan(course_id="", name=outline[1], channel=channel, hierarchy={})
    topics = iter(TOPICS * 4)
    questions = iter(range(10_000))

    def leaf(kind: str, parent: str, depth: int, index: int) -> dict[str, Any]:
        mime, content_type, category = LEAF_KINDS[kind]
        identifier = ids.content()
        name = f"{KIND_LABELS[kind]}: {next(topics)}"
        node: dict[str, Any] = {
            "identifier": identifier,
            "name": name,
            "channel": channel,
            "status": "Live",
            "mimeType": mime,
            "primaryCategory": category,
            "objectType": "QuestionSet" if kind == "questionset" else "Content",
            "parent": parent,
            "depth": depth,
            "index": index,
            "visibility": "Parent" if kind == "questionset" else "Default",
            "code": ids.code(),
            "createdOn": CREATED_ON,
            "lastUpdatedOn": UPDATED_ON,
            "pkgVersion": 1,
        }
        if content_type:
            node["contentType"] = content_type
        if kind in ("video", "youtube"):
            node["duration"] = str(180 + (len(plan.leaves) * 97) % 900)
        column = len(plan.leaves)
        plan.leaves.append(identifier)
        if kind in ("selfassess", "questionset"):
            bank = _question_bank(ids, next(questions), len(plan.assessments), kind)
            node["maxScore"] = sum(q.max_score for q in bank)
            if kind == "questionset":
                node["totalQuestions"] = len(bank)
            plan.assessments.append(Assessment(identifier, name, column, bank))
        return node

    def collection(item: Outline, parent: str | None, depth: int, index: int) -> dict[str, Any]:
        kind, name, children = item
        identifier = ids.content()
        first_leaf = len(plan.leaves)
        node: dict[str, Any] = {
            "identifier": identifier,
            "name": name,
            "channel": channel,
            "status": "Live",
            "mimeType": COLLECTION_MIME,
            "contentType": "Course" if kind == "course" else "CourseUnit",
            "primaryCategory": "Course" if kind == "course" else "Course Unit",
            "objectType": "Collection",
            "depth": depth,
            "code": ids.code(),
            "createdOn": CREATED_ON,
            "lastUpdatedOn": UPDATED_ON,
        }
        if parent is None:
            node["visibility"] = "Default"
        else:
            node.update(parent=parent, index=index, visibility="Parent")
        if kind == "course":
            node["trackable"] = {"enabled": "Yes", "autoBatch": "No"}
            node["userConsent"] = "Yes" if consent else "No"
        kids = []
        for position, child in enumerate(children, start=1):
            if isinstance(child, str):
                kids.append(leaf(child, identifier, depth + 1, position))
            else:
                kids.append(collection(child, identifier, depth + 1, position))
        covered = plan.leaves[first_leaf:]
        node["leafNodes"] = list(covered)
        node["leafNodesCount"] = len(covered)
        node["children"] = kids
        if kind == "course" and parent is not None:
            plan.nested.append((identifier, np.arange(first_leaf, len(plan.leaves))))
        return node

    plan.hierarchy = collection(outline, None, 0, 1)
    plan.course_id = plan.hierarchy["identifier"]
    return plan


def _question_bank(ids: IdMaker, salt: int, number: int, kind: str) -> tuple[Question, ...]:
    """3 to 5 questions, the last one a match-the-following with half marks for a half-right answer."""
    count = 3 + (number * 2 + salt) % 3
    bank = []
    for k in range(count):
        title, options = QUESTIONS[(number * 5 + k) % len(QUESTIONS)]
        answer = (number + k) % 4
        rotated = options[-answer:] + options[:-answer] if answer else options  # the right one moves
        is_match = k == count - 1 and kind == "selfassess"
        bank.append(
            Question(
                identifier=ids.question(),
                qtype="mtf" if is_match else "mcq",
                title=title,
                options=rotated,
                answer=answer,
                partial=(answer + 1) % 4 if is_match else None,
                max_score=2.0 if k == 0 else 1.0,
            )
        )
    return tuple(bank)


@dataclass(frozen=True)
class QuestionTemplate:
    """Every possible stored response of a course's assessments, to be picked per attempt.

    `rows` has one QUESTION per (question, chosen option), OPTIONS rows per question, questions of
    one assessment together: row = question * OPTIONS + option. `first[a]` and `count[a]` locate
    assessment a's questions; `answer` and `partial` (-1: none) are per question.
    """

    rows: pa.StructArray
    first: np.ndarray
    count: np.ndarray
    answer: np.ndarray
    partial: np.ndarray
    score: np.ndarray
    max_score: np.ndarray


OPTIONS = 4


def question_template(plan: CoursePlan) -> QuestionTemplate:
    """The stored forms of every response: `params` / `resvalues` as lists of single-key JSON maps."""
    rows: dict[str, list] = {f.name: [] for f in QUESTION}
    first: list = []
    count: list = []
    answer: list = []
    partial: list = []
    for assessment in plan.assessments:
        first.append(len(answer))
        count.append(len(assessment.questions))
        for question in assessment.questions:
            answer.append(question.answer)
            partial.append(-1 if question.partial is None else question.partial)
            params = [[(str(i + 1), _option_json(text))] for i, text in enumerate(question.options)]
            params.append(
                [("answer", json.dumps({"correct": [str(question.answer + 1)]}, separators=(",", ":")))]
            )
            for chosen, text in enumerate(question.options):
                score = question.max_score if chosen == question.answer else 0.0
                if chosen == question.partial:
                    score = question.max_score / 2
                rows["id"].append(question.identifier)
                rows["assess_ts"].append(None)
                rows["max_score"].append(question.max_score)
                rows["score"].append(score)
                rows["type"].append(question.qtype)
                rows["title"].append(question.title)
                rows["resvalues"].append([[(str(chosen + 1), _option_json(text))]])
                rows["params"].append(params)
                rows["description"].append(assessment.name)
                rows["duration"].append(None)
    template = pa.StructArray.from_arrays(
        [pa.array(rows[f.name], type=f.type) for f in QUESTION], fields=list(QUESTION)
    )
    return QuestionTemplate(
        rows=template,
        first=np.array(first, dtype=np.int64),
        count=np.array(count, dtype=np.int64),
        answer=np.array(answer, dtype=np.int64),
        partial=np.array(partial, dtype=np.int64),
        score=np.array(rows["score"], dtype=np.float64),
        max_score=np.array(rows["max_score"], dtype=np.float64),
    )


def _option_json(text: str) -> str:
    return json.dumps({"text": text + "\n"}, ensure_ascii=False, separators=(",", ":"))
