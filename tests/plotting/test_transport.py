"""HTTP transport to a Visdom server: strict JSON, timeouts, and the two
failures (no answer, refused) told apart."""
import json
from unittest import mock

import pytest
import requests

from moevae.plotting.transport import (
    CONNECT_TIMEOUT_S,
    RequestRefused,
    ServerDown,
    Transport,
)
from tests.support.helpers import free_port


def answer(status=200, text="ok", reason="OK"):
    response = mock.create_autospec(requests.Response, instance=True)
    response.status_code, response.text, response.reason = (status, text,
                                                             reason)
    return response


@pytest.fixture
def session():
    fake = mock.create_autospec(requests.Session, instance=True)
    fake.post.return_value = answer()
    fake.get.return_value = answer()
    with mock.patch("moevae.plotting.transport.requests.Session",
                    return_value=fake):
        yield fake


def test_a_message_goes_out_as_strict_json_with_timeouts(session):
    transport = Transport("http://localhost", 8097, timeout=3.0)
    assert transport.post("events", {"x": float("nan"), "y": [1, float(
        "inf")]}) == "ok"
    url, = session.post.call_args.args
    assert url == "http://localhost:8097/events"
    assert json.loads(session.post.call_args.kwargs["data"]) == {
        "x": None, "y": [1, None]}
    assert session.post.call_args.kwargs["timeout"] == (CONNECT_TIMEOUT_S,
                                                        3.0)


def test_login_posts_the_hashed_password_once(session):
    transport = Transport("localhost", 9000, username="me", password="pw")
    transport.get("env/main")
    transport.get()
    login = session.post.call_args_list
    assert len(login) == 1
    assert login[0].kwargs["json"] == {
        "username": "me", "password": "30c952fab122c3f9759f02a6d95c3758b2"
        "46b4fee239957b2d4fee46e26170c4"}
    assert [call.args[0] for call in session.get.call_args_list] == [
        "http://localhost:9000/env/main", "http://localhost:9000/"]


@pytest.mark.parametrize("status", [400, 404, 500])
def test_an_http_error_is_refused_with_its_status(session, status):
    session.post.return_value = answer(status, reason="Bad")
    with pytest.raises(RequestRefused) as error:
        Transport("http://h", 1).post("events", {})
    assert error.value.status == status
    assert str(error.value) == f"HTTP {status} Bad from http://h:1/events"


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_proxy_answering_for_a_dead_server_means_down(session, status):
    session.post.return_value = answer(status, reason="")
    transport = Transport("http://h", 1)
    with pytest.raises(ServerDown, match=rf"^HTTP {status} from http://h:1"):
        transport.post("events", {})
    assert transport._session is None  # a new session next time


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_login_logs_in_again_next_time(session, status):
    transport = Transport("http://h", 1, username="me", password="pw")
    session.get.return_value = answer(status, reason="No")
    with pytest.raises(RequestRefused):
        transport.get()
    session.get.return_value = answer()
    transport.get()
    assert session.post.call_count == 2  # two logins


@pytest.mark.parametrize("error, reason", [
    (requests.Timeout(), "timed out"),
    (requests.ConnectionError(), "connection refused or lost"),
    (requests.TooManyRedirects(), "TooManyRedirects")])
def test_no_answer_is_server_down(session, error, reason):
    session.post.side_effect = error
    with pytest.raises(ServerDown, match=f"^{reason}$"):
        Transport("http://h", 1).post("events", {})


def test_a_value_json_cannot_hold_is_a_type_error_before_sending(session):
    with pytest.raises(TypeError):
        Transport("http://h", 1).post("events", {"x": object()})
    session.post.assert_not_called()


def test_nothing_listening_is_server_down_in_one_line():
    with pytest.raises(ServerDown, match="^connection refused or lost$"):
        Transport("http://127.0.0.1", free_port(), timeout=1).get()

