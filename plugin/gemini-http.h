/* gst-gemini: the HTTP engine.
 *
 * libsoup 3 makes no attempt at thread safety, so (like souphttpsrc) each
 * engine owns one thread with its own GMainContext and SoupSession and runs
 * every request there with the async API. Other threads start a request with
 * HttpEngine::send() and wait on the returned HttpCall, which they can cancel
 * at any time; a cancelled or timed-out wait returns at once, whatever the
 * socket is doing. Code that lives on the engine thread instead (the attempt
 * runner, the scheduler) gets a completion callback there, and one-shot
 * timers on the same context: nothing sleeps, nothing polls.
 *
 * Redirects are never followed (the key header would go along). The engine's
 * own lines (start, stop, each request's URL without userinfo or query, its
 * connection phases, status, size, cancellation, failure; never a header
 * value) go to the GStreamer debug category "geminihttp"; the HTTP traffic
 * itself, when asked for, to Config::log.
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

#include "gemini-block-store.h"
#include "glib-raii.h"

namespace gemini {

struct HttpRequest {
  std::string url;
  /* Header values are never logged by the engine; a header named here is
   * shown as "[REDACTED]" when HTTP logging is on. */
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
  /* Sent as a POST; no body: a GET. */
  GBytesPtr body;
  /* Streaming (streamGenerateContent?alt=sse): when set, a 2xx body is not
   * kept but handed over piece by piece as it arrives, on the engine thread,
   * where it must not block. The size limit, the cancellation and the
   * checks for a cut-off body apply as for a whole body; a non-2xx answer
   * is read whole into HttpResponse::body as usual. Returning false stops
   * the read: the call completes with G_IO_ERROR_FAILED. Dropped when the
   * call completes (it may hold whoever holds the call). */
  std::function<bool (const guint8 *data, gsize size)> on_body_chunk;
  /* Where a whole body's buffer comes from (null: the heap): a body of
   * megabytes is written once, and fresh memory costs a page fault per
   * page. The body is still an ordinary GBytes (g_free'd if nobody gives
   * the buffer back). */
  std::shared_ptr<BlockStore> body_store;
};

struct HttpResponse {
  guint status = 0;
  std::string retry_after;   /* Retry-After header, "" if absent */
  std::string content_type;
  /* A 3xx answer is never followed (libsoup would carry the API key to
   * whatever host it names): it comes back as it is, and this is where its
   * Location points, resolved against the request URL and cut to
   * "scheme://host[:port]" so that an error message can name it without
   * echoing a path, a query or credentials. "" if not a 3xx or no Location. */
  std::string redirect_target;
  GBytesPtr body;
  /* Bytes the body's buffer really has (with HttpRequest::body_store it is
   * not trimmed to the body), for giving it back; 0: the body's size. */
  gsize body_capacity = 0;
  /* Set on transport failure (no usable response): G_IO_ERROR_TIMED_OUT for
   * Config::connect_timeout_s, G_IO_ERROR_PARTIAL_INPUT for a body cut off or
   * chunked wrongly, G_IO_ERROR_INVALID_ARGUMENT for a URL that does not
   * parse (the message does not quote it), G_IO_ERROR_NO_SPACE if the body
   * buffer cannot be allocated, the libsoup/GIO error otherwise. */
  GErrorPtr error;
  bool too_large = false;    /* body exceeded HttpEngine::Config::max_response_bytes */
  /* The body went to HttpRequest::on_body_chunk (`body` is empty), this many
   * bytes of it. */
  bool streamed = false;
  gsize streamed_bytes = 0;
};

class HttpEngine;

/* One request in flight. Shared by the waiting thread and the engine thread. */
class HttpCall : public std::enable_shared_from_this<HttpCall> {
public:
  enum class WaitResult { Done, Cancelled, TimedOut };
  /* Runs once on the engine thread when the call completes, cancelled or
   * not (or at once on the caller's thread when the engine is stopped). */
  using Callback = std::function<void (const std::shared_ptr<HttpCall> & call)>;

  /* True once cancel() was called: the response, if any, is to be ignored. */
  bool cancelled ();

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
  /* The body: g_malloc'd, `body_size_` allocated, `body_used_` filled. Only
   * resized between reads, never while a read targets it. */
  guint8 *body_ = nullptr;
  gsize body_size_ = 0;
  gsize body_used_ = 0;
  /* Streaming: body_ is one read's buffer, body_used_ counts every byte. */
  bool streaming_ = false;
  HttpRequest request_;
  GMainContextPtr context_;       /* the engine's, for cancel() */
  std::string host_port_;         /* "host:port" of the URL, for messages */
  std::string host_;              /* its host, for messages */
  GSource *connect_timer_ = nullptr;
  int last_event_ = -1;           /* GSocketClientEvent, -1 before the first */
  bool headers_written_ = false;
  bool finished_ = false;         /* complete() ran */
  Callback on_complete_;
  gint64 started_us_ = 0;

  /* Engine thread: publishes the result and drops libsoup objects there.
   * Idempotent. */
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
    /* Largest body accepted, exactly, for any value up to G_MAXSIZE: a body
     * of this many bytes passes, one more byte sets too_large. Reading stops
     * at most 2 bytes past it (libsoup's smallest safe read), and the buffer
     * grows with the bytes that arrive, so neither a long body nor a large
     * Content-Length makes it allocate beyond that; a Content-Length above
     * the limit is refused before reading. */
    gsize max_response_bytes = 64 * 1024 * 1024;
    /* nullptr: the system's CA store. A test server's certificate otherwise. */
    GObjectRef<GTlsDatabase> tls_database;
    /* "" = GIO's default resolver (http_proxy & co.), else this proxy URI. */
    std::string proxy;
    /* true: no proxy at all, neither `proxy` nor http_proxy & co. For
     * loopback endpoints: a proxy would carry the key in clear text off the
     * machine, and a machine-wide http_proxy would break local emulator runs. */
    bool direct = false;
    /* Seconds from sending until the connection is set up (resolved,
     * connected, TLS handshake done) and the request headers are written;
     * 0 = no bound. A server that accepts and never speaks TLS would
     * otherwise hold a request for the whole generation timeout. Then the
     * error is G_IO_ERROR_TIMED_OUT, naming the phase and host:port. It
     * stops when the headers are written, so waiting for the answer is not
     * bounded by it, and a reused connection (libsoup 3.2 opens a new one
     * for every POST anyway) writes them at once. */
    guint connect_timeout_s = 0;
    /* Connections at once to one host. libsoup's default of 2 would hold
     * every request past the second in its queue: the element sets it to
     * what it sends at once (max-in-flight, plus hedges). */
    guint max_conns_per_host = 2;
    /* SoupLoggerLogLevel; 0 = no HTTP log. SoupLogger's lines (the HTTP
     * traffic, for the element's http-log-level) go to `log`, with the value
     * of every header in `secret_headers` replaced by [REDACTED]. */
    int log_level = 0;
    std::function<void (const char *line)> log;
    /* Proxy-Authorization carries the proxy URI's user:password. */
    std::vector<std::string> secret_headers {"x-goog-api-key", "authorization", "proxy-authorization",
        "cookie", "set-cookie"};
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

  std::shared_ptr<HttpCall> send (HttpRequest request, HttpCall::Callback on_complete = nullptr);

  /* A one-shot timer on the engine thread. cancel() is thread-safe; after
   * it returns the callback never starts (it may be running already when
   * called from another thread). Dropping the handle leaves it armed. */
  class Timer {
  public:
    ~Timer ();
    void cancel ();
  private:
    friend class HttpEngine;
    std::mutex lock_;
    GSource *source_ = nullptr;
  };
  /* Calls `fn` on the engine thread after `seconds` (0: as soon as
   * possible). nullptr when the engine is not running. */
  std::shared_ptr<Timer> add_timer (double seconds, std::function<void ()> fn);
  /* True when the calling thread is the engine thread. */
  bool on_engine_thread () const;

private:
  friend class HttpCall;
  Config config_;
  bool stopping_ = false;        /* engine thread only */
  /* Guards context_ against stop() for threads that send or add timers
   * while the element stops. */
  mutable std::mutex context_lock_;
  std::thread::id thread_id_;
  GMainContextPtr context_;
  GMainLoopPtr loop_;
  std::thread thread_;
  GObject *session_ = nullptr;   /* SoupSession, owned by the engine thread */

  void thread_main (std::promise<bool> *ready);
  static void start_call (std::shared_ptr<HttpCall> call);
  static void on_sent (GObject * source, GAsyncResult * res, gpointer user_data);
  static void on_read (GObject * source, GAsyncResult * res, gpointer user_data);
  static void read_next (std::shared_ptr<HttpCall> * holder);
  static void finish_body (HttpCall * call);
};

}  // namespace gemini
