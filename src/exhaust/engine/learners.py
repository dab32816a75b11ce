"""The per-learner base every report starts from: active enrolments joined with user profiles."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import ibis
import ibis.expr.types as ir

from exhaust.engine.backend import Backend
from exhaust.engine.inputs import BatchData


def _blank_to_null(value: ir.StringValue) -> ir.StringValue:
    return value.strip().nullif("")


@dataclass
class Learners:
    """Ibis tables of one batch loaded into a backend."""

    backend: Backend
    data: BatchData
    profile: ir.Table  # the profile fields by `u_userid`, one row per enrolled user

    @cached_property
    def base(self) -> ir.Table:
        """One row per active enrolment with profile fields (left join: missing users keep a row)."""
        return self.with_profile(self.data.enrolments)

    def with_profile(self, table: ir.Table) -> ir.Table:
        """`table` (one row per learner, from `data.enrolments`) with the profile fields."""
        return table.left_join(self.profile, table.userid == self.profile.u_userid).drop("u_userid")

    def constants(self) -> dict[str, ir.Value]:
        """Columns equal on every row: the collection and the batch."""
        hierarchy, batch = self.data.hierarchy, self.data.batch
        return {
            "collection_id": ibis.literal(self.data.course_id, "string"),
            "collection_name": ibis.literal(hierarchy.name, "string"),
            "batch_id": ibis.literal(self.data.batch_id, "string"),
            "batch_name": ibis.literal(batch.get("name"), "string"),
        }


def learners(backend: Backend, data: BatchData) -> Learners:
    """Load enrolments and users and join them: profile columns are null for unknown users."""
    users = data.users
    first = users.firstname.strip().fill_null("")
    last = users.lastname.strip().fill_null("")
    profile = users.select(
        u_userid=users.userid,
        user_name=_blank_to_null((first + " " + last).strip()),
        firstname=users.firstname,
        lastname=users.lastname,
        state=users.state,
        district=users.district,
        block=users.block,
        cluster=users.cluster,
        school_name=users.schoolname,
        school_id=users.schooludisecode,
        org_name=users.orgname,
        root_org_id=users.rootorgid,
        external_id=users.externalid,
        email=users.email,
        phone=users.phone,
        board=users.board,
        user_type=users.usertype,
        user_sub_type=users.usersubtype,
        declared_org=users.declaredorg,
    )
    return Learners(backend, data, profile)
