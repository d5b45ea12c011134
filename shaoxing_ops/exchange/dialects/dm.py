"""达梦 DM8: Oracle-compatible SQL (``MERGE INTO``, ``DECODE``, ``TO_CHAR``) with its own ``MD5`` function.

Not verified against a live server here (none can be installed): the statements are compiled and checked in
the tests. Its SQLAlchemy dialect (``dm+dmPython://``) comes with the ``.[dm]`` extra.
"""

from __future__ import annotations

from .oracle import Oracle


class Dm(Oracle):
    name = "dm"
    staging_prefixes = ("GLOBAL TEMPORARY",)  # rows private to the session, gone at commit
    staging_options: dict[str, str] = {}  # noqa: RUF012

    def staging_name(self, table_name: str) -> str:
        return f"stg_{table_name}"

    hash_half = "TO_NUMBER(SUBSTR(MD5({text}), {start}, 8), 'XXXXXXXX')"

    def key_table_ddl(self, name: str) -> str:
        return f"CREATE GLOBAL TEMPORARY TABLE {name} (k VARCHAR(4000) PRIMARY KEY) ON COMMIT DELETE ROWS"
