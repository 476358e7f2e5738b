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

prompt=${1:-"a banana astronaut, watercolor"}
out=${2:-banana.png}
shift $(( $# > 2 ? 2 : $# ))

# Installs and builds, starts the emulator when there is no key, sets endpoint_args.
# shellcheck source=examples/common.sh
. "$(dirname "$0")/common.sh"

gst-launch-1.0 -q geminiimagesrc prompt="$prompt" "${endpoint_args[@]}" "$@" \
  ! videoconvert ! pngenc ! filesink location="$out"
# PNG stores width and height big-endian at bytes 16..23.
size=$(od -An -tu1 -j16 -N8 "$out" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}')
echo "Wrote $out ($size PNG)."
