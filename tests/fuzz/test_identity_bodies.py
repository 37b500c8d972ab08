"""``fetch_identity`` (``GET /rest/api/2/myself``) against anything Jira can answer.

Property: a ``JiraIdentity`` with a non-empty ``str`` key, only for a 2xx that
was not answered anonymously (invariant 9), or one of the app's exceptions;
never another exception, and never the access token in what an exception shows.
"""

from __future__ import annotations

import responses
from hypothesis import given
from hypothesis import strategies as st

from jira_connect.exceptions import (
    JiraAPIError,
    JiraAuthenticationFailed,
    JiraConnectError,
    JiraUnavailable,
)
from jira_connect.oauth import JiraIdentity, fetch_identity
from tests.fuzz.answers import Answer, answers, field_values
from tests.fuzz.strategies import header_text
from tests.oauth import ACCESS_TOKEN, MYSELF_URL, make_client, text_of

#: The only secret ``fetch_identity`` holds (the client secret is not sent to ``/myself``).
SECRETS = (ACCESS_TOKEN,)


def identity_objects() -> st.SearchStrategy[dict[str, object]]:
    """Objects shaped like ``/myself`` answers (and Jira error bodies), every field possibly wrong."""
    values = field_values(SECRETS)
    return st.fixed_dictionaries(
        {},
        optional={
            "key": st.one_of(st.sampled_from(["JIRAUSER10000", "alice", ""]), values),
            "name": st.one_of(st.just("alice"), values),
            "displayName": values,
            "emailAddress": values,
            "active": st.one_of(st.booleans(), values),
            "self": values,
            "accountId": values,  # what Cloud sends instead of a key
            "errorMessages": st.one_of(st.lists(values, max_size=3), values),
            "errors": values,
            "message": values,
        },
    ).flatmap(
        lambda known: st.dictionaries(st.text(max_size=12), values, max_size=3).map(
            lambda junk: {**junk, **known}
        )
    )


identity_answers = st.builds(
    lambda answer, anonymous: (
        answer
        if anonymous is None
        else Answer(
            answer.status,
            answer.body,
            answer.content_type,
            {**answer.headers, "X-AUSERNAME": anonymous},
        )
    ),
    answers(SECRETS, identity_objects()),
    st.one_of(
        st.none(), st.sampled_from(["anonymous", " Anonymous ", "ANONYMOUS", "alice"]), header_text
    ),
)


def check_error(err: JiraConnectError, answer: Answer) -> None:
    assert isinstance(err, (JiraAPIError, JiraUnavailable)), type(err)
    if isinstance(err, JiraAPIError) and not isinstance(err, JiraAuthenticationFailed):
        assert 400 <= answer.status < 500
    shown = text_of(err)
    for secret in SECRETS:
        assert secret not in shown, f"{secret!r} leaked in {type(err).__name__}: {err}"


@given(answer=identity_answers)
def test_fetch_identity_answers(answer: Answer) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        answer.serve(mock, "GET", MYSELF_URL)
        try:
            identity = fetch_identity(make_client(), ACCESS_TOKEN)
        except JiraConnectError as err:
            check_error(err, answer)
            return
        assert len(mock.calls) == 1
    assert isinstance(identity, JiraIdentity)
    assert 200 <= answer.status < 300, f"an identity from an HTTP {answer.status}"
    anonymous = answer.headers.get("X-AUSERNAME", "").strip().lower() == "anonymous"
    assert not anonymous, "an anonymous answer taken as the user's identity"
    assert isinstance(identity.key, str)
    assert identity.key
    for value in (identity.name, identity.display_name, identity.email):
        assert isinstance(value, str)
