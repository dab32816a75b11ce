"""Build the configured Source from a source spec string and the settings (SPEC §2).

`EXHAUST_SOURCE` names the table store: a folder or `files:DIR` (one file per table, or a Sunbird fixture
folder of CQL `INSERT` dumps, see `cql_folder`), `postgresql://…?schema=S`, or `cassandra://host1,host2/…`. Independently, `EXHAUST_USERS_REDIS_URL` makes users come from Sunbird's
Redis cache, `EXHAUST_OPTIONAL_NODES_REDIS_URL` supplies optional nodes, and `EXHAUST_CONTENT_API_URL`
makes hierarchies and search come from the content service.
"""

from __future__ import annotations

from pathlib import Path

from exhaust.errors import BadInput
from exhaust.extras import require
from exhaust.settings import Settings, get_settings
from exhaust.sources.assessment_archive import AssessmentArchive
from exhaust.sources.base import Source, TableStore
from exhaust.sources.cassandra import CassandraTables, parse_cassandra_spec
from exhaust.sources.content_api import ContentApi
from exhaust.sources.cql_folder import is_cql_folder, open_cql_folder
from exhaust.sources.failures import redact_url
from exhaust.sources.files import FileTables
from exhaust.sources.postgres_url import is_postgres_url, parse_postgres_spec

SPEC_HELP = "a folder, files:DIR, postgresql://…?schema=S or cassandra://host1,host2/"


def open_tables(spec: str, settings: Settings | None = None) -> TableStore:
    """The table store named by `spec` alone (no Redis or content service)."""
    spec = spec.strip()
    if not spec:
        raise BadInput(f"no source configured: set EXHAUST_SOURCE to {SPEC_HELP}")
    folder = _folder_of(spec)
    if folder is not None:
        return open_cql_folder(folder).tables if is_cql_folder(folder) else FileTables(folder)
    if is_postgres_url(spec):
        url, schema = parse_postgres_spec(spec)
        require("postgres", "a PostgreSQL source")
        from exhaust.sources.postgres import PostgresTables

        return PostgresTables(url, schema)
    if spec.startswith("cassandra://"):
        require("cassandra", "a Cassandra source")
        settings = settings or get_settings()
        return CassandraTables(parse_cassandra_spec(spec), settings.cassandra_keyspaces)
    raise BadInput(f"unsupported source {redact_url(spec)}: use {SPEC_HELP}")


def _folder_of(spec: str) -> Path | None:
    """The folder a files spec names (`files:DIR` or a bare path), None for a URL."""
    if spec.startswith("files:"):
        return Path(spec.removeprefix("files:"))
    return Path(spec) if "://" not in spec else None


def open_source(spec: str, settings: Settings | None = None) -> Source:
    """The Source of `spec`, with users, optional nodes and content from the services the settings name."""
    settings = settings or get_settings()
    folder = _folder_of(spec.strip())
    fixture = open_cql_folder(folder) if folder is not None and is_cql_folder(folder) else None
    tables = fixture.tables if fixture is not None else open_tables(spec, settings)
    if isinstance(tables, CassandraTables) and not settings.users_redis_url:
        raise BadInput("a Cassandra source needs the Redis user cache: set EXHAUST_USERS_REDIS_URL")
    users, optional = None, None
    if settings.users_redis_url or settings.optional_nodes_redis_url:
        require("redis", "the Redis caches (EXHAUST_USERS_REDIS_URL, EXHAUST_OPTIONAL_NODES_REDIS_URL)")
        from exhaust.sources.redis_users import RedisOptionalNodes, RedisUsers

        if settings.users_redis_url:
            users = RedisUsers(settings.users_redis_url, chunk=settings.users_redis_chunk)
        if settings.optional_nodes_redis_url:
            optional = RedisOptionalNodes(settings.optional_nodes_redis_url)
    content = None
    if settings.content_api_url:
        content = ContentApi(
            settings.content_api_url,
            timeout=settings.content_api_timeout,
            retries=settings.content_api_retries,
            api_key=settings.content_api_key,
        )
    # A fixture folder's own search response answers search unless the content service is configured.
    search = content if content is not None or fixture is None else fixture.search_store
    archive = (
        AssessmentArchive(settings.assessment_archive_url, settings.assessment_archive_options)
        if settings.assessment_archive_url
        else None
    )
    return Source(
        tables, users=users, content=content, optional_nodes=optional, search=search, archive=archive
    )
