/* gst-gemini: the HTTP engine (libsoup 3 on a dedicated thread).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-http.h"

#include <gst/gst.h>
#include <libsoup/soup.h>

#include <algorithm>

/* The engine's own lines: start, stop, each request (URL without userinfo or
 * query), its connection phases, status, size, cancellation, failure. Never
 * a header value. The HTTP traffic itself goes to Config::log. */
GST_DEBUG_CATEGORY_STATIC (gemini_http_debug);
#define GST_CAT_DEFAULT gemini_http_debug

namespace gemini {

namespace {

constexpr gsize kReadChunk = 256 * 1024;
/* A Content-Length pre-sizes the body up to this much; beyond it the buffer
 * grows as bytes arrive, so a lying header cannot make us allocate. */
constexpr gsize kMaxPresize = 64 * 1024 * 1024;
/* A final buffer this much larger than its body is trimmed. */
constexpr gsize kTrimSlack = 1024 * 1024;
/* The smallest read: libsoup reads a chunked body's trailer line into the
 * caller's buffer and fails an assertion (returning -1 without an error)
 * for a 1-byte one (soup_filter_input_stream_read_until). */
constexpr gsize kMinRead = 2;

using CallHolder = std::shared_ptr<HttpCall>;

void
free_holder (gpointer data)
{
  delete static_cast<CallHolder *> (data);
}

void
init_debug ()
{
  static std::once_flag once;
  std::call_once (once, [] {
    GST_DEBUG_CATEGORY_INIT (gemini_http_debug, "geminihttp", 0, "gst-gemini HTTP engine");
  });
}

int
default_port (const char * scheme)
{
  if (g_ascii_strcasecmp (scheme, "https") == 0)
    return 443;
  if (g_ascii_strcasecmp (scheme, "http") == 0)
    return 80;
  return -1;
}

/* A host for a message: printable ASCII only (a Location may hide %0A in
 * its host), IPv6 in brackets. */
std::string
printable_host (const char * host)
{
  std::string out;
  if (!host)
    return out;
  bool ipv6 = strchr (host, ':') != nullptr;
  if (ipv6)
    out += '[';
  for (const char *p = host; *p; p++) {
    const guchar c = static_cast<guchar> (*p);
    if (c > 0x20 && c < 0x7f && c != '/' && c != '@' && c != '[' && c != ']') {
      out += char (c);
    } else {
      char esc[4];
      g_snprintf (esc, sizeof esc, "%%%02X", c);
      out += esc;
    }
  }
  if (ipv6)
    out += ']';
  return out;
}

/* "scheme://host[:port]": no userinfo, path, query or fragment. The port
 * only when it is not the scheme's default. */
std::string
origin_of (GUri * uri)
{
  const char *scheme = g_uri_get_scheme (uri);
  std::string host = printable_host (g_uri_get_host (uri));
  if (!scheme || host.empty ())
    return "";
  gchar *lower = g_ascii_strdown (scheme, -1);
  std::string out = std::string (lower) + "://" + host;
  g_free (lower);
  int port = g_uri_get_port (uri);
  if (port > 0 && port != default_port (scheme))
    out += ":" + std::to_string (port);
  return out;
}

/* "host:port", the port always given (the default one if the URL has none). */
std::string
host_port_of (GUri * uri)
{
  int port = g_uri_get_port (uri);
  if (port <= 0)
    port = default_port (g_uri_get_scheme (uri));
  return printable_host (g_uri_get_host (uri)) + ":" + std::to_string (port);
}

/* The request URL for the log: origin and path, no userinfo or query (the
 * key may travel in ?key=). */
std::string
loggable_url (GUri * uri)
{
  return origin_of (uri) + g_uri_get_path (uri);
}

/* A proxy URI for the log, without its userinfo. */
std::string
loggable_proxy (const std::string & proxy)
{
  GUri *uri = g_uri_parse (proxy.c_str (), G_URI_FLAGS_NONE, nullptr);
  if (!uri)
    return "(an unparsable proxy URI)";
  std::string out = origin_of (uri);
  g_uri_unref (uri);
  return out.empty () ? "(a proxy URI without host)" : out;
}

const char *
event_name (int event)
{
  switch (event) {
    case G_SOCKET_CLIENT_RESOLVING: return "resolving";
    case G_SOCKET_CLIENT_RESOLVED: return "resolved";
    case G_SOCKET_CLIENT_CONNECTING: return "connecting";
    case G_SOCKET_CLIENT_CONNECTED: return "connected";
    case G_SOCKET_CLIENT_PROXY_NEGOTIATING: return "negotiating with the proxy";
    case G_SOCKET_CLIENT_PROXY_NEGOTIATED: return "proxy negotiated";
    case G_SOCKET_CLIENT_TLS_HANDSHAKING: return "TLS handshake";
    case G_SOCKET_CLIENT_TLS_HANDSHAKED: return "TLS handshake done";
    case G_SOCKET_CLIENT_COMPLETE: return "connection ready";
    default: return "?";
  }
}

/* What the connect timer says, by the last network event seen. */
std::string
connect_timeout_message (int event, guint seconds, const std::string & host, const std::string & host_port)
{
  const std::string within = " within " + std::to_string (seconds) + " s";
  switch (event) {
    case -1:
    case G_SOCKET_CLIENT_RESOLVING:
      return "could not resolve " + host + within;
    case G_SOCKET_CLIENT_RESOLVED:
    case G_SOCKET_CLIENT_CONNECTING:
      return "could not connect to " + host_port + within;
    case G_SOCKET_CLIENT_CONNECTED:
    case G_SOCKET_CLIENT_PROXY_NEGOTIATING:
    case G_SOCKET_CLIENT_PROXY_NEGOTIATED:
      return "the proxy did not open a connection to " + host_port + within;
    case G_SOCKET_CLIENT_TLS_HANDSHAKING:
      return "the server at " + host_port + " did not complete a TLS handshake" + within +
          ": is it http rather than https?";
    default:
      return "connected to " + host_port + " but could not send the request" + within;
  }
}

/* The number of hex digits of `n`: the shortest chunk-size line for it. */
gsize
hex_digits (guint64 n)
{
  gsize d = 1;
  while (n >= 16) {
    n /= 16;
    d++;
  }
  return d;
}

/* The most body bytes ever held for `limit`: the limit, then one read of
 * kMinRead bytes that proves the body is longer (or ends). */
gsize
max_body_bytes (gsize limit)
{
  return limit > G_MAXSIZE - kMinRead ? G_MAXSIZE : limit + kMinRead;
}

/* Growth target for a full body buffer: doubling, bounded by `max_total`. */
gsize
grown_size (gsize size, gsize max_total)
{
  if (size >= max_total / 2)
    return max_total;
  return std::min (std::max (size * 2, kReadChunk), max_total);
}

}  // namespace

/* ------------------------------------------------------------------ call */

HttpCall::~HttpCall ()
{
  g_free (body_);
  if (connect_timer_) {
    g_source_destroy (connect_timer_);
    g_source_unref (connect_timer_);
  }
}

HttpCall::WaitResult
HttpCall::wait_until (std::chrono::steady_clock::time_point deadline)
{
  {
    std::unique_lock<std::mutex> lk (lock_);
    cond_.wait_until (lk, deadline, [this] { return done_ || cancelled_; });
    /* Cancelled first: by the time a slow waiter wakes, the engine thread
     * may already have completed the call with the cancellation error. */
    if (cancelled_)
      return WaitResult::Cancelled;
    if (done_)
      return WaitResult::Done;
  }
  cancel ();
  return WaitResult::TimedOut;
}

void
HttpCall::cancel ()
{
  {
    std::lock_guard<std::mutex> lk (lock_);
    if (cancelled_ || done_) {
      cancelled_ = true;
      return;
    }
    cancelled_ = true;
  }
  cond_.notify_all ();
  /* GCancellable's "cancelled" handlers run in the cancelling thread and
   * libsoup's touch the connection: cancel on the engine thread. */
  if (context_) {
    g_main_context_invoke_full (context_.get (), G_PRIORITY_HIGH,
        [] (gpointer data) -> gboolean {
          auto holder = static_cast<CallHolder *> (data);
          HttpCall *call = holder->get ();
          if (!call->finished_)
            GST_DEBUG ("call %p: cancelled by the caller", call);
          g_cancellable_cancel (call->cancellable_.get ());
          return G_SOURCE_REMOVE;
        }, new CallHolder (shared_from_this ()), free_holder);
  }
}

void
HttpCall::complete ()
{
  if (finished_)
    return;
  finished_ = true;
  if (connect_timer_) {
    g_source_destroy (connect_timer_);
    g_source_unref (connect_timer_);
    connect_timer_ = nullptr;
  }
  if (message_)
    g_signal_handlers_disconnect_by_data (message_.get (), this);
  message_.reset ();
  stream_.reset ();
  g_free (body_);
  body_ = nullptr;
  body_size_ = body_used_ = 0;
  request_.on_body_chunk = nullptr;

  const double seconds = double (g_get_monotonic_time () - started_us_) / G_USEC_PER_SEC;
  if (response_.error)
    GST_INFO ("call %p: failed after %.3f s: %s", this, seconds, response_.error->message);
  else if (response_.too_large)
    GST_INFO ("call %p: HTTP %u, body over the limit of %" G_GSIZE_FORMAT " bytes after %.3f s", this,
        response_.status, engine_->config_.max_response_bytes, seconds);
  else
    GST_DEBUG ("call %p: HTTP %u, %" G_GSIZE_FORMAT " body bytes in %.3f s", this, response_.status,
        response_.body ? g_bytes_get_size (response_.body.get ()) : 0, seconds);
  {
    std::lock_guard<std::mutex> lk (lock_);
    done_ = true;
  }
  cond_.notify_all ();
  /* Last: the callback may drop the last reference to the caller's state. */
  if (Callback cb = std::move (on_complete_))
    cb (shared_from_this ());
}

bool
HttpCall::cancelled ()
{
  std::lock_guard<std::mutex> lk (lock_);
  return cancelled_;
}

/* ---------------------------------------------------------------- engine */

std::string
HttpEngine::redact_log_line (const char *line, const std::vector<std::string> & secret_headers)
{
  if (!line)
    return "";
  for (const auto & name : secret_headers) {
    if (g_ascii_strncasecmp (line, name.c_str (), name.size ()) == 0 && line[name.size ()] == ':')
      return std::string (line, name.size ()) + ": [REDACTED]";
  }
  return line;
}

HttpEngine::~HttpEngine ()
{
  stop ();
}

bool
HttpEngine::start (const Config & config, std::string & error)
{
  if (context_)
    return true;
  init_debug ();
  config_ = config;
  stopping_ = false;
  context_.reset (g_main_context_new ());
  loop_.reset (g_main_loop_new (context_.get (), FALSE));
  std::promise<bool> ready;
  auto started = ready.get_future ();
  try {
    thread_ = std::thread (&HttpEngine::thread_main, this, &ready);
  } catch (const std::system_error & e) {
    error = std::string ("could not start the HTTP thread: ") + e.what ();
    loop_.reset ();
    context_.reset ();
    return false;
  }
  started.wait ();
  return true;
}

void
HttpEngine::thread_main (std::promise<bool> *ready)
{
  thread_id_ = std::this_thread::get_id ();
  GMainContext *ctx = context_.get ();
  g_main_context_push_thread_default (ctx);

  /* Configured on its own thread before any request, as libsoup asks. */
  SoupSession *session = soup_session_new_with_options (
      "user-agent", config_.user_agent.c_str (),
      "timeout", config_.io_timeout_s,
      "max-conns-per-host", (int) std::max (1u, config_.max_conns_per_host),
      "max-conns", (int) std::max (10u, 2 * config_.max_conns_per_host),
      nullptr);
  if (config_.tls_database)
    soup_session_set_tls_database (session, config_.tls_database.get ());
  std::string route;
  if (config_.direct) {
    /* NULL, not a resolver answering direct://: libsoup then turns the
     * GSocketClient's proxy support off altogether. */
    soup_session_set_proxy_resolver (session, nullptr);
    route = "direct, no proxy";
  } else if (!config_.proxy.empty ()) {
    GProxyResolver *resolver = g_simple_proxy_resolver_new (config_.proxy.c_str (), nullptr);
    soup_session_set_proxy_resolver (session, resolver);
    g_object_unref (resolver);
    route = "proxy " + loggable_proxy (config_.proxy);
  } else {
    route = "proxy from the environment (GIO's default resolver)";
  }
  if (config_.log_level > 0 && config_.log) {
    SoupLogger *logger = soup_logger_new ((SoupLoggerLogLevel) config_.log_level);
    /* Bodies carry megabytes of base64: log their start only. */
    soup_logger_set_max_body_size (logger, 4096);
    soup_logger_set_printer (logger,
        [] (SoupLogger *, SoupLoggerLogLevel, char direction, const char *data, gpointer user_data) {
          auto engine = static_cast<HttpEngine *> (user_data);
          std::string line (1, direction);
          line += " ";
          line += redact_log_line (data, engine->config_.secret_headers);
          engine->config_.log (line.c_str ());
        }, this, nullptr);
    soup_session_add_feature (session, SOUP_SESSION_FEATURE (logger));
    g_object_unref (logger);
  }
  session_ = G_OBJECT (session);
  GST_INFO ("engine %p started: %s; connect timeout %u s, idle timeout %u s, body limit %" G_GSIZE_FORMAT
      " bytes, HTTP log level %d", this, route.c_str (), config_.connect_timeout_s, config_.io_timeout_s,
      config_.max_response_bytes, config_.log_level);
  ready->set_value (true);

  g_main_loop_run (loop_.get ());

  GST_INFO ("engine %p stopping: aborting what is in flight", this);
  stopping_ = true;
  soup_session_abort (session);
  /* Let aborted requests run their callbacks so every waiter is released. */
  while (g_main_context_iteration (ctx, FALSE)) {
  }
  session_ = nullptr;
  g_object_unref (session);
  while (g_main_context_iteration (ctx, FALSE)) {
  }
  g_main_context_pop_thread_default (ctx);
  GST_INFO ("engine %p stopped", this);
}

void
HttpEngine::stop ()
{
  if (!context_)
    return;
  if (std::this_thread::get_id () == thread_id_) {
    /* Joining itself would abort the process: a bug in the caller. */
    GST_ERROR ("engine %p: stop() called on the engine thread", this);
    return;
  }
  /* Quit from inside the loop: a quit before g_main_loop_run() would be lost. */
  g_main_context_invoke (context_.get (),
      [] (gpointer loop) -> gboolean {
        g_main_loop_quit (static_cast<GMainLoop *> (loop));
        return G_SOURCE_REMOVE;
      }, loop_.get ());
  thread_.join ();
  std::lock_guard<std::mutex> lk (context_lock_);
  loop_.reset ();
  context_.reset ();
}

HttpEngine::Timer::~Timer ()
{
  /* Dropping the handle does not stop the timer: only cancel () does. */
  if (source_)
    g_source_unref (source_);
}

void
HttpEngine::Timer::cancel ()
{
  GSource *source;
  {
    std::lock_guard<std::mutex> lk (lock_);
    source = source_;
    source_ = nullptr;
  }
  /* g_source_destroy () is thread-safe; the callback's data is freed on
   * whichever thread drops the last reference to the source. */
  if (source) {
    g_source_destroy (source);
    g_source_unref (source);
  }
}

std::shared_ptr<HttpEngine::Timer>
HttpEngine::add_timer (double seconds, std::function<void ()> fn)
{
  std::lock_guard<std::mutex> lk (context_lock_);
  if (!context_)
    return nullptr;
  auto timer = std::make_shared<Timer> ();
  /* Milliseconds, saturated: callers compare absurd delays before this. */
  const double ms = std::clamp (seconds * 1000.0, 0.0, double (G_MAXUINT / 2));
  GSource *source = ms <= 0 ? g_idle_source_new () : g_timeout_source_new (guint (ms));
  using Fn = std::function<void ()>;
  g_source_set_callback (source, [] (gpointer data) -> gboolean {
        (*static_cast<Fn *> (data)) ();
        return G_SOURCE_REMOVE;
      }, new Fn (std::move (fn)), [] (gpointer data) { delete static_cast<Fn *> (data); });
  timer->source_ = source;   /* the timer's reference */
  g_source_attach (source, context_.get ());
  return timer;
}

bool
HttpEngine::on_engine_thread () const
{
  return std::this_thread::get_id () == thread_id_;
}

std::shared_ptr<HttpCall>
HttpEngine::send (HttpRequest request, HttpCall::Callback on_complete)
{
  auto call = std::make_shared<HttpCall> ();
  call->engine_ = this;
  call->request_ = std::move (request);
  call->on_complete_ = std::move (on_complete);
  GMainContextPtr context;
  {
    std::lock_guard<std::mutex> lk (context_lock_);
    if (context_)
      context.reset (g_main_context_ref (context_.get ()));
  }
  if (!context) {
    /* Stopped: fail at once, on this thread. */
    call->response_.error.reset (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
            "the HTTP engine is stopped"));
    call->finished_ = true;
    {
      std::lock_guard<std::mutex> lk (call->lock_);
      call->done_ = true;
    }
    if (HttpCall::Callback cb = std::move (call->on_complete_))
      cb (call);
    return call;
  }
  call->context_.reset (g_main_context_ref (context.get ()));
  g_main_context_invoke_full (context.get (), G_PRIORITY_DEFAULT,
      [] (gpointer data) -> gboolean {
        start_call (*static_cast<CallHolder *> (data));
        return G_SOURCE_REMOVE;
      }, new CallHolder (call), free_holder);
  return call;
}

void
HttpEngine::start_call (std::shared_ptr<HttpCall> call)
{
  HttpEngine *engine = call->engine_;
  call->started_us_ = g_get_monotonic_time ();
  if (engine->stopping_ || g_cancellable_is_cancelled (call->cancellable_.get ())) {
    GST_DEBUG ("call %p: cancelled before it started", call.get ());
    call->response_.error.reset (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
            "Operation was cancelled"));
    call->complete ();
    return;
  }

  const HttpRequest & req = call->request_;
  GUri *uri = g_uri_parse (req.url.c_str (), (GUriFlags) SOUP_HTTP_URI_FLAGS, nullptr);
  if (uri && !g_uri_get_host (uri)) {
    g_uri_unref (uri);
    uri = nullptr;
  }
  if (!uri) {
    /* GLib's message quotes the URL, which may hold a password or a key. */
    call->response_.error.reset (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
            "the request URL is not a valid http or https URL"));
    call->complete ();
    return;
  }
  call->host_ = printable_host (g_uri_get_host (uri));
  call->host_port_ = host_port_of (uri);
  /* A request with a body is a POST (generateContent), one without a GET
   * (ListModels). */
  const char *method = req.body ? SOUP_METHOD_POST : SOUP_METHOD_GET;
  GST_DEBUG ("call %p: %s %s, %" G_GSIZE_FORMAT " body bytes", call.get (), method,
      loggable_url (uri).c_str (), req.body ? g_bytes_get_size (req.body.get ()) : 0);
  SoupMessage *msg = soup_message_new_from_uri (method, uri);
  g_uri_unref (uri);
  /* Never follow a redirect: libsoup would send the API key header to
   * whatever host the Location names. Metrics: the body's wire size tells a
   * complete chunked body from a cut or malformed one (finish_body). */
  soup_message_add_flags (msg, (SoupMessageFlags) (SOUP_MESSAGE_NO_REDIRECT | SOUP_MESSAGE_COLLECT_METRICS));
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  for (const auto & [name, value] : req.headers)
    soup_message_headers_replace (headers, name.c_str (), value.c_str ());
  if (req.body)
    soup_message_set_request_body_from_bytes (msg, req.content_type.c_str (), req.body.get ());
  call->message_.reset (G_OBJECT (msg));

  /* Signals come on this thread; complete() disconnects them, so the raw
   * pointer never outlives the call. */
  g_signal_connect (msg, "network-event",
      G_CALLBACK (+[] (SoupMessage *, GSocketClientEvent event, GIOStream *, gpointer data) {
        auto c = static_cast<HttpCall *> (data);
        c->last_event_ = event;
        GST_LOG ("call %p: %s %s", c, event_name (event), c->host_port_.c_str ());
      }), call.get ());
  g_signal_connect (msg, "wrote-headers",
      G_CALLBACK (+[] (SoupMessage *, gpointer data) {
        auto c = static_cast<HttpCall *> (data);
        c->headers_written_ = true;
        if (c->connect_timer_) {
          g_source_destroy (c->connect_timer_);
          g_source_unref (c->connect_timer_);
          c->connect_timer_ = nullptr;
        }
        GST_LOG ("call %p: request headers written%s", c, c->last_event_ < 0 ? " (reused connection)" : "");
      }), call.get ());

  if (engine->config_.connect_timeout_s > 0) {
    call->connect_timer_ = g_timeout_source_new (engine->config_.connect_timeout_s * 1000u);
    g_source_set_callback (call->connect_timer_,
        [] (gpointer data) -> gboolean {
          CallHolder keep = *static_cast<CallHolder *> (data);
          HttpCall *c = keep.get ();
          if (c->finished_ || c->headers_written_)
            return G_SOURCE_REMOVE;
          std::string what = connect_timeout_message (c->last_event_,
              c->engine_->config_.connect_timeout_s, c->host_, c->host_port_);
          GST_INFO ("call %p: connect timeout (last phase: %s)", c,
              c->last_event_ < 0 ? "none" : event_name (c->last_event_));
          c->response_.error.reset (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, what.c_str ()));
          /* Tears down the connection attempt; on_sent then finds the call
           * finished and only drops its references. */
          g_cancellable_cancel (c->cancellable_.get ());
          c->complete ();
          return G_SOURCE_REMOVE;
        }, new CallHolder (call), free_holder);
    g_source_attach (call->connect_timer_, engine->context_.get ());
  }

  soup_session_send_async (SOUP_SESSION (engine->session_), msg, G_PRIORITY_DEFAULT,
      call->cancellable_.get (), on_sent, new CallHolder (call));
}

void
HttpEngine::on_sent (GObject * source, GAsyncResult * res, gpointer user_data)
{
  std::unique_ptr<CallHolder> holder (static_cast<CallHolder *> (user_data));
  HttpCall *call = holder->get ();
  GErrorPtr error;
  GInputStream *stream = soup_session_send_finish (SOUP_SESSION (source), res, out_error (error));
  if (call->finished_) {
    /* The connect timer ended it already. */
    if (stream)
      g_object_unref (stream);
    return;
  }
  if (!stream) {
    call->response_.error = std::move (error);
    call->complete ();
    return;
  }
  call->stream_.reset (stream);
  if (call->connect_timer_) {
    g_source_destroy (call->connect_timer_);
    g_source_unref (call->connect_timer_);
    call->connect_timer_ = nullptr;
  }

  SoupMessage *msg = SOUP_MESSAGE (call->message_.get ());
  call->response_.status = soup_message_get_status (msg);
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  if (const char *v = soup_message_headers_get_one (headers, "Retry-After"))
    call->response_.retry_after = v;
  if (const char *v = soup_message_headers_get_content_type (headers, nullptr))
    call->response_.content_type = v;
  goffset announced = soup_message_headers_get_content_length (headers);
  if (soup_message_headers_get_encoding (headers) != SOUP_ENCODING_CONTENT_LENGTH)
    announced = -1;

  if (SOUP_STATUS_IS_REDIRECTION (call->response_.status)) {
    const char *location = soup_message_headers_get_one (headers, "Location");
    GUri *target = location ? g_uri_parse_relative (soup_message_get_uri (msg), location,
        (GUriFlags) SOUP_HTTP_URI_FLAGS, nullptr) : nullptr;
    if (target) {
      call->response_.redirect_target = origin_of (target);
      g_uri_unref (target);
    }
    GST_INFO ("call %p: HTTP %u redirect to %s, not followed", call, call->response_.status,
        call->response_.redirect_target.empty () ? "(no usable Location)" :
        call->response_.redirect_target.c_str ());
  }
  GST_DEBUG ("call %p: HTTP %u, %s%s, Content-Length %" G_GINT64_FORMAT, call, call->response_.status,
      soup_message_get_http_version (msg) == SOUP_HTTP_2_0 ? "HTTP/2" : "HTTP/1.x",
      soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED ? " chunked" : "",
      (gint64) announced);

  /* Refuse early when the server announces more than we accept. */
  const gsize limit = call->engine_->config_.max_response_bytes;
  if (announced > 0 && guint64 (announced) > guint64 (limit)) {
    call->response_.too_large = true;
    g_cancellable_cancel (call->cancellable_.get ());
    call->complete ();
    return;
  }
  /* Pre-size from the announced length (+ room for the read that sees the
   * end), but never allocate much on the server's word alone. A stream
   * reuses one read's buffer. */
  const gsize max_total = max_body_bytes (limit);
  call->streaming_ = call->request_.on_body_chunk && SOUP_STATUS_IS_SUCCESSFUL (call->response_.status);
  gsize initial = announced >= 0 ? std::min<guint64> (guint64 (announced) + kMinRead, kMaxPresize) : kReadChunk;
  if (call->streaming_)
    initial = kReadChunk;
  initial = std::min (initial, max_total);
  gsize capacity = initial;
  /* Only answers take a store's block: an error's body is small and never
   * given back, and a miss would free the blocks kept for the answers. */
  const bool stored = call->request_.body_store && !call->streaming_
      && SOUP_STATUS_IS_SUCCESSFUL (call->response_.status);
  if (stored && announced >= 0)
    call->body_ = call->request_.body_store->take_fit (initial, capacity);
  else if (stored)
    call->body_ = call->request_.body_store->take_largest (initial, capacity);
  else
    call->body_ = static_cast<guint8 *> (g_try_malloc (initial));
  if (!call->body_) {
    call->response_.error.reset (g_error_new (G_IO_ERROR, G_IO_ERROR_NO_SPACE,
            "could not allocate %" G_GSIZE_FORMAT " bytes for the response body", initial));
    g_cancellable_cancel (call->cancellable_.get ());
    call->complete ();
    return;
  }
  call->body_size_ = capacity;
  call->body_used_ = 0;
  read_next (holder.release ());
}

void
HttpEngine::read_next (std::shared_ptr<HttpCall> *holder)
{
  HttpCall *call = holder->get ();
  /* The body holds at most the limit (on_read stops beyond it), so a read
   * of at most max_total - used bytes never takes in more than kMinRead
   * bytes past the limit, and never targets memory past the buffer. */
  const gsize max_total = max_body_bytes (call->engine_->config_.max_response_bytes);
  const gsize used = call->body_used_;
  if (call->streaming_) {
    /* Each piece goes to the reader before the next read: one buffer. */
    const gsize count = std::min (call->body_size_, max_total - used);
    g_input_stream_read_async (call->stream_.get (), call->body_, count,
        G_PRIORITY_DEFAULT, call->cancellable_.get (), on_read, holder);
    return;
  }
  if (call->body_size_ - used < kMinRead) {
    /* Full: grow now, while no read targets the buffer. */
    gsize size = grown_size (call->body_size_, max_total);
    auto grown = static_cast<guint8 *> (g_try_realloc (call->body_, size));
    if (!grown) {
      call->response_.error.reset (g_error_new (G_IO_ERROR, G_IO_ERROR_NO_SPACE,
              "could not allocate %" G_GSIZE_FORMAT " bytes for the response body", size));
      g_cancellable_cancel (call->cancellable_.get ());
      call->complete ();
      delete holder;
      return;
    }
    call->body_ = grown;
    call->body_size_ = size;
  }
  const gsize count = std::min ({kReadChunk, call->body_size_ - used, max_total - used});
  /* Straight into the body buffer: no per-chunk copy. Nothing below resizes
   * it until on_read. */
  g_input_stream_read_async (call->stream_.get (), call->body_ + used, count,
      G_PRIORITY_DEFAULT, call->cancellable_.get (), on_read, holder);
}

void
HttpEngine::on_read (GObject * source, GAsyncResult * res, gpointer user_data)
{
  std::unique_ptr<CallHolder> holder (static_cast<CallHolder *> (user_data));
  HttpCall *call = holder->get ();
  GErrorPtr error;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, out_error (error));
  if (call->finished_)
    return;
  if (n < 0) {
    if (g_error_matches (error.get (), G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT)) {
      /* libsoup's "Connection terminated unexpectedly": say what it means. */
      SoupMessage *msg = SOUP_MESSAGE (call->message_.get ());
      SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
      bool chunked = soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED;
      call->response_.error.reset (g_error_new (G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
              "the response body was cut off%s after %" G_GSIZE_FORMAT " bytes (%s)",
              chunked ? " or its chunked encoding is malformed" : "", call->body_used_, error->message));
    } else {
      call->response_.error = std::move (error);
    }
    call->complete ();
    return;
  }
  if (n == 0) {
    finish_body (call);
    return;
  }
  call->body_used_ += gsize (n);
  if (call->body_used_ > call->engine_->config_.max_response_bytes) {
    call->response_.too_large = true;
    g_cancellable_cancel (call->cancellable_.get ());
    call->complete ();
    return;
  }
  if (call->streaming_) {
    call->response_.streamed_bytes = call->body_used_;
    /* The reader may cancel the call (or drop its own last reference to
     * it: `holder` keeps it alive). */
    const bool go_on = call->request_.on_body_chunk (call->body_, gsize (n));
    if (call->finished_)
      return;
    if (!go_on) {
      call->response_.error.reset (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
              "the stream's reader stopped reading"));
      g_cancellable_cancel (call->cancellable_.get ());
      call->complete ();
      return;
    }
  }
  read_next (holder.release ());
}

/* The end of the body stream. libsoup 3.2 ends a body silently where it
 * should fail (libsoup/http1/soup-body-input-stream.c): a chunked body cut
 * off at a chunk boundary or before its first chunk, a chunk-size line that
 * is not hex (strtoul gives 0: taken as the last chunk, the rest of the body
 * swallowed as a trailer), and a Content-Length body cut short on a
 * connection that is not kept alive (read to EOF on purpose: "some servers
 * send incorrect Content-Length values"). The wire byte count tells these
 * apart from a complete body where it can without guessing. */
void
HttpEngine::finish_body (HttpCall * call)
{
  SoupMessage *msg = SOUP_MESSAGE (call->message_.get ());
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  SoupMessageMetrics *metrics = soup_message_get_metrics (msg);
  const guint64 wire = metrics ? soup_message_metrics_get_response_body_bytes_received (metrics) : 0;
  const guint64 used = call->body_used_;
  const char *coding = soup_message_headers_get_one (headers, "Content-Encoding");
  /* Decoded bytes equal wire payload bytes only without a content coding. */
  const bool identity = !coding || g_ascii_strcasecmp (coding, "identity") == 0;
  const bool http1 = soup_message_get_http_version (msg) != SOUP_HTTP_2_0;
  std::string broken;
  if (metrics && http1 && soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED) {
    /* A complete chunked body carries at least, per chunk, its size in hex
     * and two line ends, and a last chunk "0" with two line ends: even the
     * shortest encoding of `used` bytes (one chunk, bare LFs) has
     * hex_digits (used) + 5 bytes of framing, and an empty body 3. */
    const guint64 framing = wire > used ? wire - used : 0;
    if (wire < 3)
      broken = "the response body was cut off before its first chunk";
    else if (identity && used > 0 && (wire < used || framing < hex_digits (used) + 5))
      broken = "the response body was cut off or its chunked encoding is malformed after " +
          std::to_string (used) + " bytes (no last chunk)";
    else if (identity && used == 0 && wire > 5)
      /* An empty chunked body is "0\r\n\r\n": more bytes that decode to
       * nothing mean a chunk-size line libsoup read as 0. */
      broken = "the response body was cut off or its chunked encoding is malformed: " + std::to_string (wire) +
          " bytes on the wire decoded to an empty body";
  } else if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH) {
    /* Counted on the wire when a content coding changes the decoded size
     * (HTTP/2's wire count adds frame headers: it never counts short), and
     * on the wire for HTTP/1 anyway; the decoded count is exact otherwise. */
    const goffset announced = soup_message_headers_get_content_length (headers);
    const bool by_wire = metrics && (http1 || !identity);
    const guint64 got = by_wire ? wire : used;
    if (announced > 0 && got < guint64 (announced) && (by_wire || identity))
      broken = "the response body was cut off after " + std::to_string (got) + " of " +
          std::to_string (announced) + " bytes";
  }
  if (!broken.empty ()) {
    call->response_.error.reset (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT, broken.c_str ()));
    call->complete ();
    return;
  }

  if (call->streaming_) {
    call->response_.streamed = true;
    call->response_.streamed_bytes = call->body_used_;
    call->complete ();
    return;
  }
  guint8 *data = call->body_;
  const gsize size = call->body_used_;
  const gsize allocated = call->body_size_;
  call->body_ = nullptr;
  call->body_size_ = call->body_used_ = 0;
  if (size == 0) {
    g_free (data);
    data = nullptr;
  } else if (call->request_.body_store && SOUP_STATUS_IS_SUCCESSFUL (call->response_.status)) {
    /* Kept whole, to be given back for the next body. */
    call->response_.body_capacity = allocated;
  } else if (allocated - size > kTrimSlack) {
    /* No read is pending: the buffer may move. */
    if (auto trimmed = static_cast<guint8 *> (g_try_realloc (data, size)))
      data = trimmed;
  }
  call->response_.body.reset (g_bytes_new_take (data, size));
  call->complete ();
}

}  // namespace gemini
