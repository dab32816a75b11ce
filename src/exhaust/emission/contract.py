"""The emission API's part of the OpenAPI contract: cQube's own request and response shapes.

cQube's clients parse these answers as cQube's Flask views gave them (research §3.2), so they are not
Sunbird's envelope: a presigned form, a bucket map, a boto3-like listing, a map of links, a bare URL, the
file itself, and errors as Kong's `{"message": …}`. Parameters come as JSON or form fields (cQube's
reqparse took either), so each body is declared for both media types. The app's own layers answer a body
over the size limit (413) and an unexpected backing-service fault (503) with Sunbird's envelope, and the
document says so. `api/contract.py` moves the schemas into the document's components and names the security scheme
(`emissionJwt`: Kong-style HS256 JWT bearer tokens from `exhaust emission token create`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

#: The security requirement of every emission operation (the scheme itself is in `api/contract.py`).
SECURITY: list[dict[str, list[str]]] = [{"emissionJwt": []}]
#: A client path `<data_source_dir>/<file>` or a bare file name (router.emission_key checks the same).
ClientPath = Annotated[
    str,
    Field(
        max_length=200,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)?$",
        examples=["school_master/school_mst.zip"],
    ),
]
#: An object key of an area (outputs/storage.validate_key checks the same).
ObjectKey = Annotated[
    str,
    Field(
        max_length=500,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:=+@,-]*(/[A-Za-z0-9_][A-Za-z0-9_.:=+@,-]*)*$",
        examples=["school_master/school_mst_20200604131259_0a1b2c3d.zip"],
    ),
]
Bucket = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="A bucket name from list_s3_buckets, or input / output / emission.",
        examples=["emission"],
    ),
]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")  # the server ignores other fields, as cQube did


class UploadUrlParams(_Params):
    filename: ClientPath = Field(description="`<data_source_dir>/<file>` (or a bare DIKSHA file name).")


class BucketParams(_Params):
    bucket: Bucket


class FileParams(_Params):
    bucket: Bucket
    filename: ObjectKey


class FilesParams(_Params):
    bucket: Bucket
    filename: ObjectKey | Annotated[list[ObjectKey], Field(min_length=1, max_length=50)] = Field(
        description="One key, or several (a repeated form field)."
    )


class Message(BaseModel):
    """Kong's and cQube's error shape."""

    message: str = Field(description="One plain sentence.")


class UploadForm(BaseModel):
    """A presigned POST: send `fields` and the file (as `file`) to `url` as multipart/form-data."""

    url: str
    fields: dict[str, str]


class Buckets(BaseModel):
    input: str
    output: str
    emission: str


class ListedObject(BaseModel):
    Key: str
    Size: int
    LastModified: str


class Listing(BaseModel):
    """Like boto3's `list_objects` (at most 1000 keys)."""

    Name: str
    Prefix: str
    MaxKeys: int
    IsTruncated: bool
    Contents: list[ListedObject]


class LogSummaryRow(BaseModel):
    """One emitted file's ingestion counts and status (cQube's `log_summary` row)."""

    model_config = ConfigDict(extra="allow")
    ff_uuid: str
    filename: str
    data_source: str | None
    emission_key: str | None
    input_key: str | None
    total_records: int
    blank_lines: int
    duplicate_records: int
    datatype_mismatch: int
    records_with_null_value: dict[str, Any]
    count_of_null_rows: int
    processed_records: int
    status: str = Field(description="OK or KO.")
    reason: str | None
    error_file: str | None
    error_file_url: str | SkipJsonSchema[None] = Field(None, description="A link to the error file.")
    process_start_time: str | None
    process_end_time: str | None


class LogSummary(BaseModel):
    files: list[LogSummaryRow]


ERRORS = {
    400: "The parameters are not usable (one plain sentence), or they name a bucket or a data source "
    "that does not exist.",
    401: "No valid emission token (Authorization: Bearer <jwt>).",
    403: "This endpoint needs an admin consumer.",
    404: "No such file in this bucket.",
    413: "The body is larger than EXHAUST_API_MAX_BODY_BYTES (Sunbird's error envelope).",
    503: "The cQube database or an area cannot be reached right now.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries of these statuses: `{"message": …}`, but the app layers' envelope for 413
    and, besides `{"message": …}`, for 503 (with Retry-After)."""
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    message = {"$ref": "#/components/schemas/Message"}
    declared: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        schema: dict[str, Any] = message
        if code == 413:
            schema = envelope
        elif code == 503:
            schema = {"anyOf": [message, envelope]}
        declared[code] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": schema}},
        }
    return declared


def ok(model: type[BaseModel] | dict[str, Any], description: str) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry of a 200 answer: a model, or a response object given as it is."""
    if isinstance(model, dict):
        return {200: {"description": description, **model}}
    return {200: {"model": model, "description": description}}


def body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` of a body of `model`'s fields, as JSON or as form fields."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")  # moved to components
    content = {
        "application/json": {"schema": schema},
        "application/x-www-form-urlencoded": {"schema": schema},
    }
    return {"requestBody": {"required": True, "content": content}, "security": SECURITY}
