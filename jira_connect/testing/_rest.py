"""The few Jira REST endpoints a connected site calls, answering in Jira's shapes.

Authentication has already been decided by the simulator: this module gets the caller (a user,
or None for anonymous) and the granted scopes, and only knows what each endpoint returns.
"""

from __future__ import annotations

import email
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from jira_connect.testing import _scopes
from jira_connect.testing._data import (
    ISSUE_FIELDS,
    ISSUE_TYPES,
    PRIORITIES,
    DataSet,
    Renderer,
    jira_datetime,
)
from jira_connect.testing._http import Request, Response, json_response
from jira_connect.testing._jql import JqlContext, JqlError, search
from jira_connect.testing._models import SimulatedUser, SimulatorOptions

UNAUTHENTICATED = {
    "message": "Client must be authenticated to access this resource.",
    "status-code": 401,
}
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
SCM_INFO = "5a1c0b2e9d7f4c3b8e6a1d0f2b4c6e8a9d7f5b3c"
DEFAULT_MAX_RESULTS = 50
MAX_RESULTS_CAP = 1000


def unauthorized() -> Response:
    return json_response(401, UNAUTHENTICATED)


def _errors(status: int, messages: list[str], errors: dict[str, str] | None = None) -> Response:
    return json_response(status, {"errorMessages": messages, "errors": errors or {}})


def build_number(version: str) -> int:
    """Jira's build number for a version (8.5.3 -> 805003)."""
    numbers = [*version_numbers(version), 0, 0, 0]
    return numbers[0] * 100000 + numbers[1] * 1000 + numbers[2]


def version_numbers(version: str) -> list[int]:
    return [int(part) for part in version.split(".") if part.isdigit()][:3]


@dataclass(frozen=True)
class RestContext:
    """Everything one REST call may read or change."""

    data: DataSet
    renderer: Renderer
    resolve_user: Callable[[str], str | None]
    options: SimulatorOptions
    now: float
    caller: SimulatedUser | None
    scopes: tuple[str, ...] = ()
    anonymous_myself: bool = False  # the "anonymous" fault: /myself answers an anonymous 200


class RestApi:
    """Routes `{base}/rest/api/{2|latest}/<endpoint>` to a handler."""

    def __init__(self, context: RestContext) -> None:
        self.context = context
        self.render = context.renderer

    def handle(self, request: Request, endpoint: str) -> Response:
        head, _, rest = endpoint.partition("/")
        routes: dict[tuple[str, bool], dict[str, Callable[[], Response]]] = {
            ("myself", False): {"GET": lambda: self.myself(request)},
            ("serverInfo", False): {"GET": self.server_info},
            ("field", False): {"GET": self.fields},
            ("project", False): {"GET": self.projects},
            ("project", True): {"GET": lambda: self.project(rest)},
            ("issue", False): {"POST": lambda: self.create_issue(request)},
            ("issue", True): {"GET": lambda: self.issue(request, rest)},
            ("search", False): {
                "GET": lambda: self.search(request),
                "POST": lambda: self.search(request),
            },
        }
        routes[("attachment", True)] = {"GET": lambda: self.attachment(rest)}
        issue_ref, _, below = rest.partition("/")
        methods: dict[str, Callable[[], Response]] | None
        if head == "issue" and below == "attachments":
            methods = {"POST": lambda: self.add_attachments(request, issue_ref)}
        else:
            methods = routes.get((head, bool(rest)))
        if methods is None or ("/" in rest and below != "attachments"):
            return json_response(404, {"message": f"null for uri: {endpoint}", "status-code": 404})
        handler = methods.get(request.method)
        if handler is None:
            return Response(405, b"", [("Allow", ", ".join(methods))])
        is_write = request.method != "GET" and head != "search"
        if is_write:
            if self.context.caller is None:
                return unauthorized()
            if not _scopes.covers_any(list(self.context.scopes), "WRITE"):
                return json_response(
                    403,
                    {
                        "message": "The access token's scope does not allow this request.",
                        "status-code": 403,
                    },
                )
        return handler()

    @property
    def visible_projects(self) -> frozenset[str]:
        # Anonymous callers see nothing: the data set has no public projects.
        if self.context.caller is None:
            return frozenset()
        return frozenset(self.context.data.projects)

    # -- identity ------------------------------------------------------------------------------
    def myself(self, request: Request) -> Response:
        caller = self.context.caller
        if caller is None:
            if self.context.anonymous_myself:
                return json_response(200, self._anonymous_user())
            return unauthorized()
        expand = (request.query_value("expand") or "").split(",")
        return json_response(200, self.render.myself(caller, expand=expand))

    def _anonymous_user(self) -> dict[str, Any]:
        return {
            "self": f"{self.render.base}/rest/api/2/user?username=anonymous",
            "key": "anonymous",
            "name": "anonymous",
            "displayName": "Anonymous",
            "active": False,
            "timeZone": "UTC",
            "locale": "en_US",
            "avatarUrls": self.render.avatar_urls("user", 10123),
        }

    def server_info(self) -> Response:
        options = self.context.options
        build = build_number(options.version)
        return json_response(
            200,
            {
                "baseUrl": self.render.base,
                "version": options.version,
                "versionNumbers": version_numbers(options.version),
                "deploymentType": "Server",
                "buildNumber": build,
                "buildDate": "2024-12-05T00:00:00.000+0000",
                "databaseBuildNumber": build,
                "serverTime": jira_datetime(datetime.fromtimestamp(self.context.now, timezone.utc)),
                "scmInfo": SCM_INFO,
                "serverTitle": options.server_title,
            },
        )

    def fields(self) -> Response:
        """The issue fields, as `GET /field` lists them (jira's `search_issues` reads this)."""
        return json_response(200, [_field(field_id) for field_id in ISSUE_FIELDS])

    # -- projects and issues -------------------------------------------------------------------
    def projects(self) -> Response:
        visible = self.visible_projects
        return json_response(
            200,
            [
                self.render.project(p)
                for p in self.context.data.projects.values()
                if p.key in visible
            ],
        )

    def project(self, key_or_id: str) -> Response:
        project = self.context.data.project(key_or_id)
        if project is None or project.key not in self.visible_projects:
            return _errors(404, [f"No project could be found with key '{key_or_id}'."])
        return json_response(200, self.render.project(project, full=True))

    def issue(self, request: Request, key_or_id: str) -> Response:
        issue = self.context.data.issue(key_or_id)
        if issue is None or issue.project not in self.visible_projects:
            return _errors(404, [ISSUE_NOT_FOUND])
        fields = _field_selection(request.query_value("fields"))
        project = self.context.data.projects[issue.project]
        return json_response(200, self.render.issue(issue, project, fields))

    def create_issue(self, request: Request) -> Response:
        try:
            payload = json.loads(request.body or b"null")
        except ValueError:
            return _errors(400, ["Unexpected character in the request body: not valid JSON."])
        fields = payload.get("fields") if isinstance(payload, dict) else None
        if not isinstance(fields, dict):
            return _errors(400, ["Expected a JSON object with 'fields'."])
        errors: dict[str, str] = {}
        project_ref = fields.get("project") or {}
        project = None
        if isinstance(project_ref, dict):
            ref = project_ref.get("key") or project_ref.get("id") or ""
            project = self.context.data.project(str(ref)) if ref else None
        if project is None or project.key not in self.visible_projects:
            errors["project"] = "project is required"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        type_ref = fields.get("issuetype") or {}
        issuetype = _named(type_ref, ISSUE_TYPES)
        if issuetype is None:
            errors["issuetype"] = "issue type is required"
        priority = _named(fields.get("priority") or {"name": "Medium"}, PRIORITIES)
        if priority is None:
            errors["priority"] = "Priority name is not valid."
        assignee_key = None
        assignee_ref = fields.get("assignee")
        if isinstance(assignee_ref, dict) and assignee_ref.get("name"):
            assignee_key = self.context.resolve_user(str(assignee_ref["name"]))
            if assignee_key is None:
                errors["assignee"] = f"User '{assignee_ref['name']}' does not exist."
        if errors or project is None or issuetype is None or priority is None:
            return _errors(400, [], errors)
        if self.context.caller is None:  # handle() only lets authenticated writes through
            return _errors(401, ["You are not authenticated."], {})
        moment = datetime.fromtimestamp(self.context.now, timezone.utc)
        issue = self.context.data.add_issue(
            project=project.key,
            summary=str(summary).strip(),
            issuetype=issuetype,
            status="To Do",
            priority=priority,
            assignee=assignee_key,
            reporter=self.context.caller.key,
            created=moment,
            updated=moment,
            description=str(fields.get("description") or ""),
            labels=[str(label) for label in fields.get("labels") or []],
        )
        return json_response(
            201,
            {
                "id": issue.id,
                "key": issue.key,
                "self": f"{self.render.base}/rest/api/2/issue/{issue.id}",
            },
        )

    def add_attachments(self, request: Request, key_or_id: str) -> Response:
        """``POST issue/{key}/attachments``: multipart ``file`` parts, behind Jira's XSRF check."""
        if (request.headers.get("x-atlassian-token") or "").lower() not in ("no-check", "nocheck"):
            return Response(403, b"XSRF check failed", [("Content-Type", "text/plain")])
        issue = self.context.data.issue(key_or_id)
        if issue is None or issue.project not in self.visible_projects:
            return _errors(404, [ISSUE_NOT_FOUND])
        files = _multipart_files(request)
        if not files:
            return _errors(400, ["No file was attached: send multipart form data with 'file'."])
        if self.context.caller is None:  # handle() only lets authenticated writes through
            return unauthorized()
        moment = datetime.fromtimestamp(self.context.now, timezone.utc)
        added = [
            self.context.data.add_attachment(
                issue_id=issue.id,
                filename=filename,
                mime_type=mime_type,
                content=content,
                author=self.context.caller.key,
                created=moment,
            )
            for filename, mime_type, content in files
        ]
        return json_response(200, [self.render.attachment(item) for item in added])

    def attachment(self, attachment_id: str) -> Response:
        attachment = self.context.data.attachment(attachment_id)
        issue = self.context.data.issue(attachment.issue_id) if attachment else None
        if attachment is None or issue is None or issue.project not in self.visible_projects:
            return _errors(404, [f"The attachment with id '{attachment_id}' does not exist"])
        return json_response(200, self.render.attachment(attachment))

    def search(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                payload = json.loads(request.body or b"{}")
            except ValueError:
                return _errors(400, ["Unexpected character in the request body: not valid JSON."])
            if not isinstance(payload, dict):
                return _errors(400, ["Expected a JSON object."])
            jql = payload.get("jql") or ""
            start_raw: Any = payload.get("startAt", 0)
            max_raw: Any = payload.get("maxResults", DEFAULT_MAX_RESULTS)
            fields_raw = payload.get("fields")
            fields = _field_selection(
                ",".join(fields_raw) if isinstance(fields_raw, list) else None
            )
        else:
            jql = request.query_value("jql") or ""
            start_raw = request.query_value("startAt") or 0
            max_raw = request.query_value("maxResults") or DEFAULT_MAX_RESULTS
            fields = _field_selection(request.query_value("fields"))
        try:
            start_at = max(0, int(start_raw))
            max_results = min(MAX_RESULTS_CAP, max(0, int(max_raw)))
        except (TypeError, ValueError):
            return _errors(400, ["startAt and maxResults must be integers."])
        caller = self.context.caller
        jql_context = JqlContext(
            data=self.context.data,
            current_user_key=caller.key if caller else None,
            resolve_user=self.context.resolve_user,
            visible_projects=self.visible_projects,
        )
        try:
            found = search(str(jql), jql_context)
        except JqlError as error:
            return _errors(400, [str(error)])
        page = found[start_at : start_at + max_results]
        projects = self.context.data.projects
        return json_response(
            200,
            {
                "expand": "schema,names",
                "startAt": start_at,
                "maxResults": max_results,
                "total": len(found),
                "issues": [self.render.issue(i, projects[i.project], fields) for i in page],
            },
        )


# id -> (name, schema type, JQL clause names, orderable): the system fields as Jira DC lists them.
FIELD_DEFINITIONS: dict[str, tuple[str, str, tuple[str, ...], bool]] = {
    "summary": ("Summary", "string", ("summary",), True),
    "issuetype": ("Issue Type", "issuetype", ("issuetype", "type"), True),
    "status": ("Status", "status", ("status",), False),
    "priority": ("Priority", "priority", ("priority",), True),
    "assignee": ("Assignee", "user", ("assignee",), True),
    "reporter": ("Reporter", "user", ("reporter",), True),
    "creator": ("Creator", "user", ("creator",), False),
    "project": ("Project", "project", ("project",), False),
    "created": ("Created", "datetime", ("created", "createdDate"), False),
    "updated": ("Updated", "datetime", ("updated", "updatedDate"), False),
    "description": ("Description", "string", ("description",), True),
    "labels": ("Labels", "array", ("labels",), True),
}


def _field(field_id: str) -> dict[str, Any]:
    name, kind, clauses, orderable = FIELD_DEFINITIONS[field_id]
    schema: dict[str, Any] = {"type": kind, "system": field_id}
    if kind == "array":
        schema["items"] = "string"
    return {
        "id": field_id,
        "name": name,
        "custom": False,
        "orderable": orderable,
        "navigable": True,
        "searchable": True,
        "clauseNames": list(clauses),
        "schema": schema,
    }


def _field_selection(raw: str | None) -> set[str] | None:
    """Jira's `fields` parameter: None (all), names, `*all`/`*navigable`, and `-name` exclusions."""
    if not raw:
        return None
    names = [name.strip() for name in raw.split(",") if name.strip()]
    everything = any(name.startswith("*") for name in names)
    excluded = {name[1:] for name in names if name.startswith("-")}
    if everything:
        chosen = set(ISSUE_FIELDS)
    else:
        chosen = {name for name in names if not name.startswith("-")}
    return chosen - excluded


def _named(ref: Any, choices: dict[str, str]) -> str | None:
    """Resolve `{"name": ...}` or `{"id": ...}` against a name -> id table."""
    if not isinstance(ref, dict):
        return None
    for name, item_id in choices.items():
        if str(ref.get("name", "")).lower() == name.lower() or str(ref.get("id", "")) == item_id:
            return name
    return None


def _multipart_files(request: Request) -> list[tuple[str, str, bytes]]:
    """The ``file`` parts of a multipart/form-data body: (filename, media type, bytes)."""
    content_type = request.headers.get("content-type", "")
    if request.media_type != "multipart/form-data":
        return []
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.message_from_bytes(head + request.body)
    files = []
    for part in message.walk():
        if part.get_param("name", header="content-disposition") != "file":
            continue
        content = part.get_payload(decode=True)
        files.append(
            (
                part.get_filename() or "attachment",
                part.get_content_type(),
                content if isinstance(content, bytes) else b"",
            )
        )
    return files
