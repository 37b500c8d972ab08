"""The example site's home page, as a ``django.test.TestCase`` on the kit's ``TestCase`` helpers."""

from __future__ import annotations

from typing import ClassVar

import pytest
from django.test import override_settings

from example_project.demo.views import LinkPanel
from jira_connect.exceptions import ReauthorizationRequired
from jira_connect.models import JiraConnection, JiraLink
from jira_connect.testing.testcases import JiraSimulatorTestCase
from tests.example import example_site


@override_settings(**example_site())
class HomePageTests(JiraSimulatorTestCase):
    jira_simulator_options = {"context_path": "/jira", "server_title": "Acme Jira"}
    link: ClassVar[JiraLink]

    @classmethod
    def setUpTestData(cls) -> None:
        cls.link = cls.create_jira_link(name="Acme Jira", slug="acme")

    def panels(self, connection: JiraConnection) -> list[LinkPanel]:
        self.client.force_login(connection.user)
        response = self.client.get("/")
        assert response.status_code == 200
        return response.context["panels"]

    def test_link_on_the_simulator(self) -> None:
        assert self.link.base_url == self.jira_simulator.base_url
        assert self.link.base_url.endswith("/jira")

    def test_connected_user_sees_their_issues(self) -> None:
        connection = self.connect_jira_user(self.link)
        assert connection.jira_name == "alice"
        [panel] = self.panels(connection)
        assert panel.issues
        assert panel.problem == ""

    def test_expired_connection_refreshes_once(self) -> None:
        connection = self.connect_jira_user(self.link)
        self.expire_jira_connection(connection)
        assert self.panels(connection)[0].issues
        assert self.panels(connection)[0].issues
        assert self.jira_simulator.token_requests(grant_type="refresh_token") == 1

    def test_revoked_grant_must_reconnect(self) -> None:
        connection = self.connect_jira_user(self.link, jira_user="bob")
        self.revoke_jira_grant(connection)
        with pytest.raises(ReauthorizationRequired):
            connection.session().get("rest/api/2/myself")
        connection.refresh_from_db()
        assert connection.get_status_display() == "Must reconnect"

    def test_each_test_starts_with_a_clean_simulator(self) -> None:
        # setUp resets the simulator: no request of another test is counted here, and the
        # link registered in setUpTestData is still known to it.
        assert self.jira_simulator.requests == []
        client = self.jira_simulator.client(self.link.client_id)
        assert client.client_secret == self.link.client_secret
