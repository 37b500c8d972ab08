from tests.flow.conftest import browser, jira, link, user  # noqa: F401
