"""Loading libpasswdpop and declaring its C functions for ctypes.

The library is a ctypes.CDLL: ctypes releases the GIL for the whole of every
call into it, so a change hashing in one thread never stops other threads.
"""

import ctypes
import os

#: The binding's version; the library must have the same major version.
VERSION = "0.1.0"
SONAME = "libpasswdpop.so." + VERSION.split(".")[0]
ENV_LIBRARY = "PASSWDPOP_LIBRARY"

_config_p = ctypes.c_void_p
_str = ctypes.c_char_p
_int = ctypes.c_int
_u32 = ctypes.c_uint32

#: Every function of the C ABI: name -> (result type, argument types).
PROTOTYPES = {
    "passwdpop": (_int, [_str, _str, _str]),
    "passwdpop_config_new": (_config_p, []),
    "passwdpop_config_free": (None, [_config_p]),
    "passwdpop_config_set_root": (_int, [_config_p, _str]),
    "passwdpop_config_set_rounds": (_int, [_config_p, _u32]),
    "passwdpop_config_set_lock_timeout_ms": (_int, [_config_p, _u32]),
    "passwdpop_config_set_layout": (_int, [_config_p, _u32]),
    "passwdpop_change": (_int, [_config_p, _str, _str, _str]),
    "passwdpop_verify": (_int, [_config_p, _str, _str, _str]),
    "passwdpop_strerror": (_str, [_int]),
    "passwdpop_last_error": (_str, []),
    "passwdpop_version": (_str, []),
    "passwdpop_config_set_threads": (_int, [_config_p, _u32]),
    "passwdpop_config_set_wait_visible": (_int, [_config_p, _int]),
    "passwdpop_add": (_int, [_config_p, _str, _str, _str]),
    "passwdpop_remove": (_int, [_config_p, _str, _str]),
    "passwdpop_suspend": (_int, [_config_p, _str, _str]),
    "passwdpop_unsuspend": (_int, [_config_p, _str, _str]),
    "passwdpop_set_hash": (_int, [_config_p, _str, _str, _str]),
    "passwdpop_batch_new": (ctypes.c_void_p, [_config_p]),
    "passwdpop_batch_add": (_int, [ctypes.c_void_p, _str, _str, _str]),
    "passwdpop_batch_add_hash": (_int, [ctypes.c_void_p, _str, _str, _str]),
    "passwdpop_batch_commit": (_int, [ctypes.c_void_p]),
    "passwdpop_batch_len": (ctypes.c_size_t, [ctypes.c_void_p]),
    "passwdpop_batch_status": (_int, [ctypes.c_void_p, ctypes.c_size_t]),
    "passwdpop_batch_free": (None, [ctypes.c_void_p]),
}


def _load():
    path = os.environ.get(ENV_LIBRARY) or None
    tried = path if path else SONAME + " (through the dynamic linker's search path)"
    fix = (
        "install the libpasswdpop%s package (apt install libpasswdpop%s), or set %s "
        "to the path of a libpasswdpop.so (a source tree has it in target/release "
        "after `make lib`)" % (SONAME[-1], SONAME[-1], ENV_LIBRARY)
    )
    try:
        lib = ctypes.CDLL(path or SONAME)
    except OSError as err:
        raise ImportError("passwdpop: cannot load %s: %s; %s" % (tried, err, fix)) from None
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            raise ImportError(
                "passwdpop: %s has no function %s: it is older than this binding "
                "(%s); %s" % (tried, name, VERSION, fix)
            ) from None
        function.restype = restype
        function.argtypes = argtypes
    found = lib.passwdpop_version().decode("ascii", "replace")
    if found.split(".")[0] != VERSION.split(".")[0]:
        raise ImportError(
            "passwdpop: %s is libpasswdpop %s, but this binding (%s) needs major "
            "version %s; %s" % (tried, found, VERSION, VERSION.split(".")[0], fix)
        )
    return lib


lib = _load()
