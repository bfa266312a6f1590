#!/usr/bin/env python3
"""An automated grader: solve the tcp-client-echo exercise over the REST API, print the report.

Usage: python3 examples/grader.py [BASE_URL]    (default http://127.0.0.1:8080)
Only the standard library; exits 0 when every check passed.
"""
import json
import sys
import time
import urllib.request

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"


def api(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as response:  # 4xx and 5xx raise HTTPError
        return json.load(response)


session = api("POST", "/api/sessions", {"exercise": "tcp-client-echo"})
sid, token = session["id"], session["token"]
b_addr = next(h for h in session["hosts"] if h["name"] == "B")["addrs"][0]


def call(**args):
    result = api("POST", f"/api/sessions/{sid}/calls", args, token)
    print(f"{args['host']} {args['call']:<8} -> {result['status']} {result.get('errno', '')}")
    return result


# The echo server on B starts with the session: wait until it listens.
for _ in range(100):
    events = api("GET", f"/api/sessions/{sid}/events", token=token)["events"]
    if any(e["kind"] == "listen" and e["host"] == "B" and e["status"] == "ok" for e in events):
        break
    time.sleep(0.05)

fd = call(host="A", call="socket", domain="inet", type="stream")["fd"]
call(host="A", call="connect", fd=fd, addr=f"{b_addr}:7007")
call(host="A", call="send", fd=fd, data="hello")
call(host="A", call="recv", fd=fd, max=100, wait_ms=5000)
call(host="A", call="close", fd=fd)

report = api("POST", f"/api/sessions/{sid}/grade", {}, token)
for check in report["checks"]:
    mark = "PASS" if check["passed"] else "FAIL"
    hint = "" if check["passed"] else "  (hint: " + check["hint"] + ")"
    print(f"{mark} {check['text']}{hint}")
print(f"{report['exercise']}: {report['passed_checks']} of {report['total_checks']} checks")
sys.exit(0 if report["passed"] else 1)
