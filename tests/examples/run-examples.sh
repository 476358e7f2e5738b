#!/usr/bin/env bash
# The examples, run as a user would (no key: the bundled emulator), against this build:
#   run-examples.sh SOURCE_ROOT BUILD_ROOT
# Each must exit 0 and end with the line that says what it wrote. Prints a
# GstCheck-style "Checks: N, Failures: N" line for tests/summarize.py.
set -uo pipefail
src=$1
export GST_GEMINI_BUILD_DIR=$2
unset GOOGLE_API_KEY GEMINI_API_KEY GOOGLE_GEMINI_BASE_URL
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
checks=0 failures=0

check() {   # check NAME EXPECTED-LAST-LINE COMMAND...
  local name=$1 want=$2
  shift 2
  checks=$((checks + 1))
  local out
  out=$(cd "$tmp" && timeout 300 "$@" 2>&1)
  local rc=$? last
  last=$(printf '%s\n' "$out" | tail -1)
  if [ $rc -ne 0 ] || [ "$last" != "$want" ]; then
    failures=$((failures + 1))
    echo "FAIL $name (exit $rc): expected \"$want\", output:"
    printf '%s\n' "$out" | tail -20
  else
    echo "ok $name: $last"
  fi
}

check generate-image "Wrote $tmp/banana.png (1024x1024 PNG)." \
  "$src/examples/generate-image.sh" "a banana astronaut, watercolor" "$tmp/banana.png"
check storyboard "Wrote $tmp/storyboard.mp4 (1280x720 H.264 at 25 fps: 250 frames, 10.000 s)." \
  "$src/examples/storyboard.sh" "$src/examples/storyboard.srt" "$tmp/storyboard.mp4"
if [ -e /dev/video0 ]; then
  echo "skip restyle-live: this machine has a camera, whose frame count is its own"
else
  check restyle-live "Wrote restyled.mp4 (1280x720 H.264 at 30 fps: 300 frames, 10.000 s)." \
    "$src/examples/restyle-live.sh"
fi
echo "Checks: $checks, Failures: $failures, Errors: 0"
[ $failures -eq 0 ]
