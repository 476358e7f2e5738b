#!/usr/bin/env bash
# The main job: a prompt becomes a PNG file, through the real geminiimagesrc element.
#
#   examples/generate-image.sh "a banana astronaut, watercolor" banana.png [element properties...]
#
# Installs the build dependencies (Debian 12), builds the plugin, then runs
#   geminiimagesrc prompt=... ! videoconvert ! pngenc ! filesink
# With GOOGLE_API_KEY or GEMINI_API_KEY set it talks to the real Gemini API;
# without a key it starts the bundled gemini-emulator on 127.0.0.1 and says so.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
prompt=${1:-"a banana astronaut, watercolor"}
out=${2:-banana.png}
shift $(( $# > 2 ? 2 : $# ))

"$top/.ci/install-deps.sh"
build="$top/build"
[ -f "$build/build.ninja" ] || meson setup "$build" "$top" >/dev/null
ninja -C "$build" >/dev/null

export GST_PLUGIN_PATH="$build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
export GST_REGISTRY="$build/registry.dat"

endpoint_args=()
if [ -n "${GOOGLE_API_KEY:-}${GEMINI_API_KEY:-}" ]; then
  echo "Using the real Gemini API (key from the environment)."
else
  log=$(mktemp)
  "$build/emulator/gemini-emulator" --port 0 >"$log" 2>"$log.err" &
  emu_pid=$!
  trap 'kill $emu_pid 2>/dev/null; rm -f "$log" "$log.err"' EXIT
  for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$log")
  [ -n "$url" ] || { echo "gemini-emulator did not start:"; cat "$log.err"; exit 1; }
  echo "No GOOGLE_API_KEY or GEMINI_API_KEY set: using the bundled Gemini emulator at $url."
  echo "(Its images are synthetic: a colour from the prompt, the prompt text, and the reference images.)"
  endpoint_args=(api-endpoint="$url" api-key=emulator)
fi

gst-launch-1.0 -q geminiimagesrc prompt="$prompt" "${endpoint_args[@]}" "$@" \
  ! videoconvert ! pngenc ! filesink location="$out"
# PNG stores width and height big-endian at bytes 16..23.
size=$(od -An -tu1 -j16 -N8 "$out" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}')
echo "Wrote $out ($size PNG)."
