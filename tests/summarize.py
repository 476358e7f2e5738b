#!/usr/bin/env python3
"""Prints "N passed, N failed" from meson's testlog.json.

GStreamer check binaries report "Checks: N, Failures: F, Errors: E"; each
check counts. Other tests count as one case each. A binary that crashed or
timed out before reporting counts as one failure.
"""
import json
import re
import sys

CHECKS = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")

passed = failed = skipped = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        entry = json.loads(line)
        result = entry.get("result")
        m = CHECKS.search(entry.get("stdout") or "")
        if result == "SKIP":
            skipped += 1
        elif m:
            checks, failures, errors = map(int, m.groups())
            passed += checks - failures - errors
            failed += failures + errors
            if result != "OK" and failures + errors == 0:
                failed += 1
        elif result == "OK":
            passed += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
