"""Checks SHA512-crypt hashes with Python's crypt module for tests/interop.rs.

Standard input: lines "HEX-PASSWORD HASH"; prints "match" or "mismatch" for each.
"""

import sys
import warnings

with warnings.catch_warnings():
    # Deprecated since 3.11, removed in 3.13; Debian 12 has 3.11.
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

for line in sys.stdin:
    hex_password, stored = line.split()
    password = bytes.fromhex(hex_password).decode("utf-8")
    print("match" if crypt.crypt(password, stored) == stored else "mismatch")
