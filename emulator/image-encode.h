/* gst-gemini emulator: the image encoders, which live in the plugin's image
 * library (plugin/gemini-image-encode.h), under the names the emulator and
 * its tests use.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gemini-image-encode.h"

namespace gemini::emulator {

using gemini::allocate_image;
using gemini::encode_image;
using gemini::encode_jpeg;
using gemini::encode_png;
using gemini::encode_webp;

}  // namespace gemini::emulator
