#!/usr/bin/env bash
# A subtitle file becomes a storyboard video: one image per subtitle, shown for the subtitle's time.
#
#   examples/storyboard.sh [examples/storyboard.srt] [storyboard.mp4] [element properties...]
#
# Installs the build dependencies (Debian 12), builds the plugin, then runs
#   filesrc ! subparse ! g.prompt_sink geminiimagesrc name=g ! videoconvert ! videoscale
#     ! compositor background=black ! video/x-raw,framerate=25/1 ! x264enc ! mp4mux ! filesink
# Each subtitle is one generation; its image is timestamped with the subtitle's start and lasts its
# duration. compositor turns these still images into 25 frames per second, repeating each image over its
# duration and showing black where no subtitle is. (videorate would switch to the next image half-way
# between two subtitles and, in GStreamer 1.22, drop the last image at EOS.)
# With GOOGLE_API_KEY or GEMINI_API_KEY set it talks to the real Gemini API;
# without a key it starts the bundled gemini-emulator on 127.0.0.1 and says so.
set -euo pipefail

srt=${1:-"$(dirname "$0")/storyboard.srt"}
out=${2:-storyboard.mp4}
shift $(( $# > 2 ? 2 : $# ))
width=1280 height=720 fps=25

# Installs and builds, starts the emulator when there is no key, sets endpoint_args.
# shellcheck source=examples/common.sh
. "$(dirname "$0")/common.sh"

[ -r "$srt" ] || { echo "Cannot read the subtitle file $srt."; exit 1; }

gst-launch-1.0 -q filesrc location="$srt" ! subparse ! g.prompt_sink \
  geminiimagesrc name=g aspect-ratio=16:9 "${endpoint_args[@]}" "$@" \
  ! videoconvert ! videoscale ! "video/x-raw,width=$width,height=$height,pixel-aspect-ratio=1/1" \
  ! compositor background=black ! "video/x-raw,framerate=$fps/1" \
  ! videoconvert ! x264enc ! mp4mux ! filesink location="$out"
echo "Wrote $out (${width}x$height H.264 at $fps fps: $(describe_video "$out"))."
