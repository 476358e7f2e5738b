#!/usr/bin/env bash
# A camera restyled live: every 3 seconds the newest camera frame goes to Gemini with the prompt, and the
# answer is shown until the next one, in a steady 30 fps stream.
#
#   examples/restyle-live.sh [--show] ["as a watercolor painting"] [restyled.mp4] [element properties...]
#
# Installs the build dependencies (Debian 12), builds the plugin, then runs
#   v4l2src ! videoconvert ! video/x-raw,format=I420 ! g.reference_sink_0 geminiimagesrc name=g prompt=... is-live=true
#     framerate=30/1 reference-interval=3000000000 stale-policy=latest placeholder=black num-buffers=300
#     ! videoconvert ! videoscale ! x264enc ! mp4mux ! filesink
# using the camera /dev/video0 when there is one, else a moving videotestsrc pattern (it says which).
# Black until the first image; 300 frames (10 s) and then it ends by itself (num-buffers=N changes that).
# The I420 caps make the element send the camera frames as JPEG: from a format with alpha (which videoconvert
# would otherwise pick) it sends PNG, several times larger.
# --show: to autovideosink instead of a file.
# With GOOGLE_API_KEY or GEMINI_API_KEY set it talks to the real Gemini API;
# without a key it starts the bundled gemini-emulator on 127.0.0.1 and says so.
set -euo pipefail

show=false
if [ "${1:-}" = --show ]; then show=true; shift; fi
prompt=${1:-"as a watercolor painting"}
if $show; then
  shift $(( $# > 1 ? 1 : $# ))
else
  out=${2:-restyled.mp4}
  shift $(( $# > 2 ? 2 : $# ))
fi
width=1280 height=720 fps=30

# Installs and builds, starts the emulator when there is no key, sets endpoint_args.
# shellcheck source=examples/common.sh
. "$(dirname "$0")/common.sh"

if [ -e /dev/video0 ]; then
  echo "Camera: /dev/video0 (v4l2src)."
  source=(v4l2src device=/dev/video0)
else
  echo "No /dev/video0: using videotestsrc is-live=true pattern=ball instead of a camera."
  source=(videotestsrc is-live=true pattern=ball ! "video/x-raw,width=640,height=480,framerate=$fps/1")
fi

if $show; then
  sink=(autovideosink)
else
  sink=(x264enc speed-preset=veryfast ! mp4mux ! filesink location="$out")
fi

gst-launch-1.0 -q -e "${source[@]}" ! videoconvert ! video/x-raw,format=I420 ! g.reference_sink_0 \
  geminiimagesrc name=g prompt="$prompt" is-live=true framerate=$fps/1 reference-interval=3000000000 \
  stale-policy=latest placeholder=black num-buffers=$((10 * fps)) "${endpoint_args[@]}" "$@" \
  ! videoconvert ! videoscale ! "video/x-raw,width=$width,height=$height,pixel-aspect-ratio=1/1" \
  ! "${sink[@]}"
if $show; then
  echo "Done."
else
  echo "Wrote $out (${width}x$height H.264 at $fps fps: $(describe_video "$out"))."
fi
