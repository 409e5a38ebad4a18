"""SCIM 2.0 conformance of a running User Sync SCIM endpoint, checked by
scim2-tester (every check, every tag), by scim2-cli's `scim test`, and by
scim-sanity's probe in strict mode.

Usage: scim_conformance.py tester|cli|sanity <scim base URL> <SCIM bearer token>

Give each run an organization of its own: the checks list everything at the
root, and expect to find what they created on the first page.

Exits non-zero when any result is other than SUCCESS, COMPLIANT, ACCEPTABLE
or SKIPPED (scim-sanity: other than PASS, SKIP of the resource types User
Sync does not serve, Agent and AgenticApplication, or the one check that
adds a made-up group member, which User Sync refuses on purpose). (DELETE on a User deletes the SCIM resource as RFC 7644 §3.6
says; only the product account behind it is kept, suspended.)
"""

import json
import os
import subprocess
import sys
from collections import Counter

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED}


def run_tester(url: str, token: str) -> bool:
    client = SyncSCIMClient(
        Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    )
    results = check_server(client)
    counts = Counter(r.status.name for r in results)
    unexpected = [r for r in results if r.status not in PASSING]
    print("scim2-tester:", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    for r in unexpected:
        print(f"  UNEXPECTED: {r.status.name} {r.title} ({r.resource_type}): {r.reason}")
    if not results:
        print("  UNEXPECTED: scim2-tester ran no check")
        return False
    return not unexpected


def run_cli(url: str, token: str) -> bool:
    scim = os.path.join(os.path.dirname(sys.executable), "scim")
    env = dict(os.environ, SCIM_CLI_HEADERS=f"Authorization: Bearer {token}")
    out = subprocess.run(
        [scim, "--url", url, "test"], env=env, capture_output=True, text=True, timeout=300
    )
    lines = [line for line in out.stdout.splitlines() if line and not line.startswith(" ")]
    statuses = Counter(line.split(" ", 1)[0] for line in lines if line.split(" ", 1)[0].isupper())
    print("scim test:", ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())))
    failures = [
        line for line in out.stdout.splitlines()
        if line and not line.startswith(" ") and line.split(" ", 1)[0] in {"ERROR", "CRITICAL", "DEVIATION"}
    ]
    for f in failures:
        print("  UNEXPECTED:", f)
    return bool(statuses) and not failures


# resource types of the agent extension draft, which User Sync does not serve
NOT_SERVED = ("Agent", "AgenticApplication")
# scim-sanity adds the made-up member "fake-member-id" to a group and expects
# 200; User Sync refuses a member that is not a user of the organization
# (400 invalidValue, docs/security.md), so that one check must fail, and
# only with a 400
REFUSED_ON_PURPOSE = {"PATCH /Groups/{id} add member": "got 400"}


def run_sanity(url: str, token: str) -> bool:
    sanity = os.path.join(os.path.dirname(sys.executable), "scim-sanity")
    out = subprocess.run(
        [sanity, "probe", url, "--token", token, "--strict", "--json-output",
         "--i-accept-side-effects", "--timeout", "30"],
        capture_output=True, text=True, timeout=300,
    )
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        print("  UNEXPECTED: scim-sanity printed no report:", out.stdout[-2000:], out.stderr[-2000:])
        return False
    results = report.get("results", [])
    counts = Counter(r.get("status") for r in results)
    print("scim-sanity (strict):", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))

    def deliberate(r) -> bool:
        why = REFUSED_ON_PURPOSE.get(r.get("name", ""))
        return r.get("status") == "fail" and why is not None and why in (r.get("message") or "")

    def allowed(r) -> bool:
        if r.get("status") == "pass" or deliberate(r):
            return True
        return r.get("status") == "skip" and r.get("name", "").startswith(NOT_SERVED)

    unexpected = [r for r in results if not allowed(r)]
    for r in results:
        if r.get("status") == "skip" and allowed(r):
            print(f"  skipped: {r.get('name')} ({r.get('message')})")
        if deliberate(r):
            print(f"  refused on purpose: {r.get('name')} ({r.get('message')}): a made-up member")
    for r in unexpected:
        print(f"  UNEXPECTED: {r.get('status')} {r.get('name')}: {r.get('message')}")
    return bool(results) and not unexpected


def main() -> int:
    tools = {"tester": run_tester, "cli": run_cli, "sanity": run_sanity}
    if len(sys.argv) != 4 or sys.argv[1] not in tools:
        print(__doc__, file=sys.stderr)
        return 2
    tool, url, token = sys.argv[1:]
    return 0 if tools[tool](url, token) else 1


if __name__ == "__main__":
    sys.exit(main())
