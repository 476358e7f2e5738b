# shellcheck shell=bash disable=SC2034  # endpoint_args is for the scripts that source this file
# Sourced by the examples (bash). Installs the build dependencies (Debian 12), builds the plugin and
# gemini-emulator, points GStreamer at the uninstalled plugin, and sets endpoint_args:
#   - GOOGLE_API_KEY or GEMINI_API_KEY set: empty, the element calls the real Gemini API;
#   - no key: it starts the bundled gemini-emulator on 127.0.0.1 (stopped on exit), says so, and
#     endpoint_args=(api-endpoint=http://127.0.0.1:PORT api-key=emulator).
# Sets top (the repository) and build (GST_GEMINI_BUILD_DIR, else $top/build).

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

"$top/.ci/install-deps.sh"
build="${GST_GEMINI_BUILD_DIR:-$top/build}"
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

# describe_video FILE: "N frames, S s" of the first video stream of an MP4/MOV file, counted by qtdemux
# (every sample and the sum of their durations; needs no decoder).
describe_video() {
  gst-launch-1.0 -v filesrc location="$1" ! qtdemux name=d d.video_0 ! fakesink silent=false 2>/dev/null |
    sed -n 's/.*chain   \*\*\*\*\*\*\* .* duration: \([0-9]*\):\([0-9]*\):\([0-9.]*\),.*/\1 \2 \3/p' |
    awk '{ n++; s += $1 * 3600 + $2 * 60 + $3 } END { printf "%d frames, %.3f s", n, s }'
}
