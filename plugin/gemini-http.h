/* gst-gemini: the HTTP engine.
 *
 * libsoup 3 makes no attempt at thread safety, so (like souphttpsrc) each
 * engine owns one thread with its own GMainContext and SoupSession and runs
 * every request there with the async API. Other threads start a request with
 * HttpEngine::send() and wait on the returned HttpCall, which they can cancel
 * at any time; a cancelled or timed-out wait returns at once, whatever the
 * socket is doing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "glib-raii.h"

namespace gemini {

struct HttpRequest {
  std::string url;
  /* Header values are never logged by the engine; a header named here is
   * shown as "[REDACTED]" when HTTP logging is on. */
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
  GBytesPtr body;
};

struct HttpResponse {
  guint status = 0;
  std::string retry_after;   /* Retry-After header, "" if absent */
  std::string content_type;
  GBytesPtr body;
  GErrorPtr error;           /* set on transport failure (no usable response) */
  bool too_large = false;    /* body exceeded HttpEngine::Config::max_response_bytes */
};

class HttpEngine;

/* One request in flight. Shared by the waiting thread and the engine thread. */
class HttpCall : public std::enable_shared_from_this<HttpCall> {
public:
  enum class WaitResult { Done, Cancelled, TimedOut };

  /* Blocks until the response is complete, cancel() is called, or the
   * deadline passes. On TimedOut the request is cancelled as well. Once
   * cancel() was called the result is Cancelled, even if the response
   * completed meanwhile. */
  WaitResult wait_until (std::chrono::steady_clock::time_point deadline);

  /* Thread-safe; wakes a waiter at once. The socket is closed on the engine
   * thread shortly after. */
  void cancel ();

  /* Valid after wait_until() returned Done. */
  HttpResponse & response () { return response_; }

private:
  friend class HttpEngine;

  std::mutex lock_;
  std::condition_variable cond_;
  bool done_ = false;
  bool cancelled_ = false;
  HttpResponse response_;

  /* Engine-thread state. */
  HttpEngine *engine_ = nullptr;
  GObjectPtr<GCancellable> cancellable_{g_cancellable_new ()};
  GObjectPtr<GObject> message_;   /* SoupMessage */
  GObjectPtr<GInputStream> stream_;
  GByteArray *buffer_ = nullptr;
  HttpRequest request_;
  GMainContextPtr context_;       /* the engine's, for cancel() */

  /* Engine thread: publishes the result and drops libsoup objects there. */
  void complete ();

public:
  ~HttpCall ();
};

class HttpEngine {
public:
  struct Config {
    std::string user_agent;
    /* Idle socket timeout; 0 = none. Pro at 4K sends no byte for minutes,
     * so the per-attempt deadline is what bounds a request. */
    guint io_timeout_s = 0;
    gsize max_response_bytes = 64 * 1024 * 1024;
    /* nullptr: the system's CA store. A test server's certificate otherwise. */
    GObjectRef<GTlsDatabase> tls_database;
    /* "" = GIO's default resolver (http_proxy & co.), else this proxy URI. */
    std::string proxy;
    /* SoupLoggerLogLevel; 0 = no HTTP log. Lines go to `log`, with the
     * value of every header in `secret_headers` replaced by [REDACTED]. */
    int log_level = 0;
    std::function<void (const char *line)> log;
    std::vector<std::string> secret_headers {"x-goog-api-key", "authorization"};
  };

  /* A SoupLogger line with secret header values replaced; exposed for tests. */
  static std::string redact_log_line (const char *line, const std::vector<std::string> & secret_headers);

  HttpEngine () = default;
  ~HttpEngine ();
  HttpEngine (const HttpEngine &) = delete;
  HttpEngine & operator= (const HttpEngine &) = delete;

  /* Starts the engine thread and its session. */
  bool start (const Config & config, std::string & error);
  /* Aborts all requests and joins the thread. Safe to call twice. */
  void stop ();
  bool running () const { return context_ != nullptr; }

  std::shared_ptr<HttpCall> send (HttpRequest request);

private:
  friend class HttpCall;
  Config config_;
  bool stopping_ = false;        /* engine thread only */
  GMainContextPtr context_;
  GMainLoopPtr loop_;
  std::thread thread_;
  GObject *session_ = nullptr;   /* SoupSession, owned by the engine thread */

  void thread_main (std::promise<bool> *ready);
  static void start_call (std::shared_ptr<HttpCall> call);
  static void on_sent (GObject * source, GAsyncResult * res, gpointer user_data);
  static void on_read (GObject * source, GAsyncResult * res, gpointer user_data);
  static void read_next (std::shared_ptr<HttpCall> * holder);
};

}  // namespace gemini
