/* gst-gemini: a fast whole-buffer decoder for the PNGs Gemini answers
 * (8-bit RGB or RGBA, not interlaced), with libdeflate instead of zlib.
 * Anything else, or anything unusual, is left to libpng, so pixels and
 * error messages are libpng's in every case.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <functional>

namespace gemini {

/* What png_fast_parse found: enough to plan the output buffer. */
struct PngFastPlan {
  guint32 width = 0;
  guint32 height = 0;
  /* Colour type 6 (RGBA) rather than 2 (RGB). */
  bool alpha = false;
  /* The first IDAT chunk's header offset, how many consecutive IDAT chunks
   * there are and their total data length. */
  gsize first_idat = 0;
  guint idat_count = 0;
  gsize idat_bytes = 0;
};

/* Walks every chunk and checks every CRC; true when this is a PNG the fast
 * path decodes exactly as libpng's simplified API would. Allocates nothing. */
bool png_fast_parse (const guint8 * data, gsize size, PngFastPlan & plan);

enum class PngFastStatus {
  Ok,
  /* Something libpng has to judge (zlib error, bad filter byte, wrong
   * amount of data): `out` holds garbage, decode with libpng instead. */
  NotHandled,
  /* `stop` said so. */
  Stopped,
};

/* The bytes png_fast_decode needs at `out`: stride * height and a little
 * more, as the inflated image is unfiltered in place at the buffer's end.
 * 0: too large for this path (it cannot be interrupted while inflating). */
gsize png_fast_buffer_size (const PngFastPlan & plan, bool rgba, gsize stride);

/* Decodes the image `plan` describes into `out` (png_fast_buffer_size
 * bytes; stride bytes per row, 3 bytes per pixel, or 4 when the image has
 * alpha or `rgba` is set, then A = 255). `stop` is asked between stages
 * and every few rows. */
PngFastStatus png_fast_decode (const guint8 * data, const PngFastPlan & plan,
    bool rgba, guint8 * out, gsize stride, const std::function<bool ()> & stop);

}  // namespace gemini
