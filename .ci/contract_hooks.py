"""Schemathesis hooks of the contract test (.ci/contract), loaded through SCHEMATHESIS_HOOKS.

They give the tester what a real client has and a schema cannot: each session's own token
(a session created during the run is used with the token its creation answered), the admin
token for the admin's operations, and valid socket addresses for the document's
`socket-address` format (ip:port, a bare IP, a Unix path or abstract name).
"""

import os

import schemathesis
from hypothesis import strategies as st

# Owner token of every session created so far, by session id.
TOKENS = {}
# The session the script created before the run, and the admin token the server started with.
DEFAULT_TOKEN = os.environ["PB_TOKEN"]
ADMIN_TOKEN = os.environ["PB_ADMIN_TOKEN"]

# `ip:port` and `[ipv6]:port`, as Rust's SocketAddr parses them: loopback addresses (where
# sessions live in loopback mode) and a few others the sandbox must refuse cleanly.
_ipv4 = st.one_of(
    st.builds("127.{}.{}.{}".format, st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    st.ip_addresses(v=4).map(str),
)
_ipv6 = st.ip_addresses(v=6).map(lambda a: f"[{a}]")
# Unix-domain names: absolute paths (some trying to climb out with `..`) and abstract names.
_path_part = st.text("abcxyz.-_", min_size=1, max_size=12)
_path = st.lists(st.one_of(_path_part, st.just("..")), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)
_unix = st.one_of(_path, _path_part.map(lambda name: "@" + name))
schemathesis.openapi.format("unix-path", _path)
schemathesis.openapi.format(
    "socket-address",
    st.one_of(
        st.builds("{}:{}".format, st.one_of(_ipv4, _ipv6), st.integers(0, 65535)),
        # A bare IP, as ICMP takes it.
        _ipv4,
        _unix,
    ),
)


@schemathesis.hook
def after_call(context, case, response):
    """Remember the token of each session the tester creates."""
    if case.method == "POST" and case.path == "/api/sessions" and response.status_code == 201:
        body = response.json()
        TOKENS[body["id"]] = body["token"]


@schemathesis.auth(refresh_interval=None, retry_on=[])
class Tokens:
    """The admin token for the admin's operations, else the session's own token."""

    def get(self, case, context):
        if case.operation.path.endswith("/attempts"):
            return ADMIN_TOKEN
        session = (case.path_parameters or {}).get("id")
        return TOKENS.get(session, DEFAULT_TOKEN)

    def set(self, case, token, context):
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = f"Bearer {token}"


@schemathesis.hook
def filter_case(context, case):
    """Leave out complete WebSocket handshakes: the server rightly switches protocols (101)
    and streams frames, which an HTTP tester cannot read (tests/websocket.rs covers them).
    Everything short of a handshake (the 400s, 401s and 404s) is still tried."""
    if not case.operation.path.endswith("/ws"):
        return True
    headers = {k.lower(): str(v) for k, v in (case.headers or {}).items()}
    handshake = (
        "upgrade" in headers.get("connection", "").lower()
        and headers.get("upgrade", "").lower() == "websocket"
        and headers.get("sec-websocket-version") == "13"
        and "sec-websocket-key" in headers
    )
    return not handshake
