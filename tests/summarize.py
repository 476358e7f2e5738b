#!/usr/bin/env python3
"""Prints "N passed, N failed" from meson's testlog.json files.

    summarize.py TESTLOG.json [--sanitizers RESULTS_DIR]

GStreamer check binaries report "Checks: N, Failures: F, Errors: E"; each
check counts. Other tests count as one case each. A binary that crashed or
timed out before reporting counts as one failure.

With --sanitizers (tests/run-all.sh passes it when GST_GEMINI_SANITIZERS=1),
RESULTS_DIR is what .ci/sanitizers.sh wrote: the ASan+UBSan build's
testlog.json, counted the same way, and fuzz.txt, the fuzzing run's line,
counted as one case ("0 crashes" passes). A test whose output holds a
sanitizer report counts one more failure even if its exit status was 0: the
report may come from a child process, e.g. the emulator. A missing file, or a
failed.txt, counts as one failure.
"""
import argparse
import json
import os
import re
import sys

CHECKS = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")
# ASan/LSan: "==123==ERROR: AddressSanitizer: ..."; UBSan: "file:1:2: runtime error: ...".
SANITIZER_REPORT = re.compile(
    r"^==\d+==ERROR: (?:Address|Leak)Sanitizer|^\S+:\d+:\d+: runtime error: ", re.M)
FUZZ_CRASHES = re.compile(r"^fuzz: .*?(\d+) crash", re.M)


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped

    def line(self):
        return f"{self.passed} passed, {self.failed} failed" + (
            f", {self.skipped} skipped" if self.skipped else "")


def count_testlog(path):
    t = Tally()
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            result = entry.get("result")
            output = (entry.get("stdout") or "") + (entry.get("stderr") or "")
            m = CHECKS.search(entry.get("stdout") or "")
            if result == "SKIP":
                t.skipped += 1
            elif m:
                checks, failures, errors = map(int, m.groups())
                t.passed += checks - failures - errors
                t.failed += failures + errors
                if result != "OK" and failures + errors == 0:
                    t.failed += 1
            elif result == "OK":
                t.passed += 1
            else:
                t.failed += 1
            if result == "OK" and SANITIZER_REPORT.search(output):
                print(f"{entry.get('name')}: sanitizer report in its output", file=sys.stderr)
                t.failed += 1
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("testlog")
    ap.add_argument("--sanitizers", metavar="RESULTS_DIR")
    args = ap.parse_args()

    total = count_testlog(args.testlog)
    if args.sanitizers:
        print(f"tests: {total.line()}")
        d = args.sanitizers
        failed_marker = os.path.join(d, "failed.txt")
        if os.path.exists(failed_marker):
            with open(failed_marker, encoding="utf-8") as f:
                print(f.read().strip())
        asan_log = os.path.join(d, "testlog.json")
        if os.path.exists(asan_log):
            asan = count_testlog(asan_log)
            print(f"ASan+UBSan tests: {asan.line()}")
            total.add(asan)
        else:
            print("ASan+UBSan tests: did not run")
            total.failed += 1
        fuzz_txt = os.path.join(d, "fuzz.txt")
        fuzz_line = ""
        if os.path.exists(fuzz_txt):
            with open(fuzz_txt, encoding="utf-8") as f:
                fuzz_line = f.read().strip()
        m = FUZZ_CRASHES.search(fuzz_line)
        if m:
            print(fuzz_line)
            if int(m.group(1)) == 0:
                total.passed += 1
            else:
                total.failed += 1
        else:
            print("fuzz: did not run")
            total.failed += 1
    print(total.line())
    return 1 if total.failed else 0


sys.exit(main())
