"""The admin API: ``POST /admin/normalize-leads[?forceAll=true&limit=N]`` behind API Gateway.

REST APIs (v1) and HTTP APIs (v2) alike. The gateway's Cognito authorizer checks the token;
the handler checks again, in this order: the route (404, 405), the claims (403), the
caller's group (403), the query (400). Then it starts the scheduled job's run and answers
its report, or 500 naming the error type.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from llm_normalize.aws_lambda.events import RUN_OPTIONS, BadRequest, EventKind
from llm_normalize.aws_lambda.runs import run
from llm_normalize.aws_lambda.telemetry import log_failure, safe_error

if TYPE_CHECKING:
    from llm_normalize.aws_lambda.invocation import Invocation
    from llm_normalize.aws_lambda.runtime import Runtime

__all__ = ["ADMIN_PATH", "api_response", "caller_groups", "handle_api", "query_options"]

logger = logging.getLogger(__name__)

ADMIN_PATH: Final = "/admin/normalize-leads"
"""The admin API route (``POST``); a path ending in it matches (stage and base-path prefixes)."""

_LIMIT_PATTERN: Final = re.compile(r"[0-9]{1,9}")
_GROUP_SEPARATORS: Final = re.compile(r"[\s,]+")


def handle_api(runtime: Runtime, event: Any, invocation: Invocation) -> dict[str, Any]:
    """An API Gateway proxy request: check it, run, answer a proxy response."""
    method, path = _route(event, invocation.kind)
    if not path.rstrip("/").endswith(ADMIN_PATH):
        invocation.counts["not_found"] += 1
        return _api_error(404, "NotFound", "no such route")
    if method != "POST":
        invocation.counts["method_not_allowed"] += 1
        return _api_error(405, "MethodNotAllowed", "use POST", {"Allow": "POST"})
    claims = _claims(event)
    if not claims:
        invocation.counts["forbidden"] += 1
        logger.warning("refused an admin request without authorizer claims")
        return _api_error(403, "Forbidden", "the request carries no authorizer claims")
    if runtime.admin_group not in caller_groups(claims):
        invocation.counts["forbidden"] += 1
        logger.warning(
            "refused an admin request from a caller outside the admin group",
            extra={"principal_id": _principal(claims)},
        )
        return _api_error(403, "Forbidden", "the caller is not in the admin group")
    try:
        force, limit = query_options(event, invocation.kind)
    except BadRequest as exc:
        invocation.counts["bad_request"] += 1
        return _api_error(400, "BadRequest", str(exc))
    logger.info("admin run requested", extra={"principal_id": _principal(claims)})
    try:
        report = run(runtime, invocation, force, limit)
    except Exception as exc:
        invocation.errors += 1
        log_failure("the admin run failed", exc)
        return _api_error(500, "RunFailed", f"normalization run failed: {safe_error(exc)}")
    return api_response(200, {"report": report.model_dump(mode="json")})


def _route(event: Mapping[str, Any], kind: EventKind) -> tuple[str, str]:
    if kind == "api_http":
        http = event["requestContext"]["http"]
        method, path = http.get("method"), event.get("rawPath") or http.get("path")
    else:
        method, path = event.get("httpMethod"), event.get("path") or event.get("resource")
    return (
        method.upper() if isinstance(method, str) else "",
        path if isinstance(path, str) else "",
    )


def _claims(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The authorizer claims: ``authorizer.claims`` (REST, Cognito) or ``authorizer.jwt.claims``."""
    request_context = event.get("requestContext")
    authorizer = request_context.get("authorizer") if isinstance(request_context, Mapping) else None
    if not isinstance(authorizer, Mapping):
        return {}
    claims = authorizer.get("claims")
    if not isinstance(claims, Mapping):
        jwt = authorizer.get("jwt")
        claims = jwt.get("claims") if isinstance(jwt, Mapping) else None
    return claims if isinstance(claims, Mapping) else {}


def caller_groups(claims: Mapping[str, Any]) -> set[str]:
    """The caller's ``cognito:groups``, in any of the shapes API Gateway passes them.

    REST APIs pass ``"admins,users"``, HTTP APIs ``"[admins users]"``; a list is accepted too.

    Examples:
        >>> sorted(caller_groups({"cognito:groups": "[admins users]"}))
        ['admins', 'users']
    """
    raw = claims.get("cognito:groups")
    if isinstance(raw, list | tuple):
        parts = [str(item) for item in raw]
    elif isinstance(raw, str):
        parts = _GROUP_SEPARATORS.split(raw.strip().strip("[]"))
    else:
        return set()
    return {part.strip().strip("\"'") for part in parts} - {""}


def _principal(claims: Mapping[str, Any]) -> str | None:
    # Only the subject id: usernames and emails are personal data.
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def query_options(event: Mapping[str, Any], kind: EventKind) -> tuple[bool, int | None]:
    """The ``forceAll`` and ``limit`` of the query string, each at most once.

    Raises:
        BadRequest: An unknown parameter, a repeated one, or a bad value.
    """
    params = _query(event, kind)
    if set(params) - set(RUN_OPTIONS):
        raise BadRequest("unknown query parameter: only forceAll and limit are accepted")
    force = False
    limit: int | None = None
    if "forceAll" in params:
        values = params["forceAll"]
        if len(values) != 1 or values[0].lower() not in ("true", "false"):
            raise BadRequest("forceAll must be true or false")
        force = values[0].lower() == "true"
    if "limit" in params:
        values = params["limit"]
        if len(values) != 1 or not _LIMIT_PATTERN.fullmatch(values[0]) or int(values[0]) < 1:
            raise BadRequest("limit must be a positive integer")
        limit = int(values[0])
    return force, limit


def _query(event: Mapping[str, Any], kind: EventKind) -> dict[str, list[str]]:
    """Every query parameter's values: REST's multi-value map, else the single-value one."""
    multi = event.get("multiValueQueryStringParameters") if kind == "api_rest" else None
    single = event.get("queryStringParameters")
    if isinstance(multi, Mapping):
        return {
            str(k): [str(v) for v in values] if isinstance(values, list) else [str(values)]
            for k, values in multi.items()
        }
    if isinstance(single, Mapping):
        return {str(k): [str(v)] for k, v in single.items()}
    return {}


def api_response(
    status: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A proxy response with a JSON body; it suits REST (v1) and HTTP APIs (payload 1.0 or 2.0)."""
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            **(headers or {}),
        },
        "body": json.dumps(payload),
        "isBase64Encoded": False,
    }


def _api_error(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return api_response(status, {"error": {"type": kind, "message": message}}, headers)
