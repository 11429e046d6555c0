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
    "change",
    "verify",
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
    """The password as C will read it, for the length of one call.

    Keeps no copy it does not have to make, and clears the one it makes."""

    def __init__(self, password):
        self.copy = None
        if password is None:
            self.arg = None
            return
        if isinstance(password, str):
            try:
                password = password.encode("utf-8")
            except UnicodeEncodeError:
                # Chained, the encoder's error would carry the password along.
                raise Error(
                    STATUS["INVALID_PASSWORD"], "the password is not valid Unicode (a lone surrogate)"
                ) from None
        if isinstance(password, bytes):
            self._refuse_nul(password)
            self.arg = password
        elif isinstance(password, bytearray):
            self._refuse_nul(password)
            self.arg = self._bytearray(password)
        else:
            raise TypeError("the password must be str, bytes or bytearray, not %s" % type(password).__name__)

    @staticmethod
    def _refuse_nul(password):
        if b"\0" in password:
            raise Error(STATUS["INVALID_PASSWORD"], "the password holds a NUL byte")

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

    def __init__(self, root=None, rounds=None, layout=None, lock_timeout_ms=None):
        options = (root, rounds, layout, lock_timeout_ms)
        self.pointer = None
        if all(option is None for option in options):
            return
        self.pointer = _lib.passwdpop_config_new()
        if not self.pointer:
            raise Error(STATUS["INTERNAL_ERROR"], "passwdpop_config_new() failed")
        try:
            if root is not None:
                _check(_lib.passwdpop_config_set_root(self.pointer, os.fsencode(root)))
            if rounds is not None:
                _check(_lib.passwdpop_config_set_rounds(self.pointer, _u32(rounds, "rounds")))
            if layout is not None:
                _check(_lib.passwdpop_config_set_layout(self.pointer, _layout(layout)))
            if lock_timeout_ms is not None:
                ms = _u32(lock_timeout_ms, "lock_timeout_ms")
                _check(_lib.passwdpop_config_set_lock_timeout_ms(self.pointer, ms))
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


def _layout(layout):
    if isinstance(layout, str):
        if layout not in _LAYOUTS:
            raise Error(
                STATUS["INVALID_CONFIG"],
                "unknown layout %r (known: %s)" % (layout, ", ".join(_LAYOUTS)),
            )
        return _LAYOUTS[layout]
    return _u32(layout, "layout")


def _call(function, domain, user, password, options):
    domain = _name(domain, "domain", STATUS["INVALID_DOMAIN"])
    user = _name(user, "user", STATUS["INVALID_USER"])
    config = _Config(**options)
    try:
        secret = _Secret(password)
        try:
            if function is None:
                # No option: the plain entry point, with the defaults.
                return _lib.passwdpop(domain, user, secret.arg)
            return function(config.pointer, domain, user, secret.arg)
        finally:
            secret.close()
    finally:
        config.close()


def change(domain, user, password, *, root=None, rounds=None, layout=None, lock_timeout_ms=None):
    """Sets a new password for ``user`` (local part or full address) in
    ``<root>/<domain>/shadow``. Options left at None keep the library's
    defaults (root ``PASSWDPOP_ROOT`` or ``/etc/vmail``, 5000 rounds, shadow
    layout, 10 s lock timeout). ``layout`` is ``"shadow"``,
    ``"passwd-file"`` or a ``LAYOUT_*`` constant. Raises :class:`Error`."""
    options = dict(root=root, rounds=rounds, layout=layout, lock_timeout_ms=lock_timeout_ms)
    plain = all(value is None for value in options.values())
    _check(_call(None if plain else _lib.passwdpop_change, domain, user, password, options))


def verify(domain, user, password, *, root=None, rounds=None, layout=None, lock_timeout_ms=None):
    """True if ``password`` is the account's password, False if not (a
    suspended ``!`` entry never matches). Raises :class:`Error` for anything
    else (no such account, unreadable file...)."""
    options = dict(root=root, rounds=rounds, layout=layout, lock_timeout_ms=lock_timeout_ms)
    status = _call(_lib.passwdpop_verify, domain, user, password, options)
    if status == STATUS["PASSWORD_MISMATCH"]:
        return False
    _check(status)
    return True


# cPanel API 2 functions this binding answers, with the parameters each takes.
_API2 = {"Email": {"passwdpop": ("domain", "email", "password")}}


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
    "passwdpop", {"domain", "email", "password"})`` changes a password. Returns
    the structure of cPanel's (and ``passwdpop --output json``'s) answer,
    ``{"cpanelresult": {"apiversion": 2, "func", "module", "data": [{"result":
    1|0, "reason"}], "event": {"result": 1|0}}}``, and never raises for a
    failure: the reason says what went wrong. ``options`` takes the keyword
    options of :func:`change` as a dict."""
    try:
        functions = _API2.get(module)
        if functions is None:
            raise ValueError("unknown module %r (known: %s)" % (module, ", ".join(_API2)))
        keys = functions.get(func)
        if keys is None:
            raise ValueError(
                "unknown function %r in module %r (known: %s)" % (func, module, ", ".join(functions))
            )
        if not isinstance(params, dict):
            raise TypeError("the parameters must be a dict, not %s" % type(params).__name__)
        for key in params:
            if key not in keys:
                raise ValueError("unknown parameter %r (parameters: %s)" % (key, ", ".join(keys)))
        for key in keys:
            if params.get(key) is None:
                raise ValueError("missing parameter %r" % key)
        change(params["domain"], params["email"], params["password"], **(options or {}))
    except (Error, TypeError, ValueError) as err:
        return _api2_result(module, func, str(err))
    return _api2_result(module, func, None)
