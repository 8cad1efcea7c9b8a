"""Hooks for schemathesis runs against kv-node (see tools/schemathesis.toml).

`no_undeclared_server_error` replaces the built-in `not_a_server_error`: a
healthy cluster answers no 5xx, except the two the description declares as
answers to a request that is valid and yet cannot be served here now:

- 503 `min_index_not_reached` to an eventual read whose `min_index` this
  node has not applied (the fuzzer's indexes are mostly in the future);
- 503 from `/primary` and `/replica` when this node does not have the role
  (HAProxy's health check), with the node's role as the body.

Anything else at or above 500 fails the run.
"""

import json

import schemathesis


@schemathesis.check
def no_undeclared_server_error(ctx, response, case):
    if response.status_code < 500:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if response.status_code == 503 and isinstance(body, dict):
        if (
            case.method.upper() == "GET"
            and (case.path == "/kv" or case.path.startswith("/kv/"))
            and body.get("error") == "min_index_not_reached"
            and "min_index" in (case.query or {})
        ):
            return None
        if case.path in ("/primary", "/replica") and "role" in body and "error" not in body:
            return None
    raise AssertionError(
        f"{case.method} {case.path} answered {response.status_code}: "
        f"{response.content[:300]!r}"
    )
