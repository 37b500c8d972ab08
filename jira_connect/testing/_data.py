"""The simulator's small Jira: users, three projects, fifteen issues, and their JSON shapes.

The data are fixed (dates included) so that searches and orderings are deterministic in tests,
and realistic enough that the demo looks like a real instance. Every simulator gets its own copy
because `POST /issue` adds to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from jira_connect.testing._models import SimulatedUser

JSON = dict[str, Any]

BUILTIN_USERS: tuple[SimulatedUser, ...] = (
    SimulatedUser(
        key="JIRAUSER10000",
        name="alice",
        display_name="Alice Example",
        email="alice@example.com",
        time_zone="Europe/London",
    ),
    SimulatedUser(
        key="JIRAUSER10001",
        name="bob",
        display_name="Bob Example",
        email="bob@example.com",
        time_zone="America/New_York",
    ),
)

# name -> (id, category key, category name, category colour), as a default Jira workflow has them.
STATUSES: dict[str, tuple[str, str, str, str]] = {
    "To Do": ("10000", "new", "To Do", "blue-gray"),
    "In Progress": ("3", "indeterminate", "In Progress", "yellow"),
    "Done": ("10001", "done", "Done", "green"),
}
PRIORITIES: dict[str, str] = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
ISSUE_TYPES: dict[str, str] = {"Bug": "10004", "Task": "10002", "Story": "10001"}

# The fields an issue has here, in the order Jira lists them.
ISSUE_FIELDS: tuple[str, ...] = (
    "summary",
    "issuetype",
    "status",
    "priority",
    "assignee",
    "reporter",
    "creator",
    "project",
    "created",
    "updated",
    "description",
    "labels",
)

_EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


@dataclass
class Project:
    id: str
    key: str
    name: str
    lead: str
    description: str


@dataclass
class Issue:
    id: str
    key: str
    project: str
    summary: str
    issuetype: str
    status: str
    priority: str
    assignee: str | None
    reporter: str
    created: datetime
    updated: datetime
    description: str = ""
    labels: list[str] = field(default_factory=list)


@dataclass
class Attachment:
    """A file attached to an issue; `content` is every byte Jira received."""

    id: str
    issue_id: str
    filename: str
    mime_type: str
    content: bytes
    author: str
    created: datetime


@dataclass
class DataSet:
    projects: dict[str, Project]
    issues: list[Issue]
    attachments: list[Attachment] = field(default_factory=list)

    def project(self, key_or_id: str) -> Project | None:
        for project in self.projects.values():
            if key_or_id.upper() == project.key or key_or_id == project.id:
                return project
        return None

    def issue(self, key_or_id: str) -> Issue | None:
        for issue in self.issues:
            if key_or_id.upper() == issue.key or key_or_id == issue.id:
                return issue
        return None

    def add_issue(self, **values: Any) -> Issue:
        """Create an issue with the next id and the next key number of its project."""
        project: str = values["project"]
        number = 1 + sum(1 for issue in self.issues if issue.project == project)
        next_id = 1 + max((int(issue.id) for issue in self.issues), default=10099)
        issue = Issue(id=str(next_id), key=f"{project}-{number}", **values)
        self.issues.append(issue)
        return issue

    def attachment(self, attachment_id: str) -> Attachment | None:
        return next((item for item in self.attachments if item.id == attachment_id), None)

    def add_attachment(self, **values: Any) -> Attachment:
        attachment = Attachment(id=str(10000 + len(self.attachments)), **values)
        self.attachments.append(attachment)
        return attachment


# (project, type, status, priority, assignee name or None, summary, day offset of the last update)
# fmt: off
_ISSUES: tuple[tuple[str, str, str, str, str | None, str, int], ...] = (
    ("ACME", "Bug", "In Progress", "High", "alice",
     "Checkout fails when the basket contains a gift card", 31),
    ("ACME", "Story", "To Do", "Medium", "bob", "Add Apple Pay to the checkout", 12),
    ("ACME", "Task", "Done", "Medium", "alice", "Upgrade the payment SDK to 4.x", 9),
    ("ACME", "Bug", "To Do", "Low", None, "Product images load slowly on category pages", 15),
    ("ACME", "Story", "In Progress", "Medium", "alice",
     "Show delivery estimates on the product page", 33),
    ("ACME", "Bug", "Done", "High", "bob", "Discount codes are case-sensitive", 20),
    ("OPS", "Task", "To Do", "Highest", "bob", "Renew the TLS certificate for shop.acme.example", 34),
    ("OPS", "Task", "In Progress", "Medium", "bob",
     "Move nightly backups to the new storage bucket", 27),
    ("OPS", "Bug", "To Do", "Low", "alice", "Disk usage alert fires twice for the same volume", 18),
    ("OPS", "Task", "Done", "Lowest", None, "Document the on-call escalation policy", 11),
    ("OPS", "Bug", "In Progress", "High", "alice", "Staging deploys time out after 10 minutes", 29),
    ("MOB", "Story", "To Do", "Medium", "alice", "Offline mode for the order history screen", 22),
    ("MOB", "Bug", "In Progress", "Highest", "bob", "App crashes on launch on Android 9", 35),
    ("MOB", "Task", "To Do", "Low", None, "Update onboarding screenshots for the app stores", 25),
    ("MOB", "Story", "Done", "Medium", "bob", "Push notification when an order ships", 24),
)
# fmt: on


def build_dataset(users: Iterable[SimulatedUser] = BUILTIN_USERS) -> DataSet:
    """Return a fresh copy of the built-in projects and issues."""
    key_of = {user.name: user.key for user in users}
    alice, bob = key_of.get("alice", "JIRAUSER10000"), key_of.get("bob", "JIRAUSER10001")
    projects = {
        "ACME": Project("10000", "ACME", "Acme Web Store", alice, "The public web shop."),
        "OPS": Project("10001", "OPS", "Operations", bob, "Infrastructure and on-call work."),
        "MOB": Project("10002", "MOB", "Mobile App", alice, "The iOS and Android apps."),
    }
    data = DataSet(projects=projects, issues=[])
    for index, (project, kind, status, priority, assignee, summary, day) in enumerate(_ISSUES):
        created = _EPOCH + timedelta(days=index, hours=index % 5)
        data.add_issue(
            project=project,
            summary=summary,
            issuetype=kind,
            status=status,
            priority=priority,
            assignee=key_of.get(assignee) if assignee else None,
            reporter=alice if index % 2 == 0 else bob,
            created=created,
            updated=_EPOCH + timedelta(days=day, hours=(index * 7) % 9, minutes=index * 3),
            description=f"{summary}. Reported through the simulator's demo data set.",
        )
    return data


def jira_datetime(moment: datetime) -> str:
    """Format a datetime the way Jira's REST API does: 2025-01-14T09:21:33.000+0000."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


@dataclass(frozen=True)
class Renderer:
    """Turns data-set objects into Jira's JSON, with `self` links on the advertised base URL."""

    base: str
    user_by_key: Callable[[str], SimulatedUser | None]
    hidden_email: str = "omit"

    def avatar_urls(self, kind: str, avatar_id: int) -> dict[str, str]:
        url = f"{self.base}/secure/{kind}avatar?avatarId={avatar_id}"
        return {
            size: f"{url}&size={name}"
            for size, name in (
                ("48x48", "large"),
                ("24x24", "small"),
                ("16x16", "xsmall"),
                ("32x32", "medium"),
            )
        }

    def user(self, user: SimulatedUser) -> JSON:
        body: JSON = {
            "self": f"{self.base}/rest/api/2/user?username={user.name}",
            "key": user.key,
            "name": user.name,
        }
        if user.email_visible:
            body["emailAddress"] = user.email
        elif self.hidden_email == "empty":
            body["emailAddress"] = ""
        body.update(
            {
                "avatarUrls": self.avatar_urls("user", 10122),
                "displayName": user.display_name,
                "active": user.active,
                "deleted": False,
                "timeZone": user.time_zone,
                "locale": user.locale,
            }
        )
        return body

    def myself(self, user: SimulatedUser, *, expand: Iterable[str] = ()) -> JSON:
        expand = set(expand)
        groups = [
            {"name": g, "self": f"{self.base}/rest/api/2/group?groupname={g}"} for g in user.groups
        ]
        roles = [{"key": "jira-software", "name": "Jira Software"}]
        body = self.user(user)
        body["groups"] = {"size": len(groups), "items": groups if "groups" in expand else []}
        body["applicationRoles"] = {
            "size": len(roles),
            "items": roles if "applicationRoles" in expand else [],
        }
        body["expand"] = "groups,applicationRoles"
        return body

    def project(self, project: Project, *, full: bool = False) -> JSON:
        body: JSON = {
            "expand": "description,lead,url,projectKeys",
            "self": f"{self.base}/rest/api/2/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "avatarUrls": self.avatar_urls("project", 10324),
            "projectTypeKey": "software",
            "archived": False,
        }
        if full:
            lead = self.user_by_key(project.lead)
            body["description"] = project.description
            body["lead"] = self.user(lead) if lead else None
            body["issueTypes"] = [self.issuetype(name) for name in ISSUE_TYPES]
        return body

    def issuetype(self, name: str) -> JSON:
        type_id = ISSUE_TYPES[name]
        return {
            "self": f"{self.base}/rest/api/2/issuetype/{type_id}",
            "id": type_id,
            "description": f"A {name.lower()}.",
            "iconUrl": f"{self.base}/secure/viewavatar?size=xsmall&avatarId={type_id}",
            "name": name,
            "subtask": False,
        }

    def status(self, name: str) -> JSON:
        status_id, category_key, category_name, colour = STATUSES[name]
        category_id = {"new": 2, "indeterminate": 4, "done": 3}[category_key]
        return {
            "self": f"{self.base}/rest/api/2/status/{status_id}",
            "description": "",
            "iconUrl": f"{self.base}/images/icons/status_generic.gif",
            "name": name,
            "id": status_id,
            "statusCategory": {
                "self": f"{self.base}/rest/api/2/statuscategory/{category_id}",
                "id": category_id,
                "key": category_key,
                "colorName": colour,
                "name": category_name,
            },
        }

    def priority(self, name: str) -> JSON:
        priority_id = PRIORITIES[name]
        return {
            "self": f"{self.base}/rest/api/2/priority/{priority_id}",
            "iconUrl": f"{self.base}/images/icons/priorities/{name.lower()}.svg",
            "name": name,
            "id": priority_id,
        }

    def attachment(self, attachment: Attachment) -> JSON:
        return {
            "self": f"{self.base}/rest/api/2/attachment/{attachment.id}",
            "id": attachment.id,
            "filename": attachment.filename,
            "author": self._person(attachment.author),
            "created": jira_datetime(attachment.created),
            "size": len(attachment.content),
            "mimeType": attachment.mime_type,
            "content": f"{self.base}/secure/attachment/{attachment.id}/{attachment.filename}",
        }

    def _person(self, key: str | None) -> JSON | None:
        user = self.user_by_key(key) if key else None
        return self.user(user) if user else None

    def issue(self, issue: Issue, project: Project, fields: set[str] | None = None) -> JSON:
        """Render an issue; `fields` None means every field."""
        all_fields: dict[str, Callable[[], Any]] = {
            "summary": lambda: issue.summary,
            "issuetype": lambda: self.issuetype(issue.issuetype),
            "status": lambda: self.status(issue.status),
            "priority": lambda: self.priority(issue.priority),
            "assignee": lambda: self._person(issue.assignee),
            "reporter": lambda: self._person(issue.reporter),
            "creator": lambda: self._person(issue.reporter),
            "project": lambda: self.project(project),
            "created": lambda: jira_datetime(issue.created),
            "updated": lambda: jira_datetime(issue.updated),
            "description": lambda: issue.description,
            "labels": lambda: list(issue.labels),
        }
        chosen = (
            all_fields if fields is None else {k: all_fields[k] for k in fields if k in all_fields}
        )
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue.id,
            "self": f"{self.base}/rest/api/2/issue/{issue.id}",
            "key": issue.key,
            "fields": {name: make() for name, make in chosen.items()},
        }
