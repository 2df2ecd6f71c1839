#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""smarthost - a real SMTP server (aiosmtpd) on 127.0.0.1 standing in for popgated's next hop.

    smarthost.py --port P --dir D [--tls CERT KEY] [--require-tls] [--auth USER:PASS]
                 [--reject ADDR=REPLY]... [--data-reply REPLY]

Each accepted message becomes D/N.json (envelope, TLS, AUTH user) and D/N.eml (the content as
received, CRLF line ends, dot-stuffing removed). Prints "ready" on stdout once it listens.
Runs under any python3 that has aiosmtpd (Debian: python3-aiosmtpd); smtp_helpers picks one.
"""

import argparse
import json
import os
import ssl
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, directory, rejects, data_reply):
        self.directory = directory
        self.rejects = rejects
        self.data_reply = data_reply
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.rejects:
            return self.rejects[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.count += 1
        base = os.path.join(self.directory, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        auth = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "mail_options": envelope.mail_options, "tls": session.ssl is not None,
                       "auth": auth, "helo": session.host_name}, f)
        os.rename(base + ".json.tmp", base + ".json")  # readers see complete records only
        return "250 2.0.0 Ok: stored as %d" % self.count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--require-tls", action="store_true")
    ap.add_argument("--auth")
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--data-reply")
    a = ap.parse_args()

    rejects = {}
    for r in a.reject:
        addr, reply = r.split("=", 1)
        rejects[addr.lower()] = reply
    kwargs = {}
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        kwargs["tls_context"] = ctx
        kwargs["require_starttls"] = a.require_tls
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = bool(a.tls)
    controller = Controller(Recorder(a.dir, rejects, a.data_reply), hostname="127.0.0.1", port=a.port,
                            server_hostname="smarthost.test", **kwargs)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
