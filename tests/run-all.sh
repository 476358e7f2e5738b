#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test. Ends with the line
# "N passed, N failed" (N counts individual test cases, not binaries).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-"$top/build"}

# GST_GEMINI_SANITIZERS=1 (set by .ci/run) adds .ci/sanitizers.sh: the C++
# suites again under ASan+UBSan and a 60 s fuzzing run (clang, ~10 min more).
sanitizers=${GST_GEMINI_SANITIZERS:-0}
if [ "$sanitizers" = 1 ]; then
  export GST_GEMINI_EXTRA_PACKAGES="${GST_GEMINI_EXTRA_PACKAGES:-} clang libclang-rt-14-dev llvm-14"
fi

"$top/.ci/install-deps.sh" || exit 1
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$top" ${MESON_ARGS:-} || exit 1
fi
ninja -C "$build" || exit 1

# Google's own client, for the interoperability test (skipped without node/npm).
if command -v npm >/dev/null 2>&1 && [ ! -d "$top/tests/genai/node_modules/@google/genai" ]; then
  (cd "$top/tests/genai" && npm install --no-audit --no-fund --loglevel=error) ||
    echo "npm install failed: the genai-client test will be skipped"
fi

meson test -C "$build" --print-errorlogs ${MESON_TEST_ARGS:-}
rc=$?

summary_args=()
if [ "$sanitizers" = 1 ]; then
  asan_build=${ASAN_BUILD_DIR:-"$top/build-asan"}
  ASAN_BUILD_DIR="$asan_build" "$top/.ci/sanitizers.sh" || rc=1
  summary_args=(--sanitizers "$asan_build/sanitizer-results")
fi

python3 "$top/tests/summarize.py" "$build/meson-logs/testlog.json" "${summary_args[@]}" || rc=1
exit $rc
