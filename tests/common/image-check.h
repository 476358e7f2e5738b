/* gst-gemini tests: decoding images the tests received, and comparing
 * colours with what the emulator drew. For check tests (the helpers fail
 * the running test); this header does not include <gst/check/gstcheck.h>.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <string>

#include "emulator-image.h"
#include "gemini-image.h"

namespace gemini::test {

/* Decodes `size` bytes with gemini::decode_image (default limits); fails
 * the test, naming `what`, when they do not decode. */
DecodedImage decode_or_fail (const guint8 * data, gsize size, const char *what);
/* The same for `bytes`, which must be an image of format `expected`. */
DecodedImage decode_as (const std::string & bytes, ImageFormat expected);
/* The same for base64 text (an inlineData.data). */
DecodedImage decode_base64_image (const char *b64, ImageFormat expected);
/* The same for a file. */
DecodedImage decode_file_image (const std::string & path);

/* Each channel of `got` within `tolerance` of `want`, else the test fails
 * with `what` and both colours. */
void expect_color (emulator::Rgb got, emulator::Rgb want, int tolerance, const char *what);
/* The same for the first three bytes at `rgb` (an R,G,B pixel). */
void expect_color (const guint8 * rgb, emulator::Rgb want, int tolerance, const char *what);

}  // namespace gemini::test
