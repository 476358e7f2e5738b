#!/usr/bin/env bash
# Installs what gst-gemini needs to build, run and test on Debian 12.
# Idempotent: skips apt-get when everything is already there.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly
  libsoup-3.0-dev libjson-glib-dev
  libpng-dev libjpeg62-turbo-dev libwebp-dev libdeflate-dev
  libyaml-dev libcairo2-dev libpango1.0-dev fonts-dejavu-core
  ca-certificates
  python3-gi gir1.2-gstreamer-1.0
)
if [ "${GST_GEMINI_EXTRA_PACKAGES:-}" ]; then
  read -r -a extra <<<"$GST_GEMINI_EXTRA_PACKAGES"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
