"""Change the password of a virtual mail account in <root>/<domain>/shadow.

A thin binding over libpasswdpop's C ABI (ctypes, no compiler needed)::

    import passwdpop
    passwdpop.change("example.com", "sales", "n3w-Secret!")
    passwdpop.verify("example.com", "sales@example.com", "guess")   # -> bool
    passwdpop.api2("Email", "passwdpop",
                   {"domain": "example.com", "email": "sales", "password": "n3w"})

The library is ``libpasswdpop.so.0`` found by the dynamic linker, or the file
named by the environment variable ``PASSWDPOP_LIBRARY``.

Passwords are ``str`` (sent as UTF-8), ``bytes`` or ``bytearray`` (sent
exactly as they are). What can be wiped:

* ``bytes`` is handed to the library in place, without a copy. It is
  immutable: Python offers no way to wipe it.
* ``str`` is encoded to a temporary ``bytes`` object for the call; neither the
  ``str`` nor that copy can be wiped (their memory is freed, not cleared).
* ``bytearray`` is handed to the library in place, without a copy (CPython
  keeps a NUL byte after its contents, which is what C needs), and cannot be
  resized while the library reads it. It is the caller's to wipe afterwards,
  e.g. ``password[:] = bytes(len(password))``. On an interpreter that keeps no
  terminator, the binding makes one NUL-terminated copy and clears it before
  returning.

The binding keeps no password after a call returns and never puts one in an
exception message. A NUL byte cannot be passed through the C ABI, so a
password, domain or user holding one is refused with ``INVALID_PASSWORD``,
``INVALID_DOMAIN`` or ``INVALID_USER`` before the library is called.

Every call releases the GIL while the library works (hashing takes
milliseconds): other threads keep running, and changes in several threads
hash at the same time.
"""

import ctypes
import os

from ._native import VERSION as __version__
from ._native import lib as _lib

__all__ = [
    "Error",
    "Batch",
    "change",
    "verify",
    "add",
    "remove",
    "suspend",
    "unsuspend",
    "set_hash",
    "api2",
    "version",
    "strerror",
    "last_error",
    "LAYOUT_SHADOW",
    "LAYOUT_PASSWD_FILE",
]

#: The status codes of the C ABI (``PASSWDPOP_<NAME>``), by name.
STATUS = {
    "OK": 0,
    "NULL_ARGUMENT": 1,
    "INVALID_DOMAIN": 2,
    "INVALID_USER": 3,
    "INVALID_PASSWORD": 4,
    "INVALID_CONFIG": 5,
    "NO_SUCH_DOMAIN": 6,
    "NO_SUCH_ACCOUNT": 7,
    "AMBIGUOUS_ACCOUNT": 8,
    "UNSAFE_PATH": 9,
    "LOCK_TIMEOUT": 10,
    "IO_ERROR": 11,
    "PASSWORD_MISMATCH": 12,
    "INTERNAL_ERROR": 13,
    "INVALID_HASH": 14,
    "ACCOUNT_EXISTS": 15,
}
_NAMES = {code: name for name, code in STATUS.items()}
globals().update(STATUS)
__all__ += list(STATUS)

LAYOUT_SHADOW = 0
LAYOUT_PASSWD_FILE = 1
#: The layout names of the command line's --layout.
_LAYOUTS = {"shadow": LAYOUT_SHADOW, "passwd-file": LAYOUT_PASSWD_FILE}
_U32_MAX = 0xFFFFFFFF


class Error(Exception):
    """A failed call: ``.status`` is the C status code, ``.name`` its name
    without ``PASSWDPOP_`` (e.g. ``"NO_SUCH_ACCOUNT"``), ``str(e)`` the
    library's message (never the password)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.name = _NAMES.get(status, "STATUS_%d" % status)

    def __repr__(self):
        return "passwdpop.Error(%s, %r)" % (self.name, str(self))


def _check(status):
    """Raises the Error for a status, with this thread's message."""
    if status != STATUS["OK"]:
        raise Error(status, last_error())


def version():
    """The library's version, e.g. ``"0.1.0"``."""
    return _lib.passwdpop_version().decode("ascii", "replace")


def strerror(status):
    """The library's fixed description of a status code (any int)."""
    return _lib.passwdpop_strerror(status).decode("utf-8", "replace")


def last_error():
    """This thread's message for its last failed library call ("" after a success)."""
    return _lib.passwdpop_last_error().decode("utf-8", "replace")


def _name(value, what, status):
    """A domain or user as bytes for C; None stays NULL (the library answers it)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    elif not isinstance(value, (bytes, bytearray)):
        raise TypeError("%s must be str or bytes, not %s" % (what, type(value).__name__))
    if b"\0" in value:
        raise Error(status, "the %s holds a NUL byte" % what)
    return bytes(value)


class _Secret:
    """A password (or hash) as C will read it, for the length of one call.

    Keeps no copy it does not have to make, and clears the one it makes.
    ``status`` is how a bad one is refused: INVALID_PASSWORD or INVALID_HASH."""

    def __init__(self, password, status):
        self.copy = None
        self.status = status
        self.what = "hash" if status == STATUS["INVALID_HASH"] else "password"
        if password is None:
            self.arg = None
            return
        if isinstance(password, str):
            try:
                password = password.encode("utf-8")
            except UnicodeEncodeError:
                # Chained, the encoder's error would carry the password along.
                raise Error(status, "the %s is not valid Unicode (a lone surrogate)" % self.what) from None
        if isinstance(password, bytes):
            self._refuse_nul(password)
            self.arg = password
        elif isinstance(password, bytearray):
            self._refuse_nul(password)
            self.arg = self._bytearray(password)
        else:
            raise TypeError("the %s must be str, bytes or bytearray, not %s" % (self.what, type(password).__name__))

    def _refuse_nul(self, password):
        if b"\0" in password:
            raise Error(self.status, "the %s holds a NUL byte" % self.what)

    def _bytearray(self, password):
        size = len(password)
        if size == 0:
            return b""
        view = (ctypes.c_char * size).from_buffer(password)
        if ctypes.string_at(ctypes.addressof(view) + size, 1) == b"\0":
            return view
        # No terminator after the contents: one copy, cleared in close().
        self.copy = ctypes.create_string_buffer(size + 1)
        ctypes.memmove(self.copy, view, size)
        del view
        return self.copy

    def close(self):
        if self.copy is not None:
            ctypes.memset(self.copy, 0, len(self.copy))
            self.copy = None
        # Drops the export, so that the caller may resize its bytearray again.
        self.arg = None


class _Config:
    """A passwdpop_config for one call; None (the defaults) when no option is set."""

    def __init__(self, options):
        unknown = sorted(set(options) - set(_SETTERS))
        if unknown:
            raise TypeError("unknown option %r (options: %s)" % (unknown[0], ", ".join(_SETTERS)))
        self.pointer = None
        if all(value is None for value in options.values()):
            return
        self.pointer = _lib.passwdpop_config_new()
        if not self.pointer:
            raise Error(STATUS["INTERNAL_ERROR"], "passwdpop_config_new() failed")
        try:
            for name, value in options.items():
                if value is not None:
                    setter, convert = _SETTERS[name]
                    _check(setter(self.pointer, convert(value, name)))
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.pointer:
            _lib.passwdpop_config_free(self.pointer)
            self.pointer = None


def _u32(value, what):
    # ctypes would silently wrap -1 or 2**32 into a valid-looking number.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (what, type(value).__name__))
    if not 0 <= value <= _U32_MAX:
        raise Error(STATUS["INVALID_CONFIG"], "%s %d is out of range 0..=%d" % (what, value, _U32_MAX))
    return value


def _layout(layout, what="layout"):
    if isinstance(layout, str):
        if layout not in _LAYOUTS:
            raise Error(
                STATUS["INVALID_CONFIG"],
                "unknown layout %r (known: %s)" % (layout, ", ".join(_LAYOUTS)),
            )
        return _LAYOUTS[layout]
    return _u32(layout, what)


def _root(root, what="root"):
    return os.fsencode(root)


def _flag(value, what):
    return 1 if value else 0


#: Each option: the config setter it calls, and how its value is converted.
_SETTERS = {
    "root": (_lib.passwdpop_config_set_root, _root),
    "rounds": (_lib.passwdpop_config_set_rounds, _u32),
    "layout": (_lib.passwdpop_config_set_layout, _layout),
    "lock_timeout_ms": (_lib.passwdpop_config_set_lock_timeout_ms, _u32),
    "threads": (_lib.passwdpop_config_set_threads, _u32),
    "wait_visible": (_lib.passwdpop_config_set_wait_visible, _flag),
}


def _call(function, options, domain, user, secret=None, secret_status=None):
    """Calls ``function(config, domain, user[, secret])`` with a config for
    ``options``; the secret (password or hash) only when ``secret_status``
    says how to refuse a bad one. Returns the status."""
    domain = _name(domain, "domain", STATUS["INVALID_DOMAIN"])
    user = _name(user, "user", STATUS["INVALID_USER"])
    config = _Config(options)
    try:
        if secret_status is None:
            return function(config.pointer, domain, user)
        secret = _Secret(secret, secret_status)
        try:
            return function(config.pointer, domain, user, secret.arg)
        finally:
            secret.close()
    finally:
        config.close()


def change(domain, user, password, *, root=None, rounds=None, layout=None, lock_timeout_ms=None, wait_visible=None):
    """Sets a new password for ``user`` (local part or full address) in
    ``<root>/<domain>/shadow``. Options left at None keep the library's
    defaults (root ``PASSWDPOP_ROOT`` or ``/etc/vmail``, 5000 rounds, shadow
    layout, 10 s lock timeout, no wait). ``layout`` is ``"shadow"``,
    ``"passwd-file"`` or a ``LAYOUT_*`` constant. ``wait_visible=True``
    returns only once Dovecot, which looks at the file at most once a
    second, sees the change (at most 1 s later). Raises :class:`Error`."""
    options = dict(
        root=root, rounds=rounds, layout=layout, lock_timeout_ms=lock_timeout_ms, wait_visible=wait_visible
    )
    if all(value is None for value in options.values()):
        # No option: the plain entry point, with the defaults.
        _check(_call(lambda _, *names: _lib.passwdpop(*names), {}, domain, user, password, STATUS["INVALID_PASSWORD"]))
    else:
        _check(_call(_lib.passwdpop_change, options, domain, user, password, STATUS["INVALID_PASSWORD"]))


def verify(domain, user, password, *, root=None, rounds=None, layout=None, lock_timeout_ms=None):
    """True if ``password`` is the account's password, False if not (a
    suspended ``!`` entry never matches). Raises :class:`Error` for anything
    else (no such account, unreadable file...)."""
    options = dict(root=root, rounds=rounds, layout=layout, lock_timeout_ms=lock_timeout_ms)
    status = _call(_lib.passwdpop_verify, options, domain, user, password, STATUS["INVALID_PASSWORD"])
    if status == STATUS["PASSWORD_MISMATCH"]:
        return False
    _check(status)
    return True


def add(domain, user, password, **options):
    """Adds an account (stored lower-cased) at the end of the domain's file.
    ``ACCOUNT_EXISTS`` if it has one; the domain must exist. Options as for
    :func:`change`."""
    _check(_call(_lib.passwdpop_add, options, domain, user, password, STATUS["INVALID_PASSWORD"]))


def remove(domain, user, **options):
    """Removes the account's entry (and the continuation lines after it)."""
    _check(_call(_lib.passwdpop_remove, options, domain, user))


def suspend(domain, user, **options):
    """Locks the account (one ``!`` before its hash); the password is kept."""
    _check(_call(_lib.passwdpop_suspend, options, domain, user))


def unsuspend(domain, user, **options):
    """Unlocks the account: the old password works again."""
    _check(_call(_lib.passwdpop_unsuspend, options, domain, user))


def set_hash(domain, user, hash, **options):
    """Stores ``hash``, a complete crypt(3) hash (str or bytes, no
    ``{SCHEME}`` prefix), as the account's hash; ``INVALID_HASH`` if
    libxcrypt would not take it."""
    _check(_call(_lib.passwdpop_set_hash, options, domain, user, hash, STATUS["INVALID_HASH"]))


class Batch:
    """Many changes applied with one rewrite per domain::

        with passwdpop.Batch(root="/etc/vmail", threads=2) as batch:
            batch.add("example.com", "bob", "n3w")
            batch.add_hash("example.com", "carol", "$6$...")
            try:
                batch.commit()
            except passwdpop.Error:
                failed = [batch.status(i) for i in range(len(batch))]

    ``add``/``add_hash`` check their arguments at once (a refused entry
    raises and is not added). The library copies each password and clears
    the copy once hashed, so the caller may wipe a ``bytearray`` right after
    ``add``. ``commit`` hashes on ``threads`` threads (0: one per core) with
    the GIL released, then rewrites each domain once; it raises the first
    failing entry's :class:`Error`, the other entries being applied all the
    same. ``status(i)`` is None for an applied entry, else its
    :class:`Error` (returned, not raised)."""

    def __init__(self, **options):
        self._pointer = None  # for close() when the config is refused
        config = _Config(options)
        try:
            self._pointer = _lib.passwdpop_batch_new(config.pointer)
        finally:
            config.close()
        if not self._pointer:
            raise Error(STATUS["INTERNAL_ERROR"], "passwdpop_batch_new() failed")

    def add(self, domain, user, password):
        _check(self._add(_lib.passwdpop_batch_add, domain, user, password, STATUS["INVALID_PASSWORD"]))

    def add_hash(self, domain, user, hash):
        _check(self._add(_lib.passwdpop_batch_add_hash, domain, user, hash, STATUS["INVALID_HASH"]))

    def _add(self, function, domain, user, secret, secret_status):
        domain = _name(domain, "domain", STATUS["INVALID_DOMAIN"])
        user = _name(user, "user", STATUS["INVALID_USER"])
        secret = _Secret(secret, secret_status)
        try:
            return function(self._pointer, domain, user, secret.arg)
        finally:
            secret.close()

    def commit(self):
        _check(_lib.passwdpop_batch_commit(self._pointer))

    def __len__(self):
        return _lib.passwdpop_batch_len(self._pointer)

    def status(self, index):
        if index < 0:
            raise IndexError("batch entry %d" % index)
        status = _lib.passwdpop_batch_status(self._pointer, index)
        return None if status == STATUS["OK"] else Error(status, last_error())

    def close(self):
        """Frees the batch (the library clears the passwords it still holds)."""
        if self._pointer:
            _lib.passwdpop_batch_free(self._pointer)
            self._pointer = None

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()

    def __del__(self):
        self.close()


def _passwdpop(params, options):
    change(params["domain"], params["email"], params["password"], **options)


def _addpop(params, options):
    add(params["domain"], params["email"], params["password"], **options)


def _delpop(params, options):
    remove(params["domain"], params["email"], **options)


# cPanel API 2 functions this binding answers: the call, the parameters it
# needs, and those it accepts and ignores (addpop's quota is Dovecot's
# business, not the shadow file's, as for the command).
_API2 = {
    "Email": {
        "passwdpop": (_passwdpop, ("domain", "email", "password"), ()),
        "addpop": (_addpop, ("domain", "email", "password"), ("quota",)),
        "delpop": (_delpop, ("domain", "email"), ()),
    }
}


def _api2_result(module, func, reason):
    result = 0 if reason is not None else 1
    # Keys in the command's order, so that json.dumps() gives its very text.
    return {
        "cpanelresult": {
            "apiversion": 2,
            "data": [{"reason": reason or "", "result": result}],
            "event": {"result": result},
            "func": func,
            "module": module,
        }
    }


def api2(module, func, params, options=None):
    """cPanel LiveAPI's ``api2(module, func, params)``: ``("Email",
    "passwdpop", {"domain", "email", "password"})`` changes a password,
    ``("Email", "addpop", {"domain", "email", "password"[, "quota"]})`` adds
    an account, ``("Email", "delpop", {"domain", "email"})`` removes one.
    Returns the structure of cPanel's (and ``passwdpop --output json``'s)
    answer, ``{"cpanelresult": {"apiversion": 2, "data": [{"reason",
    "result": 1|0}], "event": {"result": 1|0}, "func", "module"}}``, and never
    raises for a failure: the reason says what went wrong. ``options`` takes
    the keyword options of :func:`change` as a dict."""
    try:
        functions = _API2.get(module)
        if functions is None:
            raise ValueError("unknown module %r (known: %s)" % (module, ", ".join(_API2)))
        if func not in functions:
            raise ValueError(
                "unknown function %r in module %r (known: %s)" % (func, module, ", ".join(functions))
            )
        call, needed, ignored = functions[func]
        if not isinstance(params, dict):
            raise TypeError("the parameters must be a dict, not %s" % type(params).__name__)
        for key in params:
            if key not in needed and key not in ignored:
                raise ValueError("unknown parameter %r (parameters: %s)" % (key, ", ".join(needed + ignored)))
        for key in needed:
            if params.get(key) is None:
                raise ValueError("missing parameter %r" % key)
        call(params, options or {})
    except (Error, TypeError, ValueError) as err:
        return _api2_result(module, func, str(err))
    return _api2_result(module, func, None)
