/* gst-gemini: differential libFuzzer target for the fast PNG path
 * (plugin/gemini-png-fast.cpp) against the libpng path.
 *
 * Input layout: byte 0 holds flags (bit 0: decode to RGBA; bit 1: fix every
 * chunk's CRC first, so that mutations reach past the CRC check); the rest
 * is the PNG. Decoded with and without the fast path, the answers must be
 * the same: success, error text, flags, layout and every pixel.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <zlib.h>

#include "gemini-image.h"

namespace {

/* Rewrites the CRC of every whole chunk after the signature. */
void
fix_crcs (std::vector<guint8> & png)
{
  gsize at = 8;
  while (at + 12 <= png.size ()) {
    guint64 len = (guint64 (png[at]) << 24) | (png[at + 1] << 16) | (png[at + 2] << 8) | png[at + 3];
    if (len > png.size () - at - 12)
      return;
    guint32 crc = crc32 (0, png.data () + at + 4, static_cast<uInt> (len + 4));
    guint8 *p = png.data () + at + 8 + len;
    p[0] = crc >> 24;
    p[1] = (crc >> 16) & 0xff;
    p[2] = (crc >> 8) & 0xff;
    p[3] = crc & 0xff;
    at += 12 + len;
  }
}

[[noreturn]] void
differ (const char *what, const std::string & fast, const std::string & ref)
{
  std::fprintf (stderr, "fuzz-png: %s differs: fast path '%s', libpng '%s'\n", what,
      fast.c_str (), ref.c_str ());
  std::abort ();
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  if (size < 1)
    return 0;
  const guint8 flags = data[0];
  std::vector<guint8> png (data + 1, data + size);
  if (flags & 2)
    fix_crcs (png);

  gemini::DecodeLimits limits;
  limits.max_pixels = 1u << 20;  /* keeps RSS small; the refusal is compared too */
  limits.max_decode_seconds = 0;
  limits.rgba = flags & 1;
  gemini::DecodeLimits reference = limits;
  reference.no_fast_path = true;

  gemini::DecodedImage fast, ref;
  std::string fast_error, ref_error;
  bool fast_ok = gemini::decode_image (png.data (), png.size (), limits, fast, fast_error);
  bool ref_ok = gemini::decode_image (png.data (), png.size (), reference, ref, ref_error);
  if (fast_ok != ref_ok)
    differ ("success", fast_ok ? "ok" : fast_error, ref_ok ? "ok" : ref_error);
  if (fast_error != ref_error)
    differ ("error", fast_error, ref_error);
  if (fast.over_limit != ref.over_limit || fast.pathological != ref.pathological
      || fast.cancelled != ref.cancelled)
    differ ("flags", fast_error, ref_error);
  if (!fast_ok)
    return 0;
  if (fast.width != ref.width || fast.height != ref.height || fast.has_alpha != ref.has_alpha
      || fast.opaque != ref.opaque || fast.stride != ref.stride || fast.size != ref.size)
    differ ("layout", std::to_string (fast.width) + "x" + std::to_string (fast.height),
        std::to_string (ref.width) + "x" + std::to_string (ref.height));
  const gsize row = gsize (fast.width) * (fast.has_alpha ? 4 : 3);
  for (int y = 0; y < fast.height; y++)
    if (std::memcmp (fast.pixels.get () + y * fast.stride, ref.pixels.get () + y * ref.stride, row) != 0)
      differ ("pixels", "row " + std::to_string (y), "");
  return 0;
}
