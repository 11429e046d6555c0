"""SMTP AUTH client for tests/interop.rs, one session per case.

Usage: smtp_auth.py PORT, with lines "MECHANISM<TAB>USER<TAB>PASSWORD" on
standard input. For each prints "offered CODE" or "hidden CODE": whether the
server offered AUTH before STARTTLS, and its reply to AUTH after STARTTLS
(235 accepted, 535 refused).
"""

import smtplib
import ssl
import sys

port = int(sys.argv[1])
# A self-signed certificate on the loopback interface: nothing to verify.
context = ssl._create_unverified_context()
for line in sys.stdin:
    mechanism, user, password = line.rstrip("\n").split("\t")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("client.interop.test")
        clear = "offered" if smtp.has_extn("auth") else "hidden"
        smtp.starttls(context=context)
        smtp.ehlo("client.interop.test")
        smtp.user, smtp.password = user, password
        try:
            code, _ = smtp.auth(mechanism, getattr(smtp, "auth_" + mechanism.lower()))
        except smtplib.SMTPAuthenticationError as refused:
            code = refused.smtp_code
    print(clear, code, flush=True)
