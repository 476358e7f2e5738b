/* gst-gemini tests: runs gemini-emulator ($GEMINI_EMULATOR) as a child
 * process and talks to its /emulator/ control endpoints.
 *
 * Safe with check's fork mode: the object may be created in the parent
 * (e.g. an unchecked fixture) and used in forked test processes, because
 * every call opens its own HTTP session.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include <memory>
#include <string>
#include <vector>

namespace gemini::test {

class EmulatorProcess {
public:
  /* Spawns $GEMINI_EMULATOR with `extra_args` and waits up to 10 s for its
   * "listening on" line; g_error () on failure. Its stderr is inherited, so
   * test logs show the emulator's request log. */
  explicit EmulatorProcess (const std::vector<std::string> & extra_args = {});
  /* SIGTERM, bounded wait, then SIGKILL if needed. */
  ~EmulatorProcess ();
  EmulatorProcess (const EmulatorProcess &) = delete;
  EmulatorProcess & operator= (const EmulatorProcess &) = delete;

  /* "http://127.0.0.1:PORT", or "https://127.0.0.1:PORT" when started with
   * {"--tls-cert", FILE, "--tls-key", FILE}; the control calls below then
   * trust exactly that certificate. */
  const std::string & base_url () const;
  guint16 port () const;

  /* POST /emulator/script; g_error () unless the emulator answers 200. */
  void set_script (const std::string & script_json);
  /* GET /emulator/requests, parsed; the caller json_node_unref ()s it. */
  JsonNode *requests ();
  /* GET /emulator/status, parsed; the caller json_node_unref ()s it. */
  JsonNode *status ();
  /* POST /emulator/reset: default behaviour, empty request log. */
  void reset ();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemini::test
