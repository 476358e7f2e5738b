/* gst-gemini emulator: an Answer, what the server sends back for one
 * generateContent request (over HTTP, or by hand on a stolen connection).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <optional>
#include <string>
#include <vector>

#include "emulator-common.h"

namespace gemini::emulator {

enum class Transport { Http, Reset, Truncate, Hang, Endless, Sse };

/* How a streamGenerateContent?alt=sse answer is sent (the "stream" step's
 * parameters; the defaults for any other step). */
struct SseShape {
  guint first_event_ms = 0;     /* after the headers, before the first event */
  guint gap_ms = 0;             /* between two events */
  guint write_bytes = 0;        /* each event in writes of this many bytes; 0: one write */
  guint write_gap_ms = 0;       /* between two writes of one event */
  std::optional<guint> cut_at;  /* this event (from 0) is cut in its middle, the connection closed */
  std::string separator = "\r\n";  /* the line end: CRLF as Google sends, or LF, or CR */
  guint64 signature_bytes = 0;  /* the final image's thoughtSignature: this many bytes (base64'd); 0: as usual */
  std::optional<guint> drafts;  /* thought images; default 2 when streaming */
};

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
  SseShape sse;
  std::vector<std::string> events;  /* Sse: each event's data (one JSON line) */
};

}  // namespace gemini::emulator
