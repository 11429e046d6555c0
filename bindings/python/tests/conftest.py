"""Runs the suite against this tree's build unless PASSWDPOP_LIBRARY names one.

`make bindings-test` builds the library first and sets PASSWDPOP_LIBRARY
(and PASSWDPOP_HOOKS_LIBRARY, a build that panics on purpose).
"""

import ctypes
import os
import pathlib
import sys

import pytest

TOP = pathlib.Path(__file__).resolve().parents[3]
BINDING = pathlib.Path(__file__).resolve().parents[1]

os.environ.setdefault("PASSWDPOP_LIBRARY", str(TOP / "target" / "release" / "libpasswdpop.so"))
# The binding under test, not an installed copy.
sys.path.insert(0, str(BINDING))

_libcrypt = ctypes.CDLL("libcrypt.so.1")
_libcrypt.crypt.restype = ctypes.c_char_p
_libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]


def crypt(password, setting):
    """libxcrypt's crypt(3), as Exim's crypteq and Dovecot's CRYPT schemes call it."""
    return _libcrypt.crypt(password, setting)


class Vmail:
    """A private root with one directory per domain."""

    def __init__(self, path):
        self.root = str(path)

    def domain(self, name, content):
        directory = os.path.join(self.root, name)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "shadow"), "wb") as file:
            file.write(content)
        return directory

    def read(self, name):
        with open(os.path.join(self.root, name, "shadow"), "rb") as file:
            return file.read()

    def hash_of(self, name, user):
        for line in self.read(name).split(b"\n"):
            fields = line.split(b":")
            if fields[0] == user:
                return fields[1]
        raise AssertionError("no entry for %r" % user)


@pytest.fixture
def vmail(tmp_path):
    return Vmail(tmp_path)
