import ctypes
import gc
import os
import pathlib
import re
import subprocess
import sys
import threading
import time

import pytest

import passwdpop
from passwdpop import _native
from conftest import BINDING, TOP, crypt

SECRET = "Tr0ub4dor&3-secret"


def run_python(code, **env):
    """Runs code in a fresh interpreter (a process of its own: a library
    load, a file size limit) and returns (exit status, stderr)."""
    environment = dict(os.environ, PYTHONPATH=str(BINDING), **env)
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    return done.returncode, done.stderr


# -- version ----------------------------------------------------------------


def test_version_is_the_library_s_and_the_packages():
    cargo = (TOP / "Cargo.toml").read_text()
    crate_version = re.search(r'^version = "(.*)"', cargo, re.M).group(1)
    pyproject = (BINDING / "pyproject.toml").read_text()
    assert passwdpop.version() == crate_version
    assert passwdpop.__version__ == crate_version
    assert re.search(r'^version = "(.*)"', pyproject, re.M).group(1) == crate_version


def test_every_function_of_the_header_is_declared():
    header = (TOP / "include" / "passwdpop.h").read_text()
    functions = set(re.findall(r"^[a-z].*?\**(passwdpop\w*)\(", header, re.M))
    assert functions and functions == set(_native.PROTOTYPES)


# -- change and verify, end to end -------------------------------------------


@pytest.mark.parametrize(
    "password, sent",
    [
        (SECRET, SECRET.encode()),
        ("pässwörd ☃", "pässwörd ☃".encode("utf-8")),
        (b"\xff\xfe latin-1 \xe9t\xe9", b"\xff\xfe latin-1 \xe9t\xe9"),
        (bytearray(b"\x80\x81 in a bytearray"), b"\x80\x81 in a bytearray"),
    ],
    ids=["str", "non-ascii-str", "non-utf8-bytes", "non-utf8-bytearray"],
)
def test_change_writes_a_hash_crypt3_accepts(vmail, password, sent):
    vmail.domain("example.com", b"alice:old:1:0:99999:7:::\nbob:old:1:0:99999:7:::\n")
    passwdpop.change("example.com", "bob", password, root=vmail.root, rounds=1000)
    stored = vmail.hash_of("example.com", b"bob")
    assert stored.startswith(b"$6$rounds=1000$")
    assert crypt(sent, stored) == stored
    assert crypt(sent + b"x", stored) != stored
    assert vmail.read("example.com").startswith(b"alice:old:1:0:99999:7:::\n")
    assert passwdpop.verify("example.com", "bob@example.com", password, root=vmail.root) is True
    assert passwdpop.verify("example.com", "bob", sent + b"x", root=vmail.root) is False


def test_names_may_be_bytes_and_the_user_a_full_address(vmail):
    vmail.domain("example.com", b"bob:old:1\n")
    passwdpop.change(b"example.com", b"bob@example.com", b"pw-bytes", root=vmail.root.encode(), rounds=1000)
    assert passwdpop.verify("example.com", "bob", "pw-bytes", root=pathlib.Path(vmail.root))


def test_without_options_the_defaults_and_passwdpop_root_apply(vmail, monkeypatch):
    vmail.domain("example.com", b"bob:old:1\n")
    monkeypatch.setenv("PASSWDPOP_ROOT", vmail.root)
    passwdpop.change("example.com", "bob", SECRET)
    stored = vmail.hash_of("example.com", b"bob")
    assert stored.startswith(b"$6$rounds=5000$")  # the default rounds
    assert crypt(SECRET.encode(), stored) == stored
    assert passwdpop.verify("example.com", "bob", SECRET)


@pytest.mark.parametrize("layout", ["passwd-file", passwdpop.LAYOUT_PASSWD_FILE])
def test_passwd_file_layout_keeps_the_other_fields(vmail, layout):
    vmail.domain("example.com", b"bob:{SHA512-CRYPT}old:1000:1000::/home/bob::\n")
    passwdpop.change("example.com", "bob", SECRET, root=vmail.root, layout=layout, rounds=1000)
    line = vmail.read("example.com")
    assert line.startswith(b"bob:{SHA512-CRYPT}$6$rounds=1000$")
    assert line.endswith(b":1000:1000::/home/bob::\n")


def test_bytearray_is_left_as_it_was_and_resizable_again(vmail):
    vmail.domain("example.com", b"bob:old:1\n")
    password = bytearray(b"in-place")
    passwdpop.change("example.com", "bob", password, root=vmail.root, rounds=1000)
    assert password == b"in-place"
    password.extend(b"-more")  # the buffer export ended with the call
    password[:] = bytes(len(password))
    assert password == bytes(13)


def test_a_suspended_entry_never_verifies(vmail):
    vmail.domain("example.com", b"bob:!" + crypt(b"pw", b"$6$salt") + b":1\n")
    assert passwdpop.verify("example.com", "bob", "pw", root=vmail.root) is False


# -- account operations and batches --------------------------------------------


def test_add_suspend_unsuspend_set_hash_remove(vmail):
    vmail.domain("example.com", b"bob:old:1:0:99999:7:::\n")
    o = dict(root=vmail.root, rounds=1000)
    passwdpop.add("example.com", "Carol", b"\xffcarol-pw", **o)
    stored = vmail.hash_of("example.com", b"carol")  # stored lower-cased
    assert crypt(b"\xffcarol-pw", stored) == stored
    assert vmail.read("example.com").startswith(b"bob:old:1:0:99999:7:::\ncarol:")
    assert passwdpop.verify("example.com", "carol", b"\xffcarol-pw", root=vmail.root)
    for _ in range(2):  # suspending twice still leaves one '!'
        passwdpop.suspend("example.com", "carol", **o)
        assert vmail.hash_of("example.com", b"carol") == b"!" + stored
    assert not passwdpop.verify("example.com", "carol", b"\xffcarol-pw", root=vmail.root)
    passwdpop.unsuspend("example.com", "carol", **o)
    assert vmail.hash_of("example.com", b"carol") == stored
    assert passwdpop.verify("example.com", "carol", b"\xffcarol-pw", root=vmail.root)
    given = crypt(b"migrated", b"$5$saltsalt")  # a migration keeps any crypt(3) scheme
    passwdpop.set_hash("example.com", "carol", given.decode(), **o)
    assert vmail.hash_of("example.com", b"carol") == given
    assert passwdpop.verify("example.com", "carol", "migrated", root=vmail.root)
    passwdpop.remove("example.com", "carol@example.com", **o)
    assert vmail.read("example.com") == b"bob:old:1:0:99999:7:::\n"
    with pytest.raises(passwdpop.Error) as caught:
        passwdpop.verify("example.com", "carol", "migrated", root=vmail.root)
    assert caught.value.name == "NO_SUCH_ACCOUNT"


def test_wait_visible_returns_in_the_second_after_the_rename(vmail):
    vmail.domain("example.com", b"bob:old:1\n")
    for _ in range(2):
        passwdpop.change("example.com", "bob", SECRET, root=vmail.root, rounds=1000, wait_visible=True)
        returned = time.time()
        renamed = os.stat(os.path.join(vmail.root, "example.com", "shadow")).st_ctime
        assert int(returned) > int(renamed), (returned, renamed)
    passwdpop.add("example.com", "carol", SECRET, root=vmail.root, wait_visible=True)
    assert int(time.time()) > int(os.stat(os.path.join(vmail.root, "example.com", "shadow")).st_ctime)


def test_a_batch_applies_what_it_can_and_says_what_it_could_not(vmail):
    vmail.domain("one.example", b"bob:old:1\nann:old:1\n")
    vmail.domain("two.example", b"bob:old:1\n")
    given = crypt(b"given", b"$6$saltsalt")
    with passwdpop.Batch(root=vmail.root, rounds=1000, threads=2) as batch:
        password = bytearray(b"pw-one")
        batch.add("one.example", "bob", password)
        password[:] = bytes(len(password))  # the batch holds its own copy
        batch.add_hash("one.example", "ann", given)
        batch.add("two.example", "carol", "pw-two")
        batch.add("two.example", "bob", "pw-two")
        with pytest.raises(passwdpop.Error) as refused:
            batch.add("bad..example", "bob", "must-never-show")
        assert refused.value.name == "INVALID_DOMAIN" and "must-never" not in str(refused.value)
        assert len(batch) == 4  # the refused entry was not added
        assert batch.status(0).name == "INVALID_CONFIG"  # not committed yet
        with pytest.raises(passwdpop.Error) as caught:
            batch.commit()
        assert caught.value.name == "NO_SUCH_ACCOUNT" and "carol" in str(caught.value)
        outcomes = [batch.status(i) for i in range(len(batch))]
        assert [outcome and outcome.name for outcome in outcomes] == [None, None, "NO_SUCH_ACCOUNT", None]
        assert "carol" in str(outcomes[2])
        assert batch.status(4).name == "INVALID_CONFIG"
        with pytest.raises(IndexError):
            batch.status(-1)
        with pytest.raises(passwdpop.Error) as again:
            batch.commit()
        assert again.value.name == "INVALID_CONFIG"
    for domain, user, password in [("one.example", b"bob", b"pw-one"), ("two.example", b"bob", b"pw-two")]:
        stored = vmail.hash_of(domain, user)
        assert crypt(password, stored) == stored
    assert vmail.hash_of("one.example", b"ann") == given
    # A refused config: an Error, and nothing for __del__ to trip over.
    unraisable = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        with pytest.raises(passwdpop.Error) as refused:
            passwdpop.Batch(root="relative/dir")
        assert refused.value.name == "INVALID_CONFIG"
        del refused
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []
    # Freed: the library answers a NULL batch.
    assert len(batch) == 0
    with pytest.raises(passwdpop.Error) as freed:
        batch.commit()
    assert freed.value.name == "NULL_ARGUMENT"


# -- every status code -------------------------------------------------------

BAD_PASSWORD = "must-never-show-" + "x" * 600


def _status_cases(vmail):
    """(expected name, call that must fail with it, text the message holds)."""
    vmail.domain("example.com", b"bob:old:1\n")
    vmail.domain("twice.example", b"bob:a:1\nBOB:b:1\n")
    vmail.domain("locked.example", b"bob:a:1\n")
    with open(os.path.join(vmail.root, "locked.example", "shadow.lock"), "w") as lock:
        lock.write("%d\n" % os.getpid())
    os.symlink(os.path.join(vmail.root, "example.com"), os.path.join(vmail.root, "link.example"))
    root = vmail.root
    change = passwdpop.change
    return [
        ("NULL_ARGUMENT", lambda: change(None, "bob", SECRET, root=root), "domain"),
        ("NULL_ARGUMENT", lambda: passwdpop.verify("example.com", "bob", None, root=root), "password"),
        ("INVALID_DOMAIN", lambda: change("-bad.example", "bob", SECRET, root=root), "-bad.example"),
        ("INVALID_DOMAIN", lambda: change("a\0.example", "bob", SECRET, root=root), "NUL"),
        ("INVALID_USER", lambda: change("example.com", "bo:b", SECRET, root=root), "bo:b"),
        ("INVALID_USER", lambda: change("example.com", b"bo\0b", SECRET, root=root), "NUL"),
        ("INVALID_PASSWORD", lambda: change("example.com", "bob", "", root=root), "empty"),
        ("INVALID_PASSWORD", lambda: change("example.com", "bob", BAD_PASSWORD, root=root), "511"),
        ("INVALID_PASSWORD", lambda: change("example.com", "bob", "must-never\0-show", root=root), "NUL"),
        ("INVALID_PASSWORD", lambda: change("example.com", "bob", bytearray(b"must\0"), root=root), "NUL"),
        ("INVALID_PASSWORD", lambda: change("example.com", "bob", "must\ud800", root=root), "surrogate"),
        ("INVALID_CONFIG", lambda: change("example.com", "bob", SECRET, root=root, rounds=999), "999"),
        ("INVALID_CONFIG", lambda: change("example.com", "bob", SECRET, root=root, rounds=-1), "-1"),
        ("INVALID_CONFIG", lambda: change("example.com", "bob", SECRET, root="relative/dir"), "relative"),
        ("INVALID_CONFIG", lambda: change("example.com", "bob", SECRET, root=root, layout=2), "2"),
        ("INVALID_CONFIG", lambda: change("example.com", "bob", SECRET, root=root, layout="ldap"), "ldap"),
        ("INVALID_CONFIG", lambda: change("example.com", "bob", SECRET, root=root, lock_timeout_ms=2**32), "4294967296"),
        ("NO_SUCH_DOMAIN", lambda: change("missing.example", "bob", SECRET, root=root), "missing.example"),
        ("NO_SUCH_ACCOUNT", lambda: change("example.com", "carol", SECRET, root=root), "carol"),
        ("NO_SUCH_ACCOUNT", lambda: passwdpop.verify("example.com", "carol", SECRET, root=root), "carol"),
        ("AMBIGUOUS_ACCOUNT", lambda: change("twice.example", "bob", SECRET, root=root), "bob"),
        ("UNSAFE_PATH", lambda: change("link.example", "bob", SECRET, root=root), "link.example"),
        ("LOCK_TIMEOUT", lambda: change("locked.example", "bob", SECRET, root=root, lock_timeout_ms=0), "lock"),
        ("ACCOUNT_EXISTS", lambda: passwdpop.add("example.com", "BOB", SECRET, root=root), "BOB"),
        ("NO_SUCH_DOMAIN", lambda: passwdpop.add("missing.example", "bob", SECRET, root=root), "missing.example"),
        ("INVALID_PASSWORD", lambda: passwdpop.add("example.com", "new", "", root=root), "empty"),
        ("NO_SUCH_ACCOUNT", lambda: passwdpop.remove("example.com", "carol", root=root), "carol"),
        ("NO_SUCH_ACCOUNT", lambda: passwdpop.suspend("example.com", "carol", root=root), "carol"),
        ("NO_SUCH_ACCOUNT", lambda: passwdpop.unsuspend("example.com", "carol", root=root), "carol"),
        ("AMBIGUOUS_ACCOUNT", lambda: passwdpop.remove("twice.example", "bob", root=root), "bob"),
        ("INVALID_HASH", lambda: passwdpop.set_hash("example.com", "bob", "notahash", root=root), "hash"),
        ("INVALID_HASH", lambda: passwdpop.set_hash("example.com", "bob", b"$6$salt$a\0b", root=root), "NUL"),
        ("NULL_ARGUMENT", lambda: passwdpop.set_hash("example.com", "bob", None, root=root), "hash"),
        ("NULL_ARGUMENT", lambda: passwdpop.remove("example.com", None, root=root), "user"),
        ("INVALID_CONFIG", lambda: passwdpop.add("example.com", "new", SECRET, root=root, threads=-1), "threads"),
    ]


def test_every_failure_raises_error_with_status_name_and_message(vmail):
    cases = _status_cases(vmail)
    before = {name: vmail.read(name) for name in ["example.com", "twice.example", "locked.example"]}
    for name, call, mentioned in cases:
        with pytest.raises(passwdpop.Error) as caught:
            call()
        err = caught.value
        assert (err.name, err.status) == (name, passwdpop.STATUS[name]), (name, str(err))
        assert isinstance(err, Exception)
        assert mentioned in str(err), (name, str(err))
        for shown in (str(err), repr(err)):
            assert "must-never" not in shown and SECRET not in shown
    after = {name: vmail.read(name) for name in before}
    assert after == before  # nothing was changed by a failure


def test_the_message_is_last_error_and_success_clears_it(vmail):
    vmail.domain("example.com", b"bob:old:1\n")
    with pytest.raises(passwdpop.Error) as caught:
        passwdpop.change("example.com", "carol", SECRET, root=vmail.root)
    assert str(caught.value) == passwdpop.last_error()
    assert "carol" in passwdpop.last_error()
    passwdpop.change("example.com", "bob", SECRET, root=vmail.root, rounds=1000)
    assert passwdpop.last_error() == ""


def test_io_error_from_a_write_past_the_file_size_limit(vmail):
    content = b"bob:old:1\n" + b"".join(b"filler%03d:%s:1\n" % (i, b"x" * 32) for i in range(150))
    vmail.domain("full.example", content)
    code = (
        "import resource, passwdpop\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))\n"
        "try:\n"
        "    passwdpop.change('full.example', 'bob', 'pw-io', root=%r, rounds=1000)\n"
        "except passwdpop.Error as e:\n"
        "    assert (e.name, e.status) == ('IO_ERROR', 11), e\n"
        "    assert 'File too large' in str(e) and 'pw-io' not in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no error')\n" % vmail.root
    )
    # Python ignores SIGXFSZ, so the write fails with EFBIG instead of killing it.
    status, stderr = run_python(code)
    assert status == 0, stderr
    assert vmail.read("full.example") == content
    assert os.listdir(os.path.join(vmail.root, "full.example")) == ["shadow"]


def test_internal_error_from_a_caught_panic(vmail):
    hooks = os.environ.get("PASSWDPOP_HOOKS_LIBRARY")
    if not hooks:
        pytest.skip("PASSWDPOP_HOOKS_LIBRARY (a test-hooks build, `make hooks-lib`) is not set")
    code = (
        "import passwdpop\n"
        "for _ in range(2):\n"
        "    try:\n"
        "        passwdpop.change('panic.passwdpop.test', 'bob', 'pw-panic')\n"
        "    except passwdpop.Error as e:\n"
        "        assert (e.name, e.status) == ('INTERNAL_ERROR', 13), e\n"
        "        assert 'internal error' in str(e) and 'pw-panic' not in str(e), e\n"
        "    else:\n"
        "        raise SystemExit('no error')\n"
        "try:\n"
        "    passwdpop.change('etc', 'bob', 'pw')\n"
        "except passwdpop.Error as e:\n"
        "    assert e.name == 'INVALID_DOMAIN', e\n"
    )
    status, stderr = run_python(code, PASSWDPOP_LIBRARY=hooks)
    assert status == 0, stderr


def test_password_mismatch_is_false_not_an_error(vmail):
    vmail.domain("example.com", b"bob:" + crypt(b"right", b"$6$salt") + b":1\n")
    assert passwdpop.verify("example.com", "bob", "wrong", root=vmail.root) is False
    assert passwdpop.last_error() != ""  # the library did answer PASSWORD_MISMATCH
    assert passwdpop.verify("example.com", "bob", "right", root=vmail.root) is True
    assert passwdpop.Error(12, "m").name == "PASSWORD_MISMATCH"


def test_strerror_and_names_cover_every_code():
    assert sorted(passwdpop.STATUS.values()) == list(range(16))
    for name, code in passwdpop.STATUS.items():
        assert getattr(passwdpop, name) == code
        assert passwdpop.strerror(code)
        assert passwdpop.Error(code, "m").name == name
    assert passwdpop.strerror(0) == "success"
    assert passwdpop.strerror(10**6) == "unknown status code"
    assert passwdpop.Error(99, "m").name == "STATUS_99"


def test_wrong_argument_types_are_type_errors_without_the_value():
    for call in [
        lambda: passwdpop.change("example.com", "bob", 12345678),
        lambda: passwdpop.change("example.com", 12345678, "pw"),
        lambda: passwdpop.change("example.com", "bob", "pw", rounds="12345678"),
    ]:
        with pytest.raises(TypeError) as caught:
            call()
        assert "12345678" not in str(caught.value)


# -- api2 --------------------------------------------------------------------


def expected_api2(result, reason="", module="Email", func="passwdpop"):
    return {
        "cpanelresult": {
            "apiversion": 2,
            "func": func,
            "module": module,
            "data": [{"reason": reason, "result": result}],
            "event": {"result": result},
        }
    }


def test_api2_success_is_cpanels_answer_and_the_clis(vmail):
    vmail.domain("example.com", b"bob:old:1\n")
    params = {"domain": "example.com", "email": "bob", "password": SECRET}
    answer = passwdpop.api2("Email", "passwdpop", params, {"root": vmail.root, "rounds": 1000})
    assert answer == expected_api2(1)
    stored = vmail.hash_of("example.com", b"bob")
    assert crypt(SECRET.encode(), stored) == stored


def test_api2_addpop_and_delpop(vmail):
    vmail.domain("example.com", b"bob:old:1\n")
    options = {"root": vmail.root, "rounds": 1000}
    new = {"domain": "example.com", "email": "carol", "password": SECRET, "quota": 250}
    assert passwdpop.api2("Email", "addpop", new, options) == expected_api2(1, func="addpop")
    stored = vmail.hash_of("example.com", b"carol")
    assert crypt(SECRET.encode(), stored) == stored
    again = passwdpop.api2("Email", "addpop", new, options)
    assert again == expected_api2(0, again["cpanelresult"]["data"][0]["reason"], func="addpop")
    assert "carol" in again["cpanelresult"]["data"][0]["reason"]
    gone = {"domain": "example.com", "email": "carol"}
    assert passwdpop.api2("Email", "delpop", gone, options) == expected_api2(1, func="delpop")
    assert vmail.read("example.com") == b"bob:old:1\n"
    missing = passwdpop.api2("Email", "delpop", gone, options)
    assert missing["cpanelresult"]["event"] == {"result": 0}
    refused = passwdpop.api2("Email", "delpop", dict(gone, quota=1), options)
    assert "unknown parameter 'quota'" in refused["cpanelresult"]["data"][0]["reason"]


def test_api2_matches_the_command_s_json(vmail):
    cli = TOP / "target" / "release" / "passwdpop"
    if not cli.exists():
        pytest.skip("target/release/passwdpop is not built")
    import json

    # Each function once succeeding and once failing; the command and the
    # binding each start from the same file.
    calls = [
        ("passwdpop", {"email": "bob", "password": "pw-json"}),
        ("passwdpop", {"email": "carol", "password": "pw-json"}),
        ("addpop", {"email": "dave", "password": "pw-json", "quota": "250"}),
        ("addpop", {"email": "bob", "password": "pw-json"}),
        ("delpop", {"email": "bob"}),
        ("delpop", {"email": "carol"}),
    ]
    for func, params in calls:
        params = dict(params, domain="example.com")
        vmail.domain("example.com", b"bob:old:1\n")
        words = ["Email", func] + ["%s=%s" % item for item in params.items()]
        done = subprocess.run(
            [str(cli), "--root", vmail.root, "--output", "json"] + words, capture_output=True, text=True
        )
        vmail.domain("example.com", b"bob:old:1\n")
        answer = passwdpop.api2("Email", func, params, {"root": vmail.root})
        assert json.loads(done.stdout) == answer, (func, params)
        assert json.dumps(answer, separators=(",", ":")) == done.stdout.strip()


def test_api2_failures_are_results_never_exceptions(vmail):
    vmail.domain("example.com", b"bob:old:1\n")
    good = {"domain": "example.com", "email": "bob", "password": "must-never-show"}
    options = {"root": vmail.root}
    cases = [
        ("Email", "passwdpop", dict(good, email="carol"), options, "carol"),
        ("Email", "passwdpop", dict(good, password=""), options, "empty"),
        ("Email", "passwdpop", dict(good, domain="missing.example"), options, "missing.example"),
        ("Email", "passwdpop", {"domain": "example.com", "email": "bob"}, options, "missing parameter 'password'"),
        ("Email", "passwdpop", dict(good, quota=10), options, "unknown parameter 'quota'"),
        ("Email", "passwdpop", "domain=example.com", options, "must be a dict"),
        ("Email", "passwdpop", good, {"rounds": 5}, "rounds"),
        ("Email", "passwdpop", good, {"root": vmail.root, "colour": 1}, "colour"),
        ("Email", "addforward", good, options, "unknown function 'addforward'"),
        ("Mysql", "passwdpop", good, options, "unknown module 'Mysql'"),
    ]
    before = vmail.read("example.com")
    for module, func, params, opts, mentioned in cases:
        answer = passwdpop.api2(module, func, params, opts)
        reason = answer["cpanelresult"]["data"][0]["reason"]
        assert answer == expected_api2(0, reason, module, func), answer
        assert mentioned in reason, (mentioned, reason)
        assert "must-never-show" not in reason
    assert vmail.read("example.com") == before


# -- threads -----------------------------------------------------------------

SLOW_ROUNDS = 200_000


def _two_changes_at_once(change, vmail):
    """Starts two changes (in two domains, so no lock is shared) from two
    threads at the same instant; returns each call's (start, end).

    The switch interval is made longer than the test: a thread then gives up
    the GIL only where it blocks or where the call releases it, never between
    reading the clock and calling. So if the call kept the GIL, the second
    thread could not even read its start time before the first had finished."""
    for name in ("one.example", "two.example"):
        vmail.domain(name, b"bob:old:1\n")
    start = threading.Barrier(2)
    intervals = {}

    def worker(domain):
        start.wait()
        begin = time.monotonic()
        change(domain)
        intervals[domain] = (begin, time.monotonic())

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("one.example", "two.example")]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    return intervals["one.example"], intervals["two.example"]


def _overlap(first, second):
    return min(first[1], second[1]) - max(first[0], second[0])


def test_two_threads_hash_at_once(vmail):
    def change(domain):
        passwdpop.change(domain, "bob", SECRET, root=vmail.root, rounds=SLOW_ROUNDS)

    first, second = _two_changes_at_once(change, vmail)
    # Each call started before the other ended: both were hashing at once.
    assert _overlap(first, second) > 0, (first, second)
    for domain in ("one.example", "two.example"):
        stored = vmail.hash_of(domain, b"bob")
        assert crypt(SECRET.encode(), stored) == stored


def test_the_overlap_check_catches_a_call_that_holds_the_gil(vmail):
    # The same function through ctypes.PyDLL, which keeps the GIL during the
    # call: the second thread can only start once the first has returned.
    held = ctypes.PyDLL(os.environ["PASSWDPOP_LIBRARY"])
    held.passwdpop_change.argtypes = [ctypes.c_void_p] + [ctypes.c_char_p] * 3
    held.passwdpop_config_new.restype = ctypes.c_void_p
    held.passwdpop_config_set_root.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    held.passwdpop_config_set_rounds.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    held.passwdpop_config_free.argtypes = [ctypes.c_void_p]
    config = held.passwdpop_config_new()
    held.passwdpop_config_set_root(config, vmail.root.encode())
    held.passwdpop_config_set_rounds(config, SLOW_ROUNDS)

    def change(domain):
        assert held.passwdpop_change(config, domain.encode(), b"bob", SECRET.encode()) == 0

    try:
        first, second = _two_changes_at_once(change, vmail)
    finally:
        held.passwdpop_config_free(config)
    assert _overlap(first, second) <= 0, (first, second)


# -- loading -----------------------------------------------------------------


@pytest.mark.parametrize(
    "library, expected",
    [
        ("/nonexistent/libpasswdpop.so", "cannot load /nonexistent/libpasswdpop.so"),
        ("libcrypt.so.1", "libcrypt.so.1 has no function passwdpop"),
    ],
)
def test_load_errors_name_the_file_and_the_fix(library, expected):
    status, stderr = run_python("import passwdpop", PASSWDPOP_LIBRARY=library)
    assert status != 0
    assert "ImportError" in stderr and expected in stderr, stderr
    assert "PASSWDPOP_LIBRARY" in stderr and "apt install libpasswdpop0" in stderr


def test_a_library_of_another_major_version_is_refused(tmp_path):
    # A stand-in with every function of the header, whose version is 1.0.0.
    header = (TOP / "include" / "passwdpop.h").read_text()
    names = sorted(set(re.findall(r"^[a-z].*?\**(passwdpop\w*)\(", header, re.M)) - {"passwdpop_version"})
    source = "".join("int %s(void) { return 0; }\n" % name for name in names)
    source += 'const char *passwdpop_version(void) { return "1.0.0"; }\n'
    (tmp_path / "stand_in.c").write_text(source)
    library = tmp_path / "libpasswdpop.so.1"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), str(tmp_path / "stand_in.c")], check=True)
    status, stderr = run_python("import passwdpop", PASSWDPOP_LIBRARY=str(library))
    assert status != 0
    assert "%s is libpasswdpop 1.0.0, but this binding (%s) needs major version 0" % (library, passwdpop.__version__) in stderr
    assert "PASSWDPOP_LIBRARY" in stderr


def test_without_passwdpop_library_the_soname_is_loaded(tmp_path):
    # The dynamic linker finds libpasswdpop.so.0 through LD_LIBRARY_PATH here.
    (tmp_path / "libpasswdpop.so.0").symlink_to(os.environ["PASSWDPOP_LIBRARY"])
    code = "import passwdpop; print(passwdpop.version())"
    environment = {k: v for k, v in os.environ.items() if k != "PASSWDPOP_LIBRARY"}
    environment.update(PYTHONPATH=str(BINDING), LD_LIBRARY_PATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == passwdpop.version()
    del environment["LD_LIBRARY_PATH"]
    environment["LD_LIBRARY_PATH"] = str(tmp_path / "empty")
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    if done.returncode == 0:
        pytest.skip("a libpasswdpop.so.0 is installed system-wide")
    assert "cannot load libpasswdpop.so.0 (through the dynamic linker's search path)" in done.stderr
