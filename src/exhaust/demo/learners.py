"""Learner-level rows for one chunk of learners: users, enrolments, activity, attempts and consents.

Everything is drawn as numpy arrays over the chunk (one row per learner, or a learner × leaf
matrix of content status) and turned into Arrow columns; the only Python loops run over batches,
assessments and nested collections, never over learners. Every derived table agrees with the
status matrix: `progress` counts its completed leaves, `completedCount` too, and a learner has
attempts only on assessments they started.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from exhaust.demo import arrays as A
from exhaust.demo.course import OPTIONS, CoursePlan, QuestionTemplate
from exhaust.demo.geography import Schools, Tenants
from exhaust.demo.vocab import (
    ADMIN_SUBTYPES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    NATIONAL_BOARDS,
    NATIVE_FIRST_NAMES,
    NATIVE_LAST_NAMES,
    STATES,
    USER_TYPE_WEIGHTS,
    USER_TYPES,
)
from exhaust.pii import encrypt_array
from exhaust.sources.schema import QUESTION, TABLES, TEXT_MAP

DAY = 86_400_000
HOUR = 3_600_000
AS_OF = 1_793_471_400_000  # 2026-10-31 18:30:00 UTC: the moment the demo snapshot was taken
MISSING_EVERY = 1000  # learner i is missing from `users` when i % MISSING_EVERY == MISSING_AT
MISSING_AT = 7
DIRTY_EVERY = 701  # learners 3 and 5 of every 701 get a name starting with `=` / `-`
_PER_ATTEMPT = ("assess_ts", "duration")  # question fields drawn per attempt, not from the template


@dataclass(frozen=True)
class BatchPlan:
    """A course batch and how its learners behave."""

    batch_id: str
    name: str
    course: CoursePlan
    template: QuestionTemplate
    start_ms: int
    end_ms: int | None
    share: float  # fraction of all learners enrolled (1.0 for the main batch)
    status: int
    enrollment_type: str
    created_for: tuple[str, ...]
    mentors: tuple[str, ...]
    consent: bool  # the collection asks for consent (userConsent Yes)


@dataclass(frozen=True)
class World:
    """The static part of the demo: who the tenants are, where the schools are, which batches exist."""

    tenants: Tenants
    schools: Schools
    batches: tuple[BatchPlan, ...]
    main_state: int  # index into STATES of the main course's tenant
    salt: str


LEARNER_TABLES = ("users", "user_enrolments", "user_activity_agg", "assessment_aggregator", "user_consent")


def chunk_tables(world: World, rng: np.random.Generator, first: int, count: int) -> dict[str, list[pa.Table]]:
    """All learner-level rows for learners first .. first + count - 1 (global numbering).

    Rows of each batch are a separate table, so each becomes its own Parquet row group whose
    statistics let a reader skip the other batches.
    """
    user_ids = A.uuids(rng, count)
    index = np.arange(first, first + count)
    out: dict[str, list[pa.Table]] = {name: [] for name in LEARNER_TABLES}
    missing = index % MISSING_EVERY == MISSING_AT
    out["users"].append(user_table(world, rng, user_ids.filter(pa.array(~missing)), index[~missing]))
    for batch in world.batches:
        chosen = np.arange(count) if batch.share >= 1 else np.flatnonzero(rng.random(count) < batch.share)
        for name, table in _batch_tables(world, batch, rng, user_ids.take(pa.array(chosen))).items():
            out[name].append(table)
    return out


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    schema = TABLES[name].schema
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


# --- users -------------------------------------------------------------------------------------


def user_table(
    world: World,
    rng: np.random.Generator,
    user_ids: pa.Array,
    index: np.ndarray | None = None,
    admins: bool = False,
) -> pa.Table:
    """Profiles as the Redis user cache holds them: location, school, names, encrypted email and phone.

    `index` numbers the learners globally; it places the rarest dirty values so every data set of a
    few thousand learners has some.
    """
    n = len(user_ids)
    index = np.full(n, -1) if index is None else index
    schools, tenants = world.schools, world.tenants
    states = len(STATES)
    # Tenant: mostly the main course's state, some self-signed-in (custodian) users, some other states.
    weights = np.full(states + 1, 0.16 / (states - 1))
    weights[world.main_state] = 0.70
    weights[states] = 0.14
    tenant = np.full(n, world.main_state) if admins else rng.choice(states + 1, size=n, p=weights)
    custodian = tenant == states
    state = np.where(custodian, rng.integers(0, states, n), tenant)
    start, stop = schools.state_start[state], schools.state_start[state + 1]
    school = start + (rng.random(n) * (stop - start)).astype(np.int64)
    take = pa.array(school)
    no_school = custodian & (rng.random(n) < 0.25)
    no_block = no_school & (rng.random(n) < 0.4)
    no_cluster = no_block | (rng.random(n) < 0.02)

    first_i = rng.integers(0, len(FIRST_NAMES), n)
    last_i = rng.integers(0, len(LAST_NAMES), n)
    native = rng.random(n) < 0.03
    firstname = pc.if_else(
        pa.array(native),
        A.pick(NATIVE_FIRST_NAMES, first_i % len(NATIVE_FIRST_NAMES)),
        A.pick(FIRST_NAMES, first_i),
    )
    lastname = pc.if_else(
        pa.array(native),
        A.pick(NATIVE_LAST_NAMES, last_i % len(NATIVE_LAST_NAMES)),
        A.pick(LAST_NAMES, last_i),
    )
    # Dirty values: a leading `=` or `-` (spreadsheet formula injection), blank and missing last names.
    dirt = rng.random(n)
    equals = (dirt < 0.001) | (index % DIRTY_EVERY == 3)
    dash = ((dirt >= 0.001) & (dirt < 0.002)) | (index % DIRTY_EVERY == 5)
    firstname = pc.if_else(pa.array(equals), A.join("=", firstname), firstname)
    lastname = pc.if_else(pa.array(dash), A.join("-", lastname), lastname)
    lastname = pc.if_else(pa.array((dirt >= 0.01) & (dirt < 0.05)), "", lastname)
    lastname = A.where_null(lastname, (dirt >= 0.05) & (dirt < 0.07))

    handle_first = A.pick([f.lower() for f in FIRST_NAMES], first_i)
    handle_last = A.pick([s.lower().replace("'", "") for s in LAST_NAMES], last_i)
    email = A.join(
        handle_first,
        ".",
        handle_last,
        A.digits(rng, n, 2),
        "@",
        A.pick(EMAIL_DOMAINS, rng.integers(0, len(EMAIL_DOMAINS), n)),
    )
    email = A.where_null(email, rng.random(n) < 0.15)
    phone = A.where_null(A.digits(rng, n, 10, first="6789"), rng.random(n) < 0.2)

    state_codes = A.pick([s[2] for s in STATES], state)
    external = A.where_null(A.join(state_codes, A.digits(rng, n, 8)), custodian | (rng.random(n) < 0.1))
    declared_external = A.where_null(A.join("TCH", A.digits(rng, n, 7)), ~custodian | (rng.random(n) < 0.75))
    externalid = pc.if_else(pa.array(custodian), declared_external, external)

    board_roll = rng.random(n)
    board = pc.if_else(
        pa.array(board_roll < 0.65),
        A.pick([s[4] for s in STATES], state),
        A.pick(NATIONAL_BOARDS, (board_roll * 100).astype(np.int64) % 2),
    )
    as_array = rng.random(n)
    board = pc.if_else(pa.array(as_array < 0.15), A.join('["', board, '"]'), board)
    board = A.where_null(board, as_array > 0.92)

    if admins:
        usertype = A.constant("administrator", n)
    else:
        usertype = A.pick(USER_TYPES, rng.choice(len(USER_TYPES), size=n, p=USER_TYPE_WEIGHTS))
    is_admin = pc.match_substring(usertype, "administrator").to_numpy(zero_copy_only=False)
    usersubtype = A.where_null(A.pick(ADMIN_SUBTYPES, rng.integers(0, len(ADMIN_SUBTYPES), n)), ~is_admin)

    school_name = A.where_null(schools.name.take(take), no_school)
    declaredorg = A.where_null(school_name, ~custodian | (rng.random(n) < 0.6))
    columns = {
        "userid": user_ids,
        "firstname": firstname,
        "lastname": lastname,
        "state": schools.state.take(take),
        "district": schools.district.take(take),
        "block": A.where_null(schools.block.take(take), no_block),
        "cluster": A.where_null(schools.cluster.take(take), no_cluster),
        "schoolname": school_name,
        "schooludisecode": A.where_null(schools.udise.take(take), no_school),
        "orgname": A.pick(tenants.names, tenant),
        "rootorgid": A.pick(tenants.ids, tenant),
        "externalid": externalid,
        "email": encrypt_array(email, world.salt),
        "phone": encrypt_array(phone, world.salt),
        "board": board,
        "usertype": usertype,
        "usersubtype": usersubtype,
        "declaredorg": declaredorg,
        "usersignintype": pc.if_else(pa.array(custodian), "Self-Signed-In", "Validated"),
    }
    return _table("users", columns)


# --- one batch -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Progress:
    """A learner × leaf status matrix (-1: no entry) and what follows from it."""

    status: np.ndarray  # (n, leaves) int8, the learner's real state
    stage: np.ndarray  # 0 not started, 1 in progress, 2 completed
    enrolled: np.ndarray  # ms
    completed: np.ndarray  # ms, meaningful where stage == 2
    legacy: np.ndarray  # contentstatus not stored (the user_activity_agg fallback applies)


def _batch_tables(
    world: World, batch: BatchPlan, rng: np.random.Generator, users: pa.Array
) -> dict[str, pa.Table]:
    n = len(users)
    progress = _progress(batch, rng, n)
    return {
        "user_enrolments": _enrolments(batch, rng, users, progress),
        "user_activity_agg": _activity(batch, users, progress),
        "assessment_aggregator": _attempts(batch, rng, users, progress),
        "user_consent": _consents(world, batch, rng, users, progress),
    }


def _progress(batch: BatchPlan, rng: np.random.Generator, n: int) -> _Progress:
    leaves = len(batch.course.leaves)
    roll = rng.random(n)
    stage = np.where(roll < 0.15, 0, np.where(roll < 0.50, 2, 1))
    reach = rng.integers(1, max(leaves, 2), n)  # in progress: leaves reached, never all of them
    column = np.arange(leaves)[None, :]
    luck = rng.random((n, leaves))
    status = np.full((n, leaves), -1, dtype=np.int8)
    partial = (stage == 1)[:, None]
    reached = column < reach[:, None]
    visited = np.where(luck < 0.90, 2, np.where(luck < 0.97, 1, 0)).astype(np.int8)
    status = np.where(partial & reached, visited, status)
    status = np.where(partial & (column == reach[:, None]) & (luck < 0.5), np.int8(1), status)
    status[stage == 2] = 2

    last_start = (batch.end_ms or AS_OF) - 5 * DAY
    window = max(min(last_start, AS_OF - 5 * DAY) - batch.start_ms, DAY)
    enrolled = batch.start_ms + (rng.random(n) * min(window, 200 * DAY)).astype(np.int64)
    completed = np.minimum(enrolled + 2 * HOUR + (rng.random(n) * 60 * DAY).astype(np.int64), AS_OF - HOUR)
    legacy = (stage > 0) & (rng.random(n) < 0.05)
    return _Progress(status, stage, enrolled, completed, legacy)


def _enrolments(batch: BatchPlan, rng: np.random.Generator, users: pa.Array, p: _Progress) -> pa.Table:
    n = len(users)
    done = (p.status == 2).sum(axis=1)
    stored = (p.status >= 0) & ~(p.legacy | (p.stage == 0))[:, None]
    rows, cols = np.nonzero(stored)
    leaf_ids = pa.array(batch.course.leaves, type=pa.string())
    contentstatus = A.map_rows(
        stored.sum(axis=1),
        leaf_ids.take(pa.array(cols)),
        pa.array(p.status[rows, cols].astype(np.int32)),
        pa.map_(pa.string(), pa.int32()),
        null=p.legacy | (p.stage == 0),
    )
    # Enrolment date: mostly the timestamp column, some both, some only Sunbird's legacy text.
    which = rng.random(n)
    complete = p.stage == 2
    no_completion_date = complete & (rng.random(n) < 0.015)
    certificate_roll = rng.random(n)
    issued = complete & (certificate_roll < 0.88)
    legacy_cert = complete & (certificate_roll >= 0.88) & (certificate_roll < 0.93)
    failed = complete & (certificate_roll >= 0.93)
    columns = {
        "userid": users,
        "courseid": A.constant(batch.course.course_id, n),
        "batchid": A.constant(batch.batch_id, n),
        "active": pa.array(rng.random(n) >= 0.01),
        "enrolled_date": A.timestamps(p.enrolled, null=which >= 0.90),
        "enrolleddate": A.where_null(A.legacy_dates(p.enrolled), which < 0.85),
        "completedon": A.timestamps(p.completed, null=~complete | no_completion_date),
        "status": pa.array(p.stage.astype(np.int32)),
        "progress": pa.array(done.astype(np.int32)),
        "contentstatus": contentstatus,
        "certificates": _certificates(rng, p.completed, legacy_cert, legacy=True),
        "issued_certificates": _certificates(rng, p.completed, issued, legacy=False),
        "certstatus": A.where_null(pa.array(np.full(n, 3, dtype=np.int32)), ~failed),
    }
    return _table("user_enrolments", columns)


def _certificates(rng: np.random.Generator, completed: np.ndarray, has: np.ndarray, legacy: bool) -> pa.Array:
    """One certificate map per learner where `has` (null elsewhere), as Sunbird's lists of text maps."""
    who = np.flatnonzero(has)
    k = len(who)
    issued_on = A.iso_dates(completed[who] + 6 * HOUR)
    ident = A.uuids(rng, k)
    if legacy:
        keys: tuple[str, ...] = ("id", "lastIssuedOn", "name", "token", "url")
        url = A.join("https://diksha.example/certs/", ident, ".pdf")
        values = [ident, issued_on, A.constant("100PercentCompletionCertificate", k), A.tokens(rng, k), url]
    else:
        keys = ("identifier", "lastIssuedOn", "name", "templateUrl", "token", "type")
        template = "https://diksha.example/content/certificate-template.svg"
        values = [
            ident,
            issued_on,
            A.constant("Course completion certificate", k),
            A.constant(template, k),
            A.tokens(rng, k),
            A.constant("TrainingCertificate", k),
        ]
    maps = A.map_rows(
        np.full(k, len(keys)), pa.array(list(keys) * k, type=pa.string()), A.interleave(values), TEXT_MAP
    )
    counts = has.astype(np.int64)
    return A.list_rows(counts, maps, pa.list_(TEXT_MAP), null=~has)


def _activity(batch: BatchPlan, users: pa.Array, p: _Progress) -> pa.Table:
    """`completedCount` per learner for the course and each nested trackable collection."""
    started = np.flatnonzero(p.stage > 0)
    done = p.status == 2
    parts_user, parts_activity, counts = [users.take(pa.array(started))], [], [done[started].sum(axis=1)]
    parts_activity.append(A.constant(batch.course.course_id, len(started)))
    for collection, columns in batch.course.nested:
        count = done[:, columns].sum(axis=1)
        who = np.flatnonzero(count > 0)
        parts_user.append(users.take(pa.array(who)))
        parts_activity.append(A.constant(collection, len(who)))
        counts.append(count[who])
    user_ids = pa.concat_arrays(parts_user)
    completed = np.concatenate(counts).astype(np.float64)
    rows = len(user_ids)
    table_columns = {
        "activity_type": A.constant("Course", rows),
        "activity_id": pa.concat_arrays(parts_activity),
        "user_id": user_ids,
        "context_id": A.constant(f"cb:{batch.batch_id}", rows),
        "aggregates": A.map_rows(
            np.ones(rows, dtype=np.int64),
            A.constant("completedCount", rows),
            pa.array(completed),
            pa.map_(pa.string(), pa.float64()),
        ),
    }
    return _table("user_activity_agg", table_columns)


def _attempts(batch: BatchPlan, rng: np.random.Generator, users: pa.Array, p: _Progress) -> pa.Table:
    """Attempts with 3-5 stored question responses each: ~2 per learner and assessment on average.

    Only started assessments have attempts: ~3.4 on a completed one (retries for a better score),
    ~1.6 on one in progress.
    """
    t = batch.template
    assessments = batch.course.assessments
    if not assessments or not len(users):
        return TABLES["assessment_aggregator"].schema.empty_table()
    state = p.status[:, [a.leaf for a in assessments]]  # (n, A)
    retries = rng.poisson(np.where(state == 2, 2.4, 0.6), state.shape)
    tries = np.where(
        state == 2, 1 + np.minimum(retries, 7), np.where(state == 1, 1 + np.minimum(retries, 3), 0)
    )
    learner, which = np.nonzero(tries)
    per_pair = tries[learner, which]
    learner = np.repeat(learner, per_pair)
    which = np.repeat(which, per_pair)
    attempts = len(learner)
    pair_start = np.repeat(A.offsets_of(per_pair)[:-1].astype(np.int64), per_pair)
    attempt_no = np.arange(attempts) - pair_start
    total_tries = np.repeat(per_pair, per_pair)

    end = np.where(p.stage == 2, p.completed, AS_OF - HOUR)[learner]
    start = p.enrolled[learner]
    when = start + ((end - start) * (attempt_no + rng.random(attempts)) / total_tries).astype(np.int64)

    # Questions: each attempt answers every question of its assessment once.
    per_attempt = t.count[which]
    owner = np.repeat(np.arange(attempts), per_attempt)
    position = np.arange(len(owner)) - np.repeat(A.offsets_of(per_attempt)[:-1].astype(np.int64), per_attempt)
    question = t.first[which][owner] + position
    skill = rng.beta(4, 2, len(users))
    right = rng.random(len(owner)) < np.minimum(skill[learner][owner] + 0.08 * attempt_no[owner], 0.97)
    answer, partial = t.answer[question], t.partial[question]
    half = ~right & (partial >= 0) & (rng.random(len(owner)) < 0.4)
    wrong = (answer + 1 + rng.integers(0, OPTIONS - 1, len(owner))) % OPTIONS
    chosen = np.where(right, answer, np.where(half, partial, wrong))
    row = question * OPTIONS + chosen
    picked = pa.array(row)
    pace = 20_000 + rng.integers(0, 70_000, attempts)  # ms between two answers of one attempt
    answered = when[owner] - (per_attempt[owner] - 1 - position) * pace[owner]
    fields = {f.name: t.rows.field(f.name).take(picked) for f in QUESTION if f.name not in _PER_ATTEMPT}
    fields["assess_ts"] = A.timestamps(answered)
    fields["duration"] = pa.array(rng.integers(5, 120, len(owner)).astype(np.float64))
    questions = pa.StructArray.from_arrays([fields[f.name] for f in QUESTION], fields=list(QUESTION))

    score = np.bincount(owner, weights=t.score[row], minlength=attempts)
    max_score = np.bincount(owner, weights=t.max_score[row], minlength=attempts)
    ids = pa.array([a.identifier for a in assessments], type=pa.string())
    columns = {
        "course_id": A.constant(batch.course.course_id, attempts),
        "batch_id": A.constant(batch.batch_id, attempts),
        "user_id": users.take(pa.array(learner)),
        "content_id": ids.take(pa.array(which)),
        "attempt_id": A.hex_ids(rng, attempts),
        "last_attempted_on": A.timestamps(when),
        "total_score": pa.array(score),
        "total_max_score": pa.array(max_score),
        "grand_total": A.scala_fractions(score, max_score),
        "question": A.list_rows(per_attempt, questions, pa.list_(QUESTION)),
    }
    return _table("assessment_aggregator", columns)


def _consents(world: World, batch: BatchPlan, rng, users: pa.Array, p: _Progress) -> pa.Table:
    """~70% of learners answer the consent prompt (some later revoke); a few consent to the custodian."""
    if not batch.consent:
        return TABLES["user_consent"].schema.empty_table()
    n = len(users)
    gave = np.flatnonzero(rng.random(n) < 0.70)
    extra = np.flatnonzero(rng.random(n) < 0.03)
    who = np.concatenate([gave, extra])
    k = len(who)
    consumer = np.concatenate([np.zeros(len(gave), np.int64), np.ones(len(extra), np.int64)])
    revoked = (rng.random(k) < 0.12) & (consumer == 0)
    created = np.minimum(p.enrolled[who] + (rng.random(k) * 3 * DAY).astype(np.int64), AS_OF - HOUR)
    updated = np.where(
        revoked, np.minimum(created + (rng.random(k) * 60 * DAY).astype(np.int64), AS_OF), created
    )
    columns = {
        "user_id": users.take(pa.array(who)),
        "consumer_id": A.pick([batch.course.channel, world.tenants.custodian], consumer),
        "object_id": A.constant(batch.course.course_id, k),
        "object_type": A.constant("Collection", k),
        "status": pc.if_else(pa.array(revoked), "REVOKED", "ACTIVE"),
        "created_on": A.timestamps(created),
        "last_updated_on": A.timestamps(updated),
    }
    return _table("user_consent", columns)
