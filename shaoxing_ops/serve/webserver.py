"""The operators' (writable) Dagster webserver behind the authenticating proxy: Dagster's own app, with one GraphQL
middleware that tags every run launched through it with the user the proxy authenticated.

Why this way: Dagster OSS reads no proxy header, and its launch mutations take their tags only from the request
(``executionMetadata.tags``, ``backfillParams.tags``). ``DagsterWebserver.build_graphql_middleware`` is the hook
Dagster's webserver class offers for this (empty in OSS); a graphene middleware sees the mutation's arguments
after GraphQL has parsed them, whether sent as variables or inline, so a client cannot slip its own
``sxops/launched_by`` past it, and ``info.context.source`` is the HTTP request carrying the proxy's header.

The header is trusted only because this server binds 127.0.0.1 and nginx, which overwrites it with
``$remote_user``, is the only way in from outside. Run: ``python -m shaoxing_ops.serve.webserver -w workspace.yaml
-h 127.0.0.1 -p 3001`` (``shaoxing-ops serve`` does).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo, OperationType

from shaoxing_ops.names import LAUNCHED_BY_TAG

USER_HEADER = "x-forwarded-user"
# Mutations that start runs, and where each takes its run tags from.
RUN_LAUNCHES = {"launchRun", "launchPipelineExecution"}  # executionParams
MULTIPLE_LAUNCHES = {"launchMultipleRuns"}  # executionParamsList
REEXECUTIONS = {"launchRunReexecution", "launchPipelineReexecution"}  # executionParams or reexecutionParams
BACKFILLS = {"launchPartitionBackfill"}  # backfillParams.tags, inherited by every run of the backfill


def proxy_user(context: Any) -> str | None:
    """The user the proxy authenticated, from the request the GraphQL operation came in (None without proxy)."""
    headers = getattr(getattr(context, "source", None), "headers", None)
    value = (headers.get(USER_HEADER) or "").strip() if headers is not None else ""
    return value or None


def with_user(tags: list[Any] | None, user: str | None) -> list[Any]:
    """``tags`` (GraphQL ``{key, value}`` items) without any client-sent launcher, plus the proxy's user."""
    kept = [t for t in tags or [] if t["key"] != LAUNCHED_BY_TAG]
    return kept + ([{"key": LAUNCHED_BY_TAG, "value": user}] if user else [])


def _tag_execution(params: Any, user: str | None) -> None:
    if not params:
        return
    metadata = params.get("executionMetadata")
    if metadata is None:
        metadata = params["executionMetadata"] = {}
    metadata["tags"] = with_user(metadata.get("tags"), user)


def tag_launches(next_: Callable[..., Any], root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Graphene middleware: the run-starting mutations get ``sxops/launched_by`` = the proxy's user."""
    if info.path.prev is None and info.operation.operation == OperationType.MUTATION:
        name, user = info.field_name, proxy_user(info.context)
        if name in RUN_LAUNCHES:
            _tag_execution(args.get("executionParams"), user)
        elif name in MULTIPLE_LAUNCHES:
            for params in args.get("executionParamsList") or []:
                _tag_execution(params, user)
        elif name in REEXECUTIONS:
            _tag_execution(args.get("executionParams"), user)
            if args.get("reexecutionParams"):  # extraTags upsert over the parent run's tags
                reexecution = args["reexecutionParams"]
                reexecution["extraTags"] = with_user(reexecution.get("extraTags"), user)
        elif name in BACKFILLS and args.get("backfillParams"):
            backfill = args["backfillParams"]
            backfill["tags"] = with_user(backfill.get("tags"), user)
    return next_(root, info, **args)


def make_app(process_context: Any) -> Any:
    """Dagster's webserver app (as ``dagster-webserver`` serves it) with ``tag_launches`` added."""
    from dagster_webserver.webserver import DagsterWebserver

    class LaunchedByWebserver(DagsterWebserver):
        def build_graphql_middleware(self) -> list:
            return [tag_launches]

    return LaunchedByWebserver(process_context).create_asgi_app()


def main(argv: list[str] | None = None) -> None:
    import dagster as dg
    import uvicorn
    from dagster_webserver import __version__

    from shaoxing_ops.dagster_internals import workspace_process_context

    parser = argparse.ArgumentParser(
        prog="shaoxing_ops.serve.webserver", add_help=False, description=__doc__.splitlines()[0]
    )
    parser.add_argument("-w", "--workspace", default="workspace.yaml")
    parser.add_argument("-h", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=3001)
    parser.add_argument("--help", action="help")
    args = parser.parse_args(argv)
    instance = dg.DagsterInstance.get()
    # dagster-webserver's defaults (statement timeout ms, pool recycle s, pool overflow)
    instance.optimize_for_webserver(15000, 3600, 20)
    with workspace_process_context(instance, args.workspace, __version__) as context:
        uvicorn.run(make_app(context), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
