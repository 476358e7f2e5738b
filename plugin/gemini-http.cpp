/* gst-gemini: the HTTP engine (libsoup 3 on a dedicated thread).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-http.h"

#include <libsoup/soup.h>

#include <algorithm>

namespace gemini {

namespace {

constexpr gsize kReadChunk = 256 * 1024;

using CallHolder = std::shared_ptr<HttpCall>;

void
free_holder (gpointer data)
{
  delete static_cast<CallHolder *> (data);
}

}  // namespace

/* ------------------------------------------------------------------ call */

HttpCall::~HttpCall ()
{
  if (buffer_)
    g_byte_array_unref (buffer_);
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
          g_cancellable_cancel ((*holder)->cancellable_.get ());
          return G_SOURCE_REMOVE;
        }, new CallHolder (shared_from_this ()), free_holder);
  }
}

void
HttpCall::complete ()
{
  message_.reset ();
  stream_.reset ();
  {
    std::lock_guard<std::mutex> lk (lock_);
    done_ = true;
  }
  cond_.notify_all ();
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
  GMainContext *ctx = context_.get ();
  g_main_context_push_thread_default (ctx);

  /* Configured on its own thread before any request, as libsoup asks. */
  SoupSession *session = soup_session_new_with_options (
      "user-agent", config_.user_agent.c_str (),
      "timeout", config_.io_timeout_s,
      nullptr);
  if (config_.tls_database)
    soup_session_set_tls_database (session, config_.tls_database.get ());
  if (!config_.proxy.empty ()) {
    GProxyResolver *resolver = g_simple_proxy_resolver_new (config_.proxy.c_str (), nullptr);
    soup_session_set_proxy_resolver (session, resolver);
    g_object_unref (resolver);
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
  ready->set_value (true);

  g_main_loop_run (loop_.get ());

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
}

void
HttpEngine::stop ()
{
  if (!context_)
    return;
  /* Quit from inside the loop: a quit before g_main_loop_run() would be lost. */
  g_main_context_invoke (context_.get (),
      [] (gpointer loop) -> gboolean {
        g_main_loop_quit (static_cast<GMainLoop *> (loop));
        return G_SOURCE_REMOVE;
      }, loop_.get ());
  thread_.join ();
  loop_.reset ();
  context_.reset ();
}

std::shared_ptr<HttpCall>
HttpEngine::send (HttpRequest request)
{
  auto call = std::make_shared<HttpCall> ();
  call->engine_ = this;
  call->request_ = std::move (request);
  call->context_.reset (g_main_context_ref (context_.get ()));
  g_main_context_invoke_full (context_.get (), G_PRIORITY_DEFAULT,
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
  if (engine->stopping_ || g_cancellable_is_cancelled (call->cancellable_.get ())) {
    call->response_.error.reset (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
            "Operation was cancelled"));
    call->complete ();
    return;
  }

  const HttpRequest & req = call->request_;
  GErrorPtr uri_error;
  GUri *uri = g_uri_parse (req.url.c_str (), (GUriFlags) SOUP_HTTP_URI_FLAGS, out_error (uri_error));
  if (!uri) {
    call->response_.error = std::move (uri_error);
    call->complete ();
    return;
  }
  SoupMessage *msg = soup_message_new_from_uri (SOUP_METHOD_POST, uri);
  g_uri_unref (uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  for (const auto & [name, value] : req.headers)
    soup_message_headers_replace (headers, name.c_str (), value.c_str ());
  if (req.body)
    soup_message_set_request_body_from_bytes (msg, req.content_type.c_str (), req.body.get ());
  call->message_.reset (G_OBJECT (msg));

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
  if (!stream) {
    call->response_.error = std::move (error);
    call->complete ();
    return;
  }
  call->stream_.reset (stream);

  SoupMessage *msg = SOUP_MESSAGE (call->message_.get ());
  call->response_.status = soup_message_get_status (msg);
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  if (const char *v = soup_message_headers_get_one (headers, "Retry-After"))
    call->response_.retry_after = v;
  if (const char *v = soup_message_headers_get_content_type (headers, nullptr))
    call->response_.content_type = v;

  /* Refuse early when the server announces more than we accept. */
  goffset announced = soup_message_headers_get_content_length (headers);
  gsize limit = call->engine_->config_.max_response_bytes;
  if (announced > 0 && (guint64) announced > limit) {
    call->response_.too_large = true;
    g_cancellable_cancel (call->cancellable_.get ());
    call->complete ();
    return;
  }
  call->buffer_ = g_byte_array_sized_new (announced > 0 ? (guint) announced : (guint) kReadChunk);
  read_next (holder.release ());
}

void
HttpEngine::read_next (std::shared_ptr<HttpCall> *holder)
{
  HttpCall *call = holder->get ();
  GByteArray *buf = call->buffer_;
  guint used = buf->len;
  /* Read straight into the body buffer: no per-chunk copy. */
  g_byte_array_set_size (buf, used + kReadChunk);
  g_input_stream_read_async (call->stream_.get (), buf->data + used, kReadChunk,
      G_PRIORITY_DEFAULT, call->cancellable_.get (), on_read, holder);
  g_byte_array_set_size (buf, used);
}

void
HttpEngine::on_read (GObject * source, GAsyncResult * res, gpointer user_data)
{
  auto holder = static_cast<CallHolder *> (user_data);
  HttpCall *call = holder->get ();
  GErrorPtr error;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, out_error (error));
  if (n < 0) {
    call->response_.error = std::move (error);
    call->complete ();
    delete holder;
    return;
  }
  if (n == 0) {
    GByteArray *buf = call->buffer_;
    call->buffer_ = nullptr;
    call->response_.body.reset (g_byte_array_free_to_bytes (buf));
    call->complete ();
    delete holder;
    return;
  }
  g_byte_array_set_size (call->buffer_, call->buffer_->len + (guint) n);
  if (call->buffer_->len > call->engine_->config_.max_response_bytes) {
    call->response_.too_large = true;
    g_cancellable_cancel (call->cancellable_.get ());
    call->complete ();
    delete holder;
    return;
  }
  read_next (holder);
}

}  // namespace gemini
