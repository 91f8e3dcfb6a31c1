#!/usr/bin/env python3
"""A scripted OIDC provider on loopback over HTTPS, for hoop-ssh login:
discovery, JWKS, the device authorization endpoint and the token
endpoint of RFC 8628. tests/bats/oidc-provider.bash drives it.

    oidc-provider.py DIR PORT

DIR holds cert.pem and key.pem (the server's), jwks.json, id_token (what
a successful poll returns) and config.json, read at every request:

    client_id     the one client accepted
    interval      sent in the device response (left out if null)
    expires_in    ditto
    complete      whether to send verification_uri_complete
    no_device     leave device_authorization_endpoint out of discovery
    steps         what successive polls get: pending, slow_down, denied,
                  expired, success, noid (200 without id_token), hangup
                  (no answer), oddity (an unknown error); the last repeats
    device_raw    [status, body] instead of the device response
    token_raw     ditto for every poll

Each request is one JSON line in DIR/requests.log (time, path, form).
"""
import json
import ssl
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

DIR, PORT = sys.argv[1], int(sys.argv[2])
BASE = "https://127.0.0.1:%d" % PORT
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
state = {"device_code": None, "polls": 0}


def config():
    with open(DIR + "/config.json") as f:
        return json.load(f)


def log(path, form):
    with open(DIR + "/requests.log", "a") as f:
        f.write(json.dumps({"t": time.monotonic(), "path": path,
                            "form": form}) + "\n")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = body.encode() if isinstance(body, str) else \
            json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        log(self.path, None)
        cfg = config()
        if self.path == "/.well-known/openid-configuration":
            doc = {"issuer": BASE, "jwks_uri": BASE + "/jwks.json",
                   "token_endpoint": BASE + "/token",
                   "device_authorization_endpoint": BASE + "/device",
                   "id_token_signing_alg_values_supported": ["RS256"]}
            if cfg.get("no_device"):
                del doc["device_authorization_endpoint"]
            self.answer(200, doc)
        elif self.path == "/jwks.json":
            with open(DIR + "/jwks.json") as f:
                self.answer(200, f.read())
        else:
            self.answer(404, {"error": "not_found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 65536)).decode()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
        log(self.path, form)
        cfg = config()
        if self.headers.get("Content-Type") != \
                "application/x-www-form-urlencoded":
            self.answer(400, {"error": "invalid_request"})
        elif form.get("client_id") != cfg["client_id"]:
            self.answer(401, {"error": "invalid_client",
                              "error_description": "unknown client"})
        elif self.path == "/device":
            self.device(cfg, form)
        elif self.path == "/token":
            self.token(cfg, form)
        else:
            self.answer(404, {"error": "not_found"})

    def device(self, cfg, form):
        if cfg.get("device_raw"):
            self.answer(*cfg["device_raw"])
            return
        if "openid" not in form.get("scope", "").split(" "):
            self.answer(400, {"error": "invalid_scope"})
            return
        state["device_code"] = "dc-%d" % time.monotonic_ns()
        state["polls"] = 0
        resp = {"device_code": state["device_code"],
                "user_code": "WDJB-MJHT",
                "verification_uri": BASE + "/activate"}
        if cfg.get("complete"):
            resp["verification_uri_complete"] = \
                BASE + "/activate?user_code=WDJB-MJHT"
        for key in ("interval", "expires_in"):
            if cfg.get(key) is not None:
                resp[key] = cfg[key]
        self.answer(200, resp)

    def token(self, cfg, form):
        if cfg.get("token_raw"):
            self.answer(*cfg["token_raw"])
            return
        if form.get("grant_type") != DEVICE_GRANT or \
                form.get("device_code") != state["device_code"]:
            self.answer(400, {"error": "invalid_grant"})
            return
        steps = cfg["steps"]
        step = steps[min(state["polls"], len(steps) - 1)]
        state["polls"] += 1
        errors = {"pending": "authorization_pending",
                  "slow_down": "slow_down", "denied": "access_denied",
                  "expired": "expired_token"}
        if step in errors:
            self.answer(400, {"error": errors[step]})
        elif step == "oddity":
            self.answer(400, {"error": "invalid_grant",
                              "error_description": "code \x1b[31mspent"})
        elif step == "hangup":
            self.close_connection = True
        else:
            with open(DIR + "/id_token") as f:
                id_token = f.read().strip()
            resp = {"access_token": "access-secret", "token_type": "Bearer",
                    "expires_in": 300}
            if step == "success":
                resp["id_token"] = id_token
            self.answer(200, resp)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(DIR + "/cert.pem", DIR + "/key.pem")
server = HTTPServer(("127.0.0.1", PORT), Handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
