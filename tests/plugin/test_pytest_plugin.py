"""The pytest plugin ``etcd3py.testing``, as a user's suite runs it (pytester sub-sessions).

Each test writes a user's test file and runs pytest on it in a subprocess, with the plugin
asked for (or not), against the reference server, a real etcd 3.5.1 member the sub-session
starts itself, and a running etcd given by endpoints; then reads the outcomes.
"""

from __future__ import annotations

import pytest

from tests.backends import BackendUnavailable, _etcd35_binary, running_etcd

pytestmark = pytest.mark.timeout(300)

#: A user's tests: every fixture and fault handle, in both faces.
USER_TESTS = """
import time

import pytest

from etcd3py import Client
from etcd3py.testing import EtcdHandle


def test_put_and_get(etcd_client):
    etcd_client.put("/app/k", "v")
    assert etcd_client.get("/app/k").kvs[0].value == b"v"


def test_a_watch_survives_dropped_streams(etcd, etcd_client):
    seen = []
    handle = etcd_client.add_watch_callback("/jobs/", seen.append, prefix=True)
    try:
        etcd_client.put("/jobs/1", "a")
        assert etcd.drop_streams() >= 1
        etcd_client.put("/jobs/2", "b")
        deadline = time.monotonic() + 20
        while len([e for r in seen for e in r.events]) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        keys = [e.kv.key for r in seen for e in r.events]
        assert keys == [b"/jobs/1", b"/jobs/2"]
    finally:
        handle.close()


def test_restart_keeps_the_data(etcd, etcd_client):
    etcd_client.put("/kept", "yes")
    etcd.restart()
    assert etcd_client.get("/kept", timeout=20).kvs[0].value == b"yes"


def test_a_cut_heals(etcd, etcd_client):
    etcd_client.put("/a", "1")
    assert etcd.cut_connections(0.3) >= 1
    assert etcd_client.get("/a", timeout=20).kvs[0].value == b"1"


def test_an_outage_fails_calls_until_it_ends(etcd):
    client = etcd.client()
    client.put("/o", "1")
    with etcd.outage():
        with pytest.raises(Exception):
            client.get("/o", timeout=0.5)
    assert client.get("/o", timeout=20).kvs[0].value == b"1"


def test_expire_lease_deletes_its_keys(etcd, etcd_client):
    lease = etcd_client.grant(60)
    etcd_client.put("/leased", "x", lease=lease.id)
    assert etcd.expire_lease(lease.id)
    assert etcd_client.get("/leased").kvs == []
    assert not etcd.expire_lease(lease.id)


def test_the_prefix_is_the_tests_own(etcd, etcd_client):
    etcd_client.put("/mine", "1")
    if etcd.prefix:
        with Client(endpoints=etcd.server_endpoints) as raw:
            assert raw.get(etcd.prefix + "/mine").kvs[0].value == b"1"
    assert isinstance(etcd, EtcdHandle)


@pytest.mark.asyncio
async def test_the_aio_client(etcd_aio_client):
    await etcd_aio_client.put("/aio", "1")
    assert (await etcd_aio_client.get("/aio")).kvs[0].value == b"1"


def test_the_session_etcd(etcd_session):
    with etcd_session.client() as client:
        client.put("/session", "1")
        assert client.get("/session").kvs[0].value == b"1"
"""

#: Run after USER_TESTS in the same session: what they left on a shared etcd.
LEFT_BEHIND = """
from etcd3py import Client


def test_zz_nothing_left_under_the_test_prefixes(etcd):
    if not etcd.prefix:
        return  # an etcd of its own: nothing shared to leave behind
    with Client(endpoints=etcd.server_endpoints) as raw:
        assert raw.get("/etcd3py-test/", prefix=True, count_only=True).count == 0
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=USER_TESTS, test_zz_left=LEFT_BEHIND)
    return pytester.runpytest_subprocess("-p", "etcd3py.testing", *args)


def test_without_the_plugin_there_is_no_etcd_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(etcd):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'etcd' not found*"])


def test_on_the_reference_server(pytester: pytest.Pytester) -> None:
    result = _run(pytester)
    result.stdout.fnmatch_lines(["etcd3py.testing: a reference server (testserver) per test"])
    result.assert_outcomes(passed=10)


def test_on_a_real_etcd_the_run_starts(pytester: pytest.Pytester) -> None:
    try:
        binary, _ = _etcd35_binary()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    result = _run(pytester, "--etcd=binary", f"--etcd-binary={binary}")
    result.stdout.fnmatch_lines(["etcd3py.testing: one real etcd member from *"])
    result.assert_outcomes(passed=10)


def test_on_a_running_etcd_given_by_endpoints(pytester: pytest.Pytester) -> None:
    try:
        binary, _ = _etcd35_binary()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    with running_etcd(binary, "etcd35") as running:
        result = _run(pytester, "-rs", f"--etcd-endpoints={','.join(running.endpoints)}")
    result.stdout.fnmatch_lines(["etcd3py.testing: etcd at *"])
    result.assert_outcomes(passed=9, skipped=1)  # this run did not start it: no restart()
    result.stdout.fnmatch_lines(["*cannot restart an etcd given by --etcd-endpoints*"])


def test_the_ini_file_picks_the_etcd(pytester: pytest.Pytester) -> None:
    try:
        binary, _ = _etcd35_binary()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    pytester.makeini(f"[pytest]\netcd = binary\netcd_binary = {binary}\n")
    result = _run(pytester)
    result.stdout.fnmatch_lines([f"etcd3py.testing: one real etcd member from {binary}"])
    result.assert_outcomes(passed=10)


def test_a_bad_mode_in_the_ini_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\netcd = docker\n")
    pytester.makepyfile("def test_it(etcd):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "etcd3py.testing")
    result.stderr.fnmatch_lines(
        ["*etcd = 'docker' (ini): choose one of reference, binary, endpoints*"]
    )
    assert result.ret != 0


def test_endpoints_mode_needs_endpoints(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(etcd):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "etcd3py.testing", "--etcd=endpoints")
    result.stderr.fnmatch_lines(["*--etcd=endpoints needs --etcd-endpoints=HOST:PORT,...*"])
    assert result.ret != 0
