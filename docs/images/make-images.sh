#!/usr/bin/env bash
# Regenerates the pictures in docs/images/ through the real element and the
# bundled emulator. Run from anywhere after building into build/.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build="$top/build"
out="$top/docs/images"
export GST_PLUGIN_PATH="$build/plugin" GST_REGISTRY="$build/registry.dat"
tmp=$(mktemp -d)
trap 'kill $emu 2>/dev/null; rm -rf "$tmp"' EXIT

"$build/emulator/gemini-emulator" --port 0 --recorded-dir "$top/tests/data/recorded" >"$tmp/emu.out" 2>/dev/null &
emu=$!
for _ in $(seq 100); do grep -q listening "$tmp/emu.out" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$tmp/emu.out")
src="geminiimagesrc api-endpoint=$url api-key=emulator"

# 1. The main job.
gst-launch-1.0 -q $src prompt="a banana astronaut, watercolor" \
  ! videoconvert ! videoscale ! video/x-raw,width=512,height=512 ! pngenc ! filesink location="$out/banana.png"

# 2. A reference image and an aspect ratio.
gst-launch-1.0 -q videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,width=320,height=240 ! pngenc ! filesink location="$tmp/day.png"
gst-launch-1.0 -q $src prompt="make it night" reference-images="$tmp/day.png" aspect-ratio=16:9 \
  ! videoconvert ! videoscale ! video/x-raw,width=672,height=384 ! pngenc ! filesink location="$out/night-16x9.png"

# 3. A real Nano Banana Pro answer (recorded from Google's API), replayed and decoded by the element.
curl -s -X POST --data '{"steps":[{"do":"replay","file":"test_google_image_generation_with_text.yaml"}]}' "$url/emulator/script" >/dev/null
gst-launch-1.0 -q $src prompt="recorded" ! videoconvert ! videoscale ! video/x-raw,width=704,height=384 \
  ! jpegenc quality=85 ! filesink location="$out/recorded-pro.jpg"
ls -l "$out"
