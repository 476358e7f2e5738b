/* gst-gemini emulator: an Answer, what the server sends back for one
 * generateContent request (over HTTP, or by hand on a stolen connection).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <string>

#include "emulator-common.h"

namespace gemini::emulator {

enum class Transport { Http, Reset, Truncate, Hang, Endless };

struct Answer {
  Transport transport = Transport::Http;
  guint status = 200;
  std::string content_type = kJsonType;
  std::string body;
  Headers headers;
  std::string kind;    /* "image", "text-only", "finish:NO_IMAGE", "error", ... */
  std::string detail;  /* "1344x768 PNG", an error message, ... */
  guint delay_ms = 0;
  gsize send_bytes = 0;  /* truncate: body bytes really sent */
  guint chunk_bytes = 0, interval_ms = 0;  /* endless */
};

}  // namespace gemini::emulator
