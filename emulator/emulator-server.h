/* gst-gemini emulator: an HTTP server (libsoup SoupServer) answering
 * POST /v1beta/models/{model}:generateContent (and ListModels, GET
 * /v1beta/models[/{model}]) like the Gemini Developer API, and Vertex AI's
 * generateContent paths (projects/…/publishers/google/models/…, express),
 * with scripted failures and control endpoints under /emulator/.
 * Single-threaded: everything runs on the thread-default GMainContext.
 * See docs/emulator.md.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <memory>
#include <optional>
#include <string>

namespace gemini::emulator {

struct ServerOptions {
  std::string host = "127.0.0.1";
  guint16 port = 0;                   /* 0: any free port */
  bool allow_remote = false;          /* permit a non-loopback host */
  std::optional<std::string> api_key; /* when set, other keys get 400 API_KEY_INVALID */
  std::optional<std::string> access_token; /* when set, other Bearer tokens get 401 UNAUTHENTICATED */
  std::string recorded_dir;           /* base for relative "replay" files */
  guint latency_ms = 0;               /* default delay of every generateContent answer */
  guint list_page_size = 0;           /* ListModels page size cap; 0: the API's (1000) */
  bool quiet = false;                 /* no per-request log lines */
  std::string tls_cert_file;          /* PEM; with tls_key_file: serve HTTPS */
  std::string tls_key_file;           /* PEM private key (may be the cert file) */
};

class Server {
public:
  explicit Server (ServerOptions options);
  ~Server ();
  Server (const Server &) = delete;
  Server & operator= (const Server &) = delete;

  /* Replaces the script (see docs/emulator.md) and resets the step counter. */
  bool set_script (const std::string & json, std::string & error);

  /* Starts listening; `url` is e.g. "http://127.0.0.1:43117", or
   * "https://..." with a TLS certificate. */
  bool start (std::string & url, std::string & error);

  /* Closes every connection (including hung and streaming ones) and stops
   * listening. Called by the destructor too. */
  void stop ();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemini::emulator
