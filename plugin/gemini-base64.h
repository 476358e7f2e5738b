/* gst-gemini: strict base64 decoding in one pass, in place if asked.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <optional>

namespace gemini {

/* The most bytes decode_base64 () writes for `length` characters. */
constexpr gsize
base64_decoded_bound (gsize length)
{
  return length / 4 * 3 + 2;
}

/* Decodes standard-alphabet base64: padding optional, ASCII whitespace
 * ignored anywhere; any other character, data after padding, more than two
 * '=' or a length no encoder writes refuse the text (GLib's decoder skips
 * what it does not know, which turns corrupt data into a different image).
 * Returns the bytes written to `out`, or nullopt. `out` has room for
 * base64_decoded_bound (length) bytes; it may be `text` itself, or lie
 * before it, since writing never overtakes reading: an image's base64 is
 * decoded where the HTTP body holds it. On failure `out` holds garbage. */
std::optional<gsize> decode_base64 (const char *text, gsize length, guint8 *out);

}  // namespace gemini
