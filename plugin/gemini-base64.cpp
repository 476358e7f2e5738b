/* gst-gemini: strict base64 decoding in one pass, in place if asked.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-base64.h"

#include <array>

namespace gemini {

namespace {

constexpr gint8 kPad = -2, kSpace = -3, kInvalid = -1;

constexpr std::array<gint8, 256>
make_table ()
{
  std::array<gint8, 256> t {};
  for (auto & v : t)
    v = kInvalid;
  const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; i++)
    t[static_cast<guchar> (alphabet[i])] = static_cast<gint8> (i);
  t['='] = kPad;
  t[' '] = t['\t'] = t['\n'] = t['\r'] = kSpace;
  return t;
}

constexpr std::array<gint8, 256> kTable = make_table ();

}  // namespace

std::optional<gsize>
decode_base64 (const char *text, gsize length, guint8 *out)
{
  const auto *in = reinterpret_cast<const guchar *> (text);
  gsize i = 0, o = 0;
  guint32 acc = 0;
  guint held = 0;      /* sextets in acc */
  guint padding = 0;
  while (i < length) {
    /* Whole groups of four alphabet characters: the bulk of any image. */
    if (held == 0 && padding == 0) {
      while (length - i >= 4) {
        const gint32 a = kTable[in[i]], b = kTable[in[i + 1]], c = kTable[in[i + 2]], d = kTable[in[i + 3]];
        if ((a | b | c | d) < 0)
          break;
        const guint32 v = (guint32 (a) << 18) | (guint32 (b) << 12) | (guint32 (c) << 6) | guint32 (d);
        i += 4;
        out[o] = guint8 (v >> 16);
        out[o + 1] = guint8 (v >> 8);
        out[o + 2] = guint8 (v);
        o += 3;
      }
      if (i >= length)
        break;
    }
    /* One character at a time: whitespace, padding, the tail. */
    const gint8 v = kTable[in[i++]];
    if (v >= 0) {
      if (padding)
        return std::nullopt;   /* data after padding */
      acc = (acc << 6) | guint32 (v);
      if (++held == 4) {
        out[o] = guint8 (acc >> 16);
        out[o + 1] = guint8 (acc >> 8);
        out[o + 2] = guint8 (acc);
        o += 3;
        acc = 0;
        held = 0;
      }
    } else if (v == kPad) {
      if (++padding > 2)
        return std::nullopt;
    } else if (v != kSpace) {
      return std::nullopt;
    }
  }
  /* What is left: 2 sextets give a byte, 3 give two; padding, if any, must
   * complete the group. */
  if (held == 1 || (padding && held + padding != 4))
    return std::nullopt;
  if (held == 2) {
    out[o++] = guint8 (acc >> 4);
  } else if (held == 3) {
    out[o] = guint8 (acc >> 10);
    out[o + 1] = guint8 (acc >> 2);
    o += 2;
  }
  return o;
}

}  // namespace gemini
