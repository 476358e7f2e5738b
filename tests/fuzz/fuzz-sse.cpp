/* gst-gemini: libFuzzer target for the Server-Sent Events splitter.
 *
 * Input layout: byte 0 is a piece size (1 + byte mod 64), byte 1 a bound
 * (16 << (byte mod 8) bytes); the rest is the stream. Fed at once and in
 * pieces, the splitter must give the same events, the same status and the
 * same pending (); no event's data may exceed the bound, or hold a CR or
 * (for a one-line event) an LF.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "gemini-sse.h"

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  if (size < 2)
    return 0;
  const size_t piece = 1 + data[0] % 64;
  const size_t bound = size_t (16) << (data[1] % 8);
  const char *text = reinterpret_cast<const char *> (data + 2);
  const size_t n = size - 2;

  gemini::SseSplitter whole (bound);
  std::vector<std::string> a;
  const auto sa = whole.feed (text, n, a);

  gemini::SseSplitter pieces (bound);
  std::vector<std::string> b;
  auto sb = gemini::SseSplitter::Status::Ok;
  for (size_t i = 0; i < n && sb == gemini::SseSplitter::Status::Ok; i += piece)
    sb = pieces.feed (text + i, n - i < piece ? n - i : piece, b);

  if (sa != sb)
    abort ();
  if (sa == gemini::SseSplitter::Status::Ok && (a != b || whole.pending () != pieces.pending ()))
    abort ();
  for (const std::string & e : a) {
    if (e.size () > bound || e.find ('\r') != std::string::npos)
      abort ();
  }
  return 0;
}
