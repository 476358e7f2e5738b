/* gst-gemini tests: decoding received images, comparing colours.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include "image-check.h"

#include <string>

#include "plugin/glib-raii.h"
#include "test-files.h"

#include <gst/check/gstcheck.h>

namespace gemini::test {

DecodedImage
decode_or_fail (const guint8 * data, gsize size, const char *what)
{
  DecodedImage img;
  std::string error;
  fail_unless (decode_image (data, size, DecodeLimits {}, img, error), "%s: %s", what, error.c_str ());
  return img;
}

DecodedImage
decode_as (const std::string & bytes, ImageFormat expected)
{
  DecodedImage img = decode_or_fail (reinterpret_cast<const guint8 *> (bytes.data ()), bytes.size (), "image");
  fail_unless (img.source_format == expected, "the image is format %d, expected %d", int (img.source_format),
      int (expected));
  return img;
}

DecodedImage
decode_base64_image (const char *b64, ImageFormat expected)
{
  fail_unless (b64 != nullptr);
  gsize len = 0;
  GCharPtr bytes (reinterpret_cast<gchar *> (g_base64_decode (b64, &len)));
  return decode_as (std::string (bytes.get (), len), expected);
}

DecodedImage
decode_file_image (const std::string & path)
{
  const std::string data = read_file (path);
  return decode_or_fail (reinterpret_cast<const guint8 *> (data.data ()), data.size (), path.c_str ());
}

void
expect_color (emulator::Rgb got, emulator::Rgb want, int tolerance, const char *what)
{
  fail_unless (ABS (got.r - want.r) <= tolerance && ABS (got.g - want.g) <= tolerance &&
      ABS (got.b - want.b) <= tolerance, "%s: got %d,%d,%d expected %d,%d,%d", what, got.r, got.g, got.b,
      want.r, want.g, want.b);
}

void
expect_color (const guint8 * rgb, emulator::Rgb want, int tolerance, const char *what)
{
  expect_color (emulator::Rgb {rgb[0], rgb[1], rgb[2]}, want, tolerance, what);
}

}  // namespace gemini::test
