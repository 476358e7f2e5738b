#!/usr/bin/env python3
"""Replaces, in the ASan run's testlog.json, the entry of a test whose only
failure was a LeakSanitizer report by its rerun with whole allocation stacks
(leak-stacks.json), when that rerun passed without a leak report.

    confirm-leaks.py TESTLOG.json LEAK-STACKS.json

.ci/sanitizers.sh says why: the fast unwinder's stacks cannot be matched by
tests/lsan.supp. A test that failed a check, crashed, or has an ASan or UBSan
report keeps its first result.

Exit status: 0 when every test in the rewritten log passed, so the stage's
result follows the confirmed log, not the first run's exit status.
"""
import json
import re
import sys

first_path, rerun_path = sys.argv[1], sys.argv[2]
rerun = {}
for line in open(rerun_path, encoding="utf-8"):
    e = json.loads(line)
    rerun[e["name"]] = e

all_checks_passed = re.compile(r"Checks: \d+, Failures: 0, Errors: 0")
other_report = re.compile(r"ERROR: AddressSanitizer|runtime error: ")
check_failure = re.compile(r"^\S+:\d+:[FE]:.*$", re.M)


def text(e):
    return (e.get("stdout") or "") + (e.get("stderr") or "")


out = []
failed = []
for line in open(first_path, encoding="utf-8"):
    e = json.loads(line)
    r = rerun.get(e["name"])
    t = text(e)
    if (r and "ERROR: LeakSanitizer" in t and all_checks_passed.search(t) and not other_report.search(t)
            and r.get("result") == "OK" and "ERROR: LeakSanitizer" not in text(r)):
        print("sanitizers: %s: its leak report is not confirmed with whole allocation stacks "
              "(GLib's first quark block, tests/lsan.supp); the rerun counts" % e["name"])
        e = r
    elif r and r.get("result") != "OK":
        # Say why the rerun did not confirm: a check it failed (a longjmp
        # out of a test also leaks that test's locals) or the leak itself.
        why = check_failure.findall(text(r)) or ["a leak report with whole stacks"]
        print("sanitizers: %s: its rerun failed too: %s" % (e["name"], "; ".join(why[:3])))
    if e.get("result") not in ("OK", "EXPECTEDFAIL", "SKIP"):
        failed.append(e["name"])
    out.append(json.dumps(e))
with open(first_path, "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")
if failed:
    print("sanitizers: still failing after the rerun: %s" % ", ".join(failed))
sys.exit(1 if failed else 0)
