"""docs/openapi.yaml against the real server: the spec's paths and methods are exactly the
routes the binary registers (asked with --print-routes), the server serves the spec at
/openapi.yaml, and real answers (successes and errors of every route) match the status
codes, content types and schemas the spec gives for them.

The dashboard's files are routes like any other: each file under web/ is built into the
binary at its own path (and web/index.html again at /). The spec lists them one path each,
because OpenAPI has no way to say "every file of a folder" (a path parameter cannot hold a
slash) and a described-but-unlisted group would be a part of the contract nobody checks.
So a file added to web/ fails the route-set test below, which names the file, until the
spec lists it; and every listed file is fetched here, once fresh and once with its ETag."""

import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from support import api, HTTP_TIMEOUT, REPO_ROOT, SERVER_BIN, free_port, wait_persisted

SPEC_PATH = REPO_ROOT / "docs/openapi.yaml"
WEB_DIR = REPO_ROOT / "web"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(SPEC_PATH.read_text())


@pytest.fixture(scope="module")
def server(module_server_factory):
    # The flusher on, so that the explorer has stored events to answer with.
    return module_server_factory("--flusher=true", "--flush-interval-ms=50")


def spec_routes(spec):
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in METHODS}


def web_routes():
    """The routes the build makes of the files under web/ (see CMakeLists.txt), each with
    the file it serves. The JavaScript client's source, web/tracker.mjs, is served as the
    two scripts the build makes of it."""
    files = {"/" + str(f.relative_to(WEB_DIR)): f for f in sorted(WEB_DIR.rglob("*")) if f.is_file()}
    generated = Path(SERVER_BIN).resolve().parent / "generated/web"
    files.update({"/tracker.mjs": generated / "tracker.mjs", "/tracker.js": generated / "tracker.js"})
    return {"/": WEB_DIR / "index.html", **files}


def resolve(spec, node):
    """Follows a local $ref ("#/components/...") to the object it names."""
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def schema_errors(spec, schema, value):
    """The schema's complaints about value (local $refs resolve against the spec)."""
    validator = jsonschema.Draft202012Validator(
        dict(schema, components=spec["components"]), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    return "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def check_request(spec, method, path, body):
    """A body the server accepted validates against the documented request schema."""
    request = resolve(spec, spec["paths"][path][method.lower()].get("requestBody"))
    assert request, f"{method} {path}: the server accepted a body the spec does not describe"
    problems = schema_errors(spec, request["content"]["application/json"]["schema"], body)
    assert not problems, f"{method} {path} request: {problems}"


def check_answer(spec, method, path, response):
    """The answer's status is documented for the operation, its content type is the one
    documented, and a JSON body validates against the documented schema."""
    operation = spec["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path}: {status} is not documented ({response.text[:300]})"
    documented = resolve(spec, operation["responses"][status])
    for header in documented.get("headers", {}):
        assert header in response.headers, f"{method} {path} {status}: no {header} header"
    content = documented.get("content", {})
    if not content:
        assert not response.content, f"{method} {path} {status}: a body the spec does not describe"
        return
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    assert content_type in content, f"{method} {path} {status}: {content_type} is not documented"
    if content_type == "application/json":
        problems = schema_errors(spec, content[content_type]["schema"], response.json())
        assert not problems, f"{method} {path} {status}: {problems}"


class Client:
    """Sends requests to the server and checks every answer against the spec, and every
    body the server accepted against the spec's request schema; remembers which
    operations answered a 2xx."""

    def __init__(self, spec, server):
        self.spec, self.server = spec, server
        self.succeeded = set()

    def __call__(self, method, path, expect, route=None, **kwargs):
        response = api.request(method, self.server.url(path), timeout=HTTP_TIMEOUT, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.text[:300])
        route = route or path.split("?")[0]
        check_answer(self.spec, method, route, response)
        if response.status_code < 300:
            self.succeeded.add((method, route))
            if "json" in kwargs:
                check_request(self.spec, method, route, kwargs["json"])
        return response


def test_spec_is_openapi_3_1_with_valid_schemas(spec):
    assert spec["openapi"].startswith("3.1")
    for name, schema in spec["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_spec_paths_are_the_routes_of_the_binary(spec):
    printed = subprocess.run([SERVER_BIN, "--print-routes"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    assert printed.returncode == 0, printed.stderr
    routes = {tuple(line.split(" ")[:2]) for line in printed.stdout.splitlines() if line}
    assert ("POST", "/api/events") in routes
    web = web_routes()
    unlisted_files = sorted(f"{path} ({web[path].relative_to(REPO_ROOT)})"
                            for method, path in routes - spec_routes(spec) if path in web)
    assert not unlisted_files, f"served from web/ but not a path in docs/openapi.yaml: {unlisted_files}"
    assert routes == spec_routes(spec), {"not in the spec": routes - spec_routes(spec),
                                         "not in the router": spec_routes(spec) - routes}


def test_the_built_in_files_are_those_under_web(spec):
    """The binary serves exactly web/'s files (plus / and /openapi.yaml) as static routes:
    a build that missed a file, or served one no longer in web/, shows up here rather than
    as a puzzling spec mismatch."""
    printed = subprocess.run([SERVER_BIN, "--print-routes"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    static = {path for method, path, _access in (line.split(" ") for line in printed.stdout.splitlines() if line)
              if not path.startswith(("/api/", "/health/", "/metrics"))}
    assert static == set(web_routes()) | {"/openapi.yaml"}


def test_server_serves_the_spec(spec, server):
    response = api.get(server.url("/openapi.yaml"), timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == "application/yaml"
    assert response.content == SPEC_PATH.read_bytes()


def test_every_answer_matches_the_spec(spec, server, uniq):
    call = Client(spec, server)
    comp, post_id, user = uniq.comp(), uniq.post(), uniq.user()
    tag = f"oa{uniq.token}"

    # Ingestion
    call("POST", "/api/events", 202, json=uniq.event("CLICK", comp, userId=user))
    call("POST", "/api/events", 202, json=uniq.event("SEARCH", comp, userId=user, metadata={"keyword": tag}))
    event_id = "0190b6d4-0000-7000-8000-" + uniq.token[:12]
    first = call("POST", "/api/events", 202, json=uniq.event("CLICK", comp, eventId=event_id))
    duplicate = call("POST", "/api/events", 202, json=uniq.event("CLICK", comp, eventId=event_id))
    assert duplicate.json() == {"eventId": first.json()["eventId"], "duplicate": True}
    call("POST", "/api/users/events", 202, json=uniq.event("PAGE_VIEW", comp))
    call("POST", "/api/events", 400, json=uniq.event("LIKE", comp, userId=user))
    call("POST", "/api/events", 400, data="{", headers={"Content-Type": "application/json"})
    call("POST", "/api/events", 415, data="{}", headers={"Content-Type": "text/html"})
    call("POST", "/api/events", 411, headers={"Content-Type": "application/json"})
    call("POST", "/api/users/events", 400, json={"eventType": "CLICK"})
    batch = call("POST", "/api/events/batch", 202, json={"events": [
        uniq.event("LIKE", comp, userId=user, metadata={"postId": post_id}), {"eventType": "NOPE"}]})
    assert batch.json()["accepted"] == 1 and batch.json()["rejected"][0]["index"] == 1
    call("POST", "/api/events/batch", 400, json={"events": [{"eventType": "NOPE"}]})
    call("POST", "/api/events/batch", 400, json={"events": []})

    # Statistics
    count = call("GET", f"/api/statistics?eventType=CLICK&componentId={comp}", 200)
    assert count.json() == {"count": 2}
    call("GET", f"/api/statistics?eventType=LIKE&componentId={comp}&postId={post_id}", 200)
    call("GET", f"/api/statistics?eventType=SEARCH&componentId={comp}&keyword={tag}"
                "&from=2026-01-01T00:00:00Z&to=2036-01-01T00:00:00Z", 200)
    call("GET", "/api/statistics?eventType=CLICK", 400)
    call("GET", f"/api/statistics?eventType=CLICK&componentId={comp}&colour=red", 400)
    series = call("GET", f"/api/statistics/series?eventType=CLICK&componentId={comp}&interval=hour", 200)
    assert series.json()["total"] == 2
    span = f"from={series.json()['from']}&to={series.json()['to']}"  # the same buckets, whenever the hour turns
    columns = call("GET", f"/api/statistics/series?eventType=CLICK&componentId={comp}&interval=hour&{span}&format=columns", 200)
    assert columns.json()["counts"] == [b["count"] for b in series.json()["buckets"]]
    call("GET", "/api/statistics/series?eventType=CLICK&interval=week", 400)
    call("GET", "/api/statistics/top-posts?eventType=LIKE&window=24h&limit=5", 200)
    call("GET", "/api/statistics/top-posts?eventType=SEARCH", 400)
    call("GET", "/api/statistics/keywords?window=7d", 200)
    call("GET", "/api/statistics/keywords?window=2h", 400)
    call("GET", "/api/statistics/unique-users?eventType=click", 200)
    call("GET", "/api/statistics/unique-users?eventType=CLICK&date=25-11-2026", 400)
    call("GET", "/api/statistics/summary", 200)
    call("GET", "/api/statistics/summary?x=1", 400)

    # Posts, likes, search
    created = call("POST", "/api/posts", 201, json={"userId": user, "content": f"post {uniq.token}",
                                                   "hashtags": [tag], "imageUrls": ["https://example.com/a.png"]})
    new_id = created.json()["id"]
    assert created.headers["Location"] == f"/api/posts/{new_id}"
    call("POST", "/api/posts", 400, json={"userId": user, "content": " "})
    call("GET", f"/api/posts/{new_id}", 200, route="/api/posts/{id}")
    call("GET", "/api/posts/9223372036854775807", 404, route="/api/posts/{id}")
    call("GET", "/api/posts/abc", 400, route="/api/posts/{id}")
    liked = call("POST", "/api/posts/like", 200, json={"userId": user, "postId": new_id})
    assert liked.json()["liked"] is True
    call("POST", "/api/posts/like", 404, json={"userId": user, "postId": 9223372036854775807})
    call("POST", "/api/posts/like", 400, json={"userId": user})
    found = call("GET", f"/api/search?keyword=%23{tag.upper()}&userId={user}&limit=5", 200)
    assert [p["id"] for p in found.json()["posts"]] == [new_id]
    call("GET", "/api/search?keyword=", 400)
    recent = call("GET", f"/api/search/recent/{user}", 200, route="/api/search/recent/{userId}")
    assert recent.json()["keywords"] == [tag]
    call("GET", "/api/search/recent/0", 400, route="/api/search/recent/{userId}")

    # Operations
    call("GET", "/health/live", 200)
    call("GET", "/health/ready", 200)
    call("GET", "/metrics", 200)
    call("GET", "/openapi.yaml", 200)

    # Event explorer: what the flusher has moved to PostgreSQL
    wait_persisted(server)
    page = call("GET", f"/api/events?sessionId={uniq.session}&componentId={comp}&limit=2", 200)
    assert len(page.json()["events"]) == 2 and page.json()["nextCursor"]
    rest = call("GET", f"/api/events?sessionId={uniq.session}&cursor={page.json()['nextCursor']}", 200)
    assert rest.json()["events"] and rest.json()["nextCursor"] is None
    call("GET", f"/api/events?userId={user}&sessionId=s&postId={post_id}&keyword={tag}"
                "&from=2026-01-01T00:00:00Z&to=2036-01-01T00:00:00Z", 200)
    call("GET", "/api/events?limit=0", 400)
    call("GET", "/api/events?cursor=nonsense", 400)
    call("GET", "/api/events?colour=red", 400)
    assert call("GET", "/api/events?keyword=%01", 400).json()["error"]["code"] == "INVALID_VALUE"
    assert call("GET", "/api/events?%FF=1", 400).json()["error"]["code"] == "INVALID_PARAMETER"

    # Erasing a user's data (last: it removes the user's events and keywords used above)
    erased = call("DELETE", f"/api/users/{user}/events", 200, route="/api/users/{userId}/events")
    assert erased.json()["likesDeleted"] == 1 and erased.json()["recentKeywordsDeleted"] == 1
    call("DELETE", "/api/users/0/events", 400, route="/api/users/{userId}/events")

    # The dashboard's files: each answers once in full and once not modified
    for path in web_routes():
        fresh = call("GET", path, 200)
        assert fresh.content == web_routes()[path].read_bytes(), path
        call("GET", path, 304, headers={"If-None-Match": fresh.headers["ETag"]})

    missing = spec_routes(spec) - call.succeeded
    assert not missing, f"operations without a successful example here: {sorted(missing)}"


@pytest.mark.parametrize("method, path, status, allowed", [
    ("GET", "/api/nothing-here", 404, None),
    ("DELETE", "/api/events", 405, "POST"),
    ("PUT", "/api/events", 405, "GET"),
    ("POST", "/app.js", 405, "GET"),
    ("HEAD", "/api/search?keyword=x", 405, "GET"),
])
def test_answers_off_the_routes_have_the_error_shape(spec, server, method, path, status, allowed):
    response = api.request(method, server.url(path), timeout=HTTP_TIMEOUT)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    if method != "HEAD":
        assert not schema_errors(spec, spec["components"]["schemas"]["Error"], response.json())
    if allowed:
        assert allowed in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/api/statistics/summary", "/health/live", "/app.js", "/api/events?limit=1"])
def test_head_answers_as_get_without_a_body(server, path):
    """The spec says HEAD is served wherever GET changes nothing: the same status and
    headers, no body."""
    got = api.get(server.url(path), timeout=HTTP_TIMEOUT)
    head = api.head(server.url(path), timeout=HTTP_TIMEOUT)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Type"] == got.headers["Content-Type"]


def test_unavailable_answers_match_the_spec(spec, start_server, uniq):
    """With Redis unreachable, the routes that need it answer the documented 503."""
    server = start_server(f"--redis-port={free_port()}", "--redis-timeout-ms=300")
    call = Client(spec, server)
    comp = uniq.comp()
    call("POST", "/api/events", 503, json=uniq.event("CLICK", comp))
    call("POST", "/api/events/batch", 503, json={"events": [uniq.event("CLICK", comp)]})
    call("GET", f"/api/statistics?eventType=CLICK&componentId={comp}", 503)
    call("GET", "/api/statistics/summary", 503)
    call("GET", "/health/ready", 503)
    call("GET", "/health/live", 200)


def test_every_operation_names_the_keys_its_route_takes(spec):
    """security per operation as the router's access column says: none on open routes, a
    write key in X-Api-Key, ?apiKey= or Bearer on write routes, Bearer (or X-Api-Key) on read
    and admin routes, with their 401 and 403 answers."""
    expected = {"open": [], "write": ["ApiKeyHeader", "ApiKeyQuery", "Bearer"],
                "read": ["Bearer", "ApiKeyHeader"], "admin": ["Bearer", "ApiKeyHeader"]}
    assert set(spec["components"]["securitySchemes"]) == {"ApiKeyHeader", "ApiKeyQuery", "Bearer"}
    printed = subprocess.run([SERVER_BIN, "--print-routes"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL, check=True)
    for method, path, access in (line.split(" ") for line in printed.stdout.splitlines() if line):
        operation = spec["paths"][path][method.lower()]
        schemes = [name for requirement in operation.get("security", [None]) if requirement for name in requirement]
        assert "security" in operation and schemes == expected[access], (method, path, access, operation.get("security"))
        if access != "open":
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
