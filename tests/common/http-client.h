/* gst-gemini tests: one HTTP request with libsoup, on a fresh session, as a
 * test client talks to gemini-emulator (its API and its /emulator/ control
 * endpoints). Blocking; usable from any thread and from a process forked
 * after another session was made.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <string>
#include <utility>
#include <vector>

#include "plugin/gemini-json.h"
#include "plugin/glib-raii.h"

namespace gemini::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpOptions {
  std::string proxy;                /* "" = direct: no proxy, whatever the environment says */
  GTlsDatabase *tls_db = nullptr;   /* nullptr = the system's CAs; borrowed */
  guint timeout_s = 60;             /* SoupSession:timeout */
  Headers headers;                  /* added to the request */
};

struct HttpReply {
  guint status = 0;                 /* 0 with `error` set when no answer came */
  std::string body;
  std::string content_type;
  Headers headers;
  GErrorPtr error;
  JsonNodePtr json;                 /* the body, when it is application/json and parse_json () takes it */
  double seconds = 0;               /* request sent until body read */

  /* The first header called `name` (any case), or nullptr. */
  const char *header (const char *name) const;
};

/* A new session with `options`' proxy (or none), TLS database and timeout;
 * for a test that reads a response as a stream. The caller unrefs it. */
SoupSession *http_session (const HttpOptions & options = {});

/* `method` `url`, with `body` (as application/json) unless nullptr, on a
 * session of its own. */
HttpReply http_request (const std::string & method, const std::string & url, const std::string * body,
    const HttpOptions & options = {});

}  // namespace gemini::test
