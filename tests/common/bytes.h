/* gst-gemini tests: GBytes to and from std::string.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <string>

namespace gemini::test {

/* A new GBytes holding a copy of `s`; the caller unrefs it (GBytesPtr). */
inline GBytes *
bytes_of (const std::string & s)
{
  return g_bytes_new (s.data (), s.size ());
}

/* A copy of the bytes; "" for nullptr. */
inline std::string
string_of (GBytes * b)
{
  if (!b)
    return {};
  gsize size = 0;
  const char *data = static_cast<const char *> (g_bytes_get_data (b, &size));
  return std::string (data ? data : "", size);
}

}  // namespace gemini::test
