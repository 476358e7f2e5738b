/* The HTTP engine on its own, against gemini-emulator and a hostile raw
 * socket server over loopback: responses, waits that are bounded and
 * cancellable, size caps, transport errors, redirects, proxies, the connect
 * timeout, broken framing, log redaction.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bytes.h"
#include "emulator-fixture.h"
#include "emulator-process.h"
#include "gemini-http.h"
#include "gemini-protocol.h"
#include "raw-server.h"
#include "self-signed-cert.h"

#include <gst/check/gstcheck.h>

using namespace gemini;
using gemini::test::add_emulator_tcase;
using gemini::test::emu;
using gemini::test::EmulatorProcess;
using gemini::test::RawServer;
using gemini::test::string_of;
using gemini::test::tmp_dir;
using Clock = std::chrono::steady_clock;

static HttpRequest
generate_request (const std::string & model = "gemini-3.1-flash-lite-image")
{
  HttpRequest req;
  req.url = emu->base_url () + "/v1beta/models/" + model + ":generateContent";
  req.headers.emplace_back ("x-goog-api-key", "test-key");
  static const char body[] =
      "{\"contents\":[{\"parts\":[{\"text\":\"engine\"}],\"role\":\"user\"}],"
      "\"generationConfig\":{\"responseModalities\":[\"IMAGE\"]}}";
  req.body.reset (g_bytes_new_static (body, sizeof body - 1));
  return req;
}

static double
seconds_since (Clock::time_point t)
{
  return std::chrono::duration<double> (Clock::now () - t).count ();
}

static void
start_engine (HttpEngine & engine, HttpEngine::Config config = {})
{
  config.user_agent = "test-http";
  std::string error;
  fail_unless (engine.start (config, error), "%s", error.c_str ());
}

GST_START_TEST (test_response_complete)
{
  emu->reset ();
  HttpEngine engine;
  start_engine (engine);
  auto call = engine.send (generate_request ());
  fail_unless_equals_int ((int) call->wait_until (Clock::now () + std::chrono::seconds (30)),
      (int) HttpCall::WaitResult::Done);
  HttpResponse & r = call->response ();
  fail_if (r.error, "%s", r.error ? r.error->message : "");
  fail_unless_equals_int (r.status, 200);
  fail_unless (g_str_has_prefix (r.content_type.c_str (), "application/json"));
  fail_unless (g_bytes_get_size (r.body.get ()) > 10000);

  /* A Google error body and Retry-After come through. */
  emu->set_script ("[{\"do\":\"error\",\"status\":429,\"retry_after\":\"7\"}]");
  call = engine.send (generate_request ());
  fail_unless_equals_int ((int) call->wait_until (Clock::now () + std::chrono::seconds (30)),
      (int) HttpCall::WaitResult::Done);
  fail_unless_equals_int (call->response ().status, 429);
  fail_unless_equals_string (call->response ().retry_after.c_str (), "7");
  engine.stop ();
}
GST_END_TEST;

/* With a body store: the body is read into a block of it and its capacity
 * is told; the image decoded in place gives the block back when freed, and
 * the next body is read into that same block. */
GST_START_TEST (test_body_store)
{
  emu->reset ();
  HttpEngine engine;
  start_engine (engine);
  auto store = std::make_shared<BlockStore> (2);
  const guint8 *first_block = nullptr;
  for (int round = 0; round < 2; round++) {
    HttpRequest req = generate_request ();
    req.body_store = store;
    auto call = engine.send (std::move (req));
    fail_unless_equals_int ((int) call->wait_until (Clock::now () + std::chrono::seconds (30)),
        (int) HttpCall::WaitResult::Done);
    HttpResponse & r = call->response ();
    fail_if (r.error, "%s", r.error ? r.error->message : "");
    fail_unless_equals_int (r.status, 200);
    const gsize size = g_bytes_get_size (r.body.get ());
    fail_unless (size > 10000);
    fail_unless (r.body_capacity >= size);
    const guint8 *data = static_cast<const guint8 *> (g_bytes_get_data (r.body.get (), nullptr));
    if (round == 1) {
      fail_unless (data == first_block);
      fail_unless_equals_int (store->reused (), 1);
    }
    Response answer = classify_http_response_in_place (r.status, nullptr, std::move (r.body), nullptr,
        ModelContent::Drop, store, r.body_capacity);
    fail_unless_equals_int ((int) answer.outcome, (int) Outcome::Image);
    /* Decoded in place: the image's bytes start the body's block. */
    fail_unless (g_bytes_get_data (answer.image.get (), nullptr) == data);
    first_block = data;
    fail_unless_equals_int (store->idle (), 0);
    answer.image.reset ();
    fail_unless_equals_int (store->idle (), 1);
  }
  /* An error's body neither takes nor frees a kept block; a chunked answer
   * (no Content-Length, as the API sends) takes the largest kept one. */
  emu->set_script ("[{\"do\":\"error\",\"status\":503},"
      "{\"do\":\"image\",\"headers\":{\"Transfer-Encoding\":\"chunked\"}}]");
  for (int status : {503, 200}) {
    HttpRequest req = generate_request ();
    req.body_store = store;
    auto call = engine.send (std::move (req));
    fail_unless_equals_int ((int) call->wait_until (Clock::now () + std::chrono::seconds (30)),
        (int) HttpCall::WaitResult::Done);
    HttpResponse & r = call->response ();
    fail_if (r.error, "%s", r.error ? r.error->message : "");
    fail_unless_equals_int (r.status, status);
    const guint8 *data = static_cast<const guint8 *> (g_bytes_get_data (r.body.get (), nullptr));
    if (status == 503) {
      fail_unless (data != first_block);
      fail_unless_equals_int (store->idle (), 1);
      fail_unless_equals_int (store->reused (), 1);
    } else {
      fail_unless (data == first_block, "the chunked answer did not reuse the kept block");
      fail_unless_equals_int (store->reused (), 2);
      fail_unless (r.body_capacity >= g_bytes_get_size (r.body.get ()));
    }
  }
  emu->set_script ("[]");
  engine.stop ();
}
GST_END_TEST;

/* cancel() releases the waiter at once, whatever the socket does. */
GST_START_TEST (test_cancel_is_immediate)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"hang\"}],\"then\":\"repeat\"}");
  HttpEngine engine;
  start_engine (engine);
  auto call = engine.send (generate_request ());
  std::thread canceller ([call] {
    g_usleep (200 * 1000);
    call->cancel ();
  });
  auto t0 = Clock::now ();
  auto result = call->wait_until (Clock::now () + std::chrono::seconds (30));
  double waited = seconds_since (t0);
  canceller.join ();
  fail_unless (result == HttpCall::WaitResult::Cancelled,
      "the hung request ended before cancel(): status %u, error %s", call->response ().status,
      call->response ().error ? call->response ().error->message : "none");
  fail_unless (waited < 0.5, "cancel took %.3f s", waited);

  /* A deadline ends the wait and cancels the request. */
  call = engine.send (generate_request ());
  t0 = Clock::now ();
  result = call->wait_until (Clock::now () + std::chrono::milliseconds (300));
  waited = seconds_since (t0);
  fail_unless_equals_int ((int) result, (int) HttpCall::WaitResult::TimedOut);
  fail_unless (waited >= 0.29 && waited < 0.8, "deadline wait took %.3f s", waited);

  /* Stopping the engine with requests in flight returns promptly. */
  auto pending = engine.send (generate_request ());
  g_usleep (100 * 1000);
  t0 = Clock::now ();
  engine.stop ();
  fail_unless (seconds_since (t0) < 0.5);
  fail_unless_equals_int ((int) pending->wait_until (Clock::now () + std::chrono::seconds (5)),
      (int) HttpCall::WaitResult::Done);
  fail_unless (pending->response ().error);
  emu->set_script ("[]");
}
GST_END_TEST;

/* The body cap holds for an announced length and for an endless body. */
GST_START_TEST (test_size_cap)
{
  emu->reset ();
  HttpEngine engine;
  HttpEngine::Config config;
  config.max_response_bytes = 256 * 1024;
  start_engine (engine, std::move (config));

  /* The recorded Pro answer is 3.3 MB, announced by Content-Length. */
  emu->set_script ("[{\"do\":\"replay\",\"file\":\"test_google_image_generation_with_text.yaml\"}]");
  auto call = engine.send (generate_request ());
  call->wait_until (Clock::now () + std::chrono::seconds (30));
  fail_unless (call->response ().too_large);

  emu->set_script ("[{\"do\":\"endless\"}]");
  auto t0 = Clock::now ();
  call = engine.send (generate_request ());
  fail_unless_equals_int ((int) call->wait_until (Clock::now () + std::chrono::seconds (30)),
      (int) HttpCall::WaitResult::Done);
  fail_unless (call->response ().too_large);
  fail_unless (seconds_since (t0) < 5.0);
  engine.stop ();
  emu->set_script ("[]");
}
GST_END_TEST;

/* Resets and cut-off bodies are transport errors, not short successes. */
GST_START_TEST (test_transport_errors)
{
  emu->reset ();
  HttpEngine engine;
  start_engine (engine);
  for (const char *step : { "[{\"do\":\"reset\"}]", "[{\"do\":\"truncate\"}]" }) {
    emu->set_script (step);
    auto call = engine.send (generate_request ());
    fail_unless_equals_int ((int) call->wait_until (Clock::now () + std::chrono::seconds (30)),
        (int) HttpCall::WaitResult::Done);
    fail_unless (call->response ().error != nullptr, "%s gave no error", step);
  }

  /* Nothing listens on port 1. */
  HttpRequest req = generate_request ();
  req.url = "http://127.0.0.1:1/v1beta/models/m:generateContent";
  auto call = engine.send (std::move (req));
  call->wait_until (Clock::now () + std::chrono::seconds (30));
  fail_unless (call->response ().error != nullptr);
  fail_unless (g_error_matches (call->response ().error.get (), G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED),
      "%s", call->response ().error->message);

  req = generate_request ();
  req.url = "not a url";
  call = engine.send (std::move (req));
  call->wait_until (Clock::now () + std::chrono::seconds (5));
  fail_unless (call->response ().error != nullptr);
  engine.stop ();
  emu->set_script ("[]");
}
GST_END_TEST;

/* The HTTP log shows headers but never the key. */
GST_START_TEST (test_log_redaction)
{
  const std::vector<std::string> secret {"x-goog-api-key", "authorization"};
  struct { const char *in, *out; } cases[] = {
    {"x-goog-api-key: abc", "x-goog-api-key: [REDACTED]"},
    {"X-Goog-Api-Key: abc", "X-Goog-Api-Key: [REDACTED]"},
    {"Authorization: Bearer t", "Authorization: [REDACTED]"},
    {"x-goog-api-keys: abc", "x-goog-api-keys: abc"},
    {"POST /v1beta/models/m:generateContent HTTP/1.1", "POST /v1beta/models/m:generateContent HTTP/1.1"},
  };
  for (const auto & c : cases) {
    std::string got = HttpEngine::redact_log_line (c.in, secret);
    fail_unless_equals_string (got.c_str (), c.out);
  }

  emu->reset ();
  std::vector<std::string> lines;
  std::mutex lock;
  HttpEngine engine;
  HttpEngine::Config config;
  config.log_level = 3;   /* SOUP_LOGGER_LOG_BODY */
  config.log = [&] (const char *line) {
    std::lock_guard<std::mutex> lk (lock);
    lines.emplace_back (line);
  };
  start_engine (engine, std::move (config));
  HttpRequest req = generate_request ();
  req.headers[0].second = "very-secret-key-123";
  auto call = engine.send (std::move (req));
  call->wait_until (Clock::now () + std::chrono::seconds (30));
  engine.stop ();
  bool redacted = false;
  for (const auto & l : lines) {
    fail_unless (l.find ("very-secret-key-123") == std::string::npos, "key in log: %s", l.c_str ());
    redacted |= l.find ("x-goog-api-key: [REDACTED]") != std::string::npos;
  }
  fail_unless (redacted, "the logger did not print the request headers (%zu lines)", lines.size ());
}
GST_END_TEST;

/* ------------------------------------------------------------- helpers */

/* Waits for a call that must complete (not cancelled, not timed out). */
static HttpResponse &
wait_done (std::shared_ptr<HttpCall> & call, int seconds = 30)
{
  auto result = call->wait_until (Clock::now () + std::chrono::seconds (seconds));
  fail_unless (result == HttpCall::WaitResult::Done, "the call did not complete (%d)", (int) result);
  return call->response ();
}

static std::string
body_of (const HttpResponse & r)
{
  return string_of (r.body.get ());
}

/* Deterministic bytes, all 256 values (xorshift32). */
static std::string
pattern_bytes (gsize n, guint32 seed)
{
  std::string out (n, '\0');
  guint32 x = seed ? seed : 1;
  for (gsize i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = char (x & 0xff);
  }
  return out;
}

/* `body` in chunks of `chunk` bytes, with the last chunk. */
static std::string
chunked (const std::string & body, gsize chunk)
{
  std::string out;
  for (gsize pos = 0; pos < body.size (); pos += chunk) {
    gsize n = std::min (chunk, body.size () - pos);
    gchar *size = g_strdup_printf ("%zx\r\n", n);
    out += size;
    g_free (size);
    out.append (body, pos, n);
    out += "\r\n";
  }
  return out + "0\r\n\r\n";
}

static std::string
gzip (const std::string & data)
{
  GObjectPtr<GZlibCompressor> z (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1));
  std::string out (data.size () + 1024, '\0');
  gsize read = 0, written = 0;
  GErrorPtr err;
  GConverterResult res = g_converter_convert (G_CONVERTER (z.get ()), data.data (), data.size (), out.data (),
      out.size (), G_CONVERTER_INPUT_AT_END, &read, &written, out_error (err));
  fail_unless (res == G_CONVERTER_FINISHED, "gzip: %s", err ? err->message : "not finished");
  out.resize (written);
  return out;
}

static std::string
length_answer (const std::string & body)
{
  return RawServer::head (200, "Content-Type: application/json\r\nContent-Length: " +
      std::to_string (body.size ()) + "\r\n") + body;
}

static std::string
chunked_answer (const std::string & body, gsize chunk)
{
  return RawServer::head (200, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
      chunked (body, chunk);
}

struct Reply {
  std::string bytes;
  bool close = false;   /* close after sending; else keep the connection */
};

/* A RawServer answering each request (numbered from 0 over all
 * connections) with `answer (index)`. */
static std::unique_ptr<RawServer>
serve (std::function<Reply (int index)> answer)
{
  auto counter = std::make_shared<std::atomic<int>> (0);
  return std::make_unique<RawServer> ([answer, counter] (RawServer::Connection & c) {
    while (c.read_request ()) {
      Reply r = answer ((*counter)++);
      if (!c.send (r.bytes) || r.close)
        return;
    }
  });
}

static HttpRequest
raw_request (const RawServer & server, const char * path = "/v1beta/models/m:generateContent")
{
  HttpRequest req = generate_request ();
  req.url = server.url () + path;
  return req;
}

/* --------------------------------------------------------- redirects */

/* A 3xx is never followed: the key would go to whatever host it names. The
 * status comes back with the target's origin, and never its userinfo. */
GST_START_TEST (test_redirect_not_followed)
{
  emu->reset ();
  /* The host a redirect points at: answers anything with 200. */
  auto elsewhere = serve ([] (int) { return Reply {length_answer ("{\"elsewhere\":true}")}; });
  const std::string other = elsewhere->url ();
  struct {
    int status;
    std::string location;
    std::string target;
  } cases[] = {
    {301, other + "/v1beta/models/m:generateContent", other},
    {302, "http://user:pw@127.0.0.1:" + std::to_string (elsewhere->port ()) + "/path?key=k#f", other},
    {303, "HTTP://127.0.0.1:" + std::to_string (elsewhere->port ()) + "/", other},
    {307, "https://evil.example:443/x?key=k", "https://evil.example"},
    {308, "http://[::1]:8080/x", "http://[::1]:8080"},
    {302, "/v1beta/moved?key=k", emu->base_url ()},
    {302, "//user:pw@evil.example:8443/x", "http://evil.example:8443"},
  };
  HttpEngine engine;
  start_engine (engine);
  for (const auto & c : cases) {
    JsonBuilder *b = json_builder_new ();
    json_builder_begin_array (b);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "do");
    json_builder_add_string_value (b, "raw");
    json_builder_set_member_name (b, "status");
    json_builder_add_int_value (b, c.status);
    json_builder_set_member_name (b, "body");
    json_builder_add_string_value (b, "moved");
    json_builder_set_member_name (b, "headers");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "Location");
    json_builder_add_string_value (b, c.location.c_str ());
    json_builder_end_object (b);
    json_builder_end_object (b);
    json_builder_end_array (b);
    JsonNode *root = json_builder_get_root (b);
    gchar *script = json_to_string (root, FALSE);
    json_node_unref (root);
    g_object_unref (b);
    emu->set_script (script);
    g_free (script);

    auto r_call = engine.send (generate_request ());
    HttpResponse & r = wait_done (r_call);
    fail_if (r.error, "%d: %s", c.status, r.error ? r.error->message : "");
    fail_unless_equals_int (r.status, c.status);
    fail_unless_equals_string (r.redirect_target.c_str (), c.target.c_str ());
    fail_unless (r.redirect_target.find ("pw") == std::string::npos);
    fail_unless (r.redirect_target.find ("user") == std::string::npos);
  }
  fail_unless_equals_int (elsewhere->connections (), 0);

  /* Not a redirect: no target. */
  emu->set_script ("[]");
  auto r_call = engine.send (generate_request ());
  HttpResponse & r = wait_done (r_call);
  fail_unless_equals_int (r.status, 200);
  fail_unless (r.redirect_target.empty ());
  engine.stop ();
}
GST_END_TEST;

/* ------------------------------------------------------------ proxies */

/* Config::direct: no proxy at all, whatever http_proxy or `proxy` say. */
GST_START_TEST (test_direct_ignores_proxy)
{
  emu->reset ();
  auto proxy = serve ([] (int) { return Reply {length_answer ("{\"via\":\"proxy\"}")}; });
  const std::string saved_http = g_getenv ("http_proxy") ? g_getenv ("http_proxy") : "";
  const std::string saved_no = g_getenv ("no_proxy") ? g_getenv ("no_proxy") : "";
  g_setenv ("http_proxy", proxy->url ().c_str (), TRUE);
  g_unsetenv ("no_proxy");

  /* First proof that the environment's proxy is in force here. */
  {
    HttpEngine engine;
    start_engine (engine);
    auto r_call = engine.send (generate_request ());
    HttpResponse & r = wait_done (r_call);
    fail_if (r.error, "%s", r.error ? r.error->message : "");
    fail_unless (body_of (r) == "{\"via\":\"proxy\"}", "not the proxy's answer: %.80s", body_of (r).c_str ());
    engine.stop ();
  }
  int through_proxy = proxy->connections ();
  fail_unless (through_proxy >= 1);

  for (bool with_proxy_uri : {false, true}) {
    HttpEngine engine;
    HttpEngine::Config config;
    config.direct = true;
    if (with_proxy_uri)
      config.proxy = proxy->url ();
    start_engine (engine, std::move (config));
    auto r_call = engine.send (generate_request ());
    HttpResponse & r = wait_done (r_call);
    fail_if (r.error, "%s", r.error ? r.error->message : "");
    fail_unless_equals_int (r.status, 200);
    fail_unless (body_of (r).find ("candidates") != std::string::npos, "not the emulator's answer: %.80s",
        body_of (r).c_str ());
    engine.stop ();
  }
  fail_unless_equals_int (proxy->connections (), through_proxy);
  JsonNode *log = emu->requests ();
  fail_unless_equals_int (json_array_get_length (json_node_get_array (log)), 2);
  json_node_unref (log);

  g_setenv ("http_proxy", saved_http.c_str (), TRUE);
  g_setenv ("no_proxy", saved_no.c_str (), TRUE);
}
GST_END_TEST;

/* ------------------------------------------------------- body buffer */

/* Exact bytes for several sizes and framings. */
static void
check_exact_bodies (HttpEngine & engine)
{
  const std::string small = pattern_bytes (1000, 7);
  const std::string big = pattern_bytes (3 * 1024 * 1024 + 17, 11);
  std::vector<std::string> answers {
    length_answer (small), chunked_answer (small, 100),
    length_answer (big), chunked_answer (big, 65536), chunked_answer (big, 300000),
    length_answer (""), chunked_answer ("", 1),
  };
  std::vector<const std::string *> expected {&small, &small, &big, &big, &big, nullptr, nullptr};
  auto server = serve ([&answers] (int i) { return Reply {answers[gsize (i) % answers.size ()]}; });
  for (gsize i = 0; i < answers.size (); i++) {
    auto r_call = engine.send (raw_request (*server));
    HttpResponse & r = wait_done (r_call);
    fail_if (r.error, "answer %zu: %s", i, r.error ? r.error->message : "");
    fail_if (r.too_large);
    fail_unless_equals_int (r.status, 200);
    std::string got = body_of (r);
    const std::string want = expected[i] ? *expected[i] : std::string ();
    fail_unless (got == want, "answer %zu: %zu bytes, expected %zu, first difference at %zu", i,
        got.size (), want.size (),
        gsize (std::mismatch (got.begin (), got.begin () + std::min (got.size (), want.size ()),
            want.begin ()).first - got.begin ()));
  }
}

/* G_DEBUG=gc-friendly makes GLib zero memory it shrinks: a body buffer
 * shrunk under a pending read came back as zeros. GLib reads G_DEBUG at
 * start-up, so the check runs in a child process of this binary. */
GST_START_TEST (test_body_exact_gc_friendly)
{
  if (g_mem_gc_friendly) {
    HttpEngine engine;
    start_engine (engine);
    check_exact_bodies (engine);
    engine.stop ();
    return;
  }
  gchar **env = g_get_environ ();
  env = g_environ_setenv (env, "G_DEBUG", "gc-friendly", TRUE);
  env = g_environ_setenv (env, "GST_CHECKS", "test_body_exact_gc_friendly", TRUE);
  gchar *self = g_file_read_link ("/proc/self/exe", nullptr);
  const gchar *argv[] = {self, nullptr};
  gint status = -1;
  GError *error = nullptr;
  gchar *out = nullptr;
  /* The child's report goes to stderr: on stdout its "Checks: 1" would be
   * the first count tests/summarize.py finds for this binary. */
  gboolean spawned = g_spawn_sync (nullptr, const_cast<gchar **> (argv), env, G_SPAWN_DEFAULT, nullptr,
      nullptr, &out, nullptr, &status, &error);
  fail_unless (spawned, "%s", error ? error->message : "");
  g_printerr ("--- the G_DEBUG=gc-friendly run:\n%s--- end of the G_DEBUG=gc-friendly run\n", out);
  fail_unless (g_spawn_check_wait_status (status, nullptr),
      "the G_DEBUG=gc-friendly run failed (status %d): see its output above", status);
  /* It ran this test, and only this one. */
  fail_unless (strstr (out, "Checks: 1, Failures: 0, Errors: 0") != nullptr, "the G_DEBUG=gc-friendly run: %s", out);
  g_free (out);
  g_free (self);
  g_strfreev (env);

  /* And without it. */
  HttpEngine engine;
  start_engine (engine);
  check_exact_bodies (engine);
  engine.stop ();
}
GST_END_TEST;

/* Every limit is exact: L bytes pass, L + 1 are too large, announced or
 * not; the property's maximum (G_MAXUINT32) works like any other. */
GST_START_TEST (test_size_limit_exact)
{
  for (gsize limit : {gsize (1), gsize (1000), gsize (262144), gsize (262145), gsize (1048583)}) {
    const std::string fits = pattern_bytes (limit, guint32 (limit));
    const std::string over = pattern_bytes (limit + 1, guint32 (limit));
    std::vector<std::string> answers {
      length_answer (fits), chunked_answer (fits, 4096),
      length_answer (over), chunked_answer (over, 4096), chunked_answer (over, 1),
    };
    auto server = serve ([&answers] (int i) { return Reply {answers[gsize (i)], true}; });
    HttpEngine engine;
    HttpEngine::Config config;
    config.max_response_bytes = limit;
    start_engine (engine, std::move (config));
    for (gsize i = 0; i < answers.size (); i++) {
      if (limit > 100000 && i == 4)
        continue;   /* a megabyte in 1-byte chunks is slow for nothing */
      auto r_call = engine.send (raw_request (*server));
      HttpResponse & r = wait_done (r_call);
      fail_if (r.error, "limit %zu answer %zu: %s", limit, i, r.error ? r.error->message : "");
      if (i < 2) {
        fail_if (r.too_large, "limit %zu answer %zu: %zu bytes refused", limit, i, fits.size ());
        fail_unless (body_of (r) == fits, "limit %zu answer %zu: wrong bytes", limit, i);
      } else {
        fail_unless (r.too_large, "limit %zu answer %zu: %zu bytes accepted", limit, i, over.size ());
      }
    }
    engine.stop ();
  }
}
GST_END_TEST;

/* Resident and virtual size of this process, in bytes. */
static guint64
address_space_bytes ()
{
  gchar *text = nullptr;
  guint64 pages = 0;
  if (g_file_get_contents ("/proc/self/statm", &text, nullptr, nullptr))
    pages = g_ascii_strtoull (text, nullptr, 10);
  g_free (text);
  return pages * guint64 (sysconf (_SC_PAGESIZE));
}

GST_START_TEST (test_size_limit_at_maximum)
{
  HttpEngine engine;
  HttpEngine::Config config;
  config.max_response_bytes = G_MAXUINT32;   /* max-response-size's maximum */
  start_engine (engine, std::move (config));

  /* A normal 2 MB answer, announced and chunked: exact bytes. */
  const std::string body = pattern_bytes (2 * 1000 * 1000, 3);
  std::vector<std::string> answers {length_answer (body), chunked_answer (body, 16384)};
  auto normal = serve ([&answers] (int i) { return Reply {answers[gsize (i) % 2]}; });
  for (int i = 0; i < 2; i++) {
    auto r_call = engine.send (raw_request (*normal));
    HttpResponse & r = wait_done (r_call);
    fail_if (r.error, "%s", r.error ? r.error->message : "");
    fail_if (r.too_large);
    fail_unless (body_of (r) == body, "answer %d: %zu bytes, wrong content", i, body_of (r).size ());
  }

  /* 5 GiB announced: refused at once, before any body byte is read. */
  auto huge = std::make_unique<RawServer> ([] (RawServer::Connection & c) {
    if (!c.read_request ())
      return;
    c.send (RawServer::head (200, "Content-Type: application/json\r\nContent-Length: 5368709120\r\n") +
        std::string (1000, 'x'));
    c.wait_closed ();
  });
  auto t0 = Clock::now ();
  auto r_call = engine.send (raw_request (*huge));
  HttpResponse & r = wait_done (r_call);
  fail_unless (r.too_large);
  fail_unless (seconds_since (t0) < 2.0);

  /* Exactly the limit announced (4 GiB - 1, accepted), 1000 bytes sent,
   * then the server closes: a prompt transport error, and the buffer is
   * not sized from the server's word. An address-space limit 2 GiB above
   * today's turns a 4 GiB allocation into a failure (not under ASan, whose
   * shadow memory needs terabytes of address space). */
  auto liar = std::make_unique<RawServer> ([] (RawServer::Connection & c) {
    if (!c.read_request ())
      return;
    c.send (RawServer::head (200, "Content-Type: application/json\r\nContent-Length: 4294967295\r\n"
            "Connection: close\r\n") + std::string (1000, 'x'));
  });
#if defined(__SANITIZE_ADDRESS__)
  const bool limit_as = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  const bool limit_as = false;
#else
  const bool limit_as = true;
#endif
#else
  const bool limit_as = true;
#endif
  rlimit saved = {};
  getrlimit (RLIMIT_AS, &saved);
  if (limit_as) {
    rlimit tight = saved;
    tight.rlim_cur = address_space_bytes () + (guint64 (2) << 30);
    fail_unless (setrlimit (RLIMIT_AS, &tight) == 0);
  }
  t0 = Clock::now ();
  auto cut_call = engine.send (raw_request (*liar));
  HttpResponse & cut = wait_done (cut_call);
  if (limit_as)
    setrlimit (RLIMIT_AS, &saved);
  fail_unless (cut.error != nullptr, "a 1000-byte body announced as 4 GiB - 1 was accepted");
  fail_unless (g_error_matches (cut.error.get (), G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT), "%s",
      cut.error->message);
  fail_unless (strstr (cut.error->message, "cut off after 1000 of 4294967295 bytes"), "%s", cut.error->message);
  fail_unless (seconds_since (t0) < 2.0);
  engine.stop ();
}
GST_END_TEST;

/* ---------------------------------------------------- connect timeout */

/* Sends to `url` and expects the connect timer's error, `message`, within
 * the 1 s bound (+0.6 s). Returns how long it took. */
static double
expect_connect_timeout (HttpEngine & engine, const std::string & url, const std::string & message)
{
  HttpRequest req = generate_request ();
  req.url = url + "/v1beta/models/m:generateContent";
  auto t0 = Clock::now ();
  auto call = engine.send (std::move (req));
  HttpResponse & r = wait_done (call);
  double took = seconds_since (t0);
  fail_unless (r.error != nullptr, "%s: HTTP %u", url.c_str (), r.status);
  fail_unless (g_error_matches (r.error.get (), G_IO_ERROR, G_IO_ERROR_TIMED_OUT), "%s", r.error->message);
  fail_unless_equals_string (r.error->message, message.c_str ());
  fail_unless (took >= 0.95 && took < 1.6, "%s: took %.3f s", url.c_str (), took);
  return took;
}

GST_START_TEST (test_connect_timeout)
{
  HttpEngine engine;
  HttpEngine::Config config;
  config.connect_timeout_s = 1;
  start_engine (engine, std::move (config));

  /* https to a server that accepts and never speaks. */
  RawServer silent ([] (RawServer::Connection & c) { c.wait_closed (); });
  double took = expect_connect_timeout (engine, silent.url ("https"), "the server at 127.0.0.1:" +
      std::to_string (silent.port ()) + " did not complete a TLS handshake within 1 s: is it http rather than https?");
  g_print ("connect timeout: TLS to a silent server ended after %.3f s\n", took);

  /* A listening socket whose accept queue is full: SYNs are dropped. */
  int full = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  fail_unless (bind (full, reinterpret_cast<sockaddr *> (&addr), sizeof addr) == 0);
  fail_unless (listen (full, 0) == 0);
  getsockname (full, reinterpret_cast<sockaddr *> (&addr), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; i++) {
    int f = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    connect (f, reinterpret_cast<sockaddr *> (&addr), sizeof addr);
    fillers.push_back (f);
  }
  g_usleep (100 * 1000);
  const std::string port = std::to_string (ntohs (addr.sin_port));
  took = expect_connect_timeout (engine, "http://127.0.0.1:" + port,
      "could not connect to 127.0.0.1:" + port + " within 1 s");
  g_print ("connect timeout: connecting to a full accept queue ended after %.3f s\n", took);
  for (int f : fillers)
    close (f);
  close (full);
  engine.stop ();
}
GST_END_TEST;

/* https to a plain-http server. gemini-emulator (SoupServer) reads the TLS
 * ClientHello as the start of a request line and waits for its end: both
 * sides wait, and only the connect timer ends it. A server that answers
 * the ClientHello with an HTTP error at once makes GnuTLS fail by itself. */
GST_START_TEST (test_https_to_plain_http)
{
  emu->reset ();
  HttpEngine engine;
  HttpEngine::Config config;
  config.connect_timeout_s = 1;
  start_engine (engine, std::move (config));
  const std::string port = std::to_string (emu->port ());
  double took = expect_connect_timeout (engine, "https://127.0.0.1:" + port, "the server at 127.0.0.1:" + port +
      " did not complete a TLS handshake within 1 s: is it http rather than https?");
  g_print ("https to the plain emulator: timed out after %.3f s\n", took);

  RawServer answering ([] (RawServer::Connection & c) {
    c.send (RawServer::head (400, "Content-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n") +
        "Bad Request");
  });
  HttpRequest req = generate_request ();
  req.url = answering.url ("https") + "/v1beta/models/m:generateContent";
  auto t0 = Clock::now ();
  auto a_call = engine.send (std::move (req));
  HttpResponse & a = wait_done (a_call);
  took = seconds_since (t0);
  fail_unless (a.error != nullptr);
  g_print ("https to a plain server that answers: %s %d \"%s\" after %.3f s\n",
      g_quark_to_string (a.error->domain), a.error->code, a.error->message, took);
  fail_unless (took < 0.9, "took %.3f s", took);
  fail_if (g_error_matches (a.error.get (), G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
  engine.stop ();
}
GST_END_TEST;

/* The connect timer bounds connecting only: a slow answer still arrives,
 * twice on one engine, over http and over https. (libsoup 3.2 never reuses
 * a connection for a POST, which is not idempotent: soup-connection-manager.c
 * opens a new one each time, so both requests go through every connect
 * phase; the timer stops once the request headers are written, which a
 * reused connection would do at once.) */
static void
check_slow_answers (EmulatorProcess & server, GTlsDatabase * db)
{
  server.reset ();
  server.set_script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":2500}],\"then\":\"repeat\"}");
  HttpEngine engine;
  HttpEngine::Config config;
  config.connect_timeout_s = 1;
  if (db)
    config.tls_database = GObjectRef<GTlsDatabase>::ref (db);
  start_engine (engine, std::move (config));
  for (int i = 0; i < 2; i++) {
    HttpRequest req = generate_request ();
    req.url = server.base_url () + "/v1beta/models/gemini-3.1-flash-lite-image:generateContent";
    auto t0 = Clock::now ();
    auto r_call = engine.send (std::move (req));
    HttpResponse & r = wait_done (r_call);
    fail_if (r.error, "%s request %d: %s", server.base_url ().c_str (), i, r.error ? r.error->message : "");
    fail_unless_equals_int (r.status, 200);
    fail_unless (seconds_since (t0) >= 2.4);
  }
  engine.stop ();
  server.set_script ("[]");
}

GST_START_TEST (test_connect_timeout_spares_slow_answers)
{
  check_slow_answers (*emu, nullptr);

  std::string cert, key, why;
  if (!gemini::test::make_self_signed_cert (tmp_dir (), cert, key, why)) {
    g_print ("skipping the https half: %s\n", why.c_str ());
  } else {
    EmulatorProcess tls ({"--tls-cert", cert, "--tls-key", key});
    GErrorPtr err;
    GObjectPtr<GTlsDatabase> db (g_tls_file_database_new (cert.c_str (), out_error (err)));
    fail_unless (db != nullptr, "%s", err ? err->message : "");
    check_slow_answers (tls, db.get ());
  }
}
GST_END_TEST;

/* ------------------------------------------------------ broken framing */

/* libsoup ends some broken bodies silently; the engine reports them as
 * transport errors, not as short or empty 200 bodies. */
GST_START_TEST (test_broken_framing)
{
  const std::string chunked_head =
      RawServer::head (200, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n");
  struct {
    const char *what;
    std::string bytes;
    bool close;
  } broken[] = {
    {"chunk-size line not hex", chunked_head + "zz\r\n{\"candidates\":[]}\r\n0\r\n\r\n", false},
    {"negative chunk size", chunked_head + "-5\r\nhello\r\n0\r\n\r\n", false},
    {"no chunk, then closed", chunked_head, true},
    {"closed after a chunk", chunked_head + "5\r\nhello\r\n", true},
    {"closed inside a chunk", chunked_head + "10\r\nhello", true},
    {"closed inside a size line", chunked_head + "5\r\nhello\r\n1", true},
    {"Content-Length short, Connection: close",
     RawServer::head (200, "Content-Length: 100\r\nConnection: close\r\n") + "hello", true},
    {"Content-Length short, keep-alive", RawServer::head (200, "Content-Length: 100\r\n") + "hello", true},
    {"HTTP/1.0 Content-Length short", "HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nhello", true},
  };
  HttpEngine engine;
  start_engine (engine);
  for (const auto & b : broken) {
    auto server = serve ([&b] (int) { return Reply {b.bytes, b.close}; });
    auto r_call = engine.send (raw_request (*server));
    HttpResponse & r = wait_done (r_call, 10);
    fail_unless (r.error != nullptr, "%s: accepted as HTTP %u with %zu body bytes", b.what, r.status,
        body_of (r).size ());
    fail_unless (g_error_matches (r.error.get (), G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT), "%s: %s", b.what,
        r.error->message);
    fail_unless (strstr (r.error->message, "the response body was cut off"), "%s: %s", b.what,
        r.error->message);
    g_print ("%s: %s\n", b.what, r.error->message);
  }

  /* Valid framings still pass, chunk extensions, bare LFs and content
   * codings (whose decoded size differs from the wire's) included. */
  const std::string text = pattern_bytes (5000, 5) + std::string (100000, 'a');
  const std::string packed = gzip (text);
  const std::string gzip_head = "Content-Type: application/json\r\nContent-Encoding: gzip\r\n";
  struct {
    std::string bytes;
    std::string body;
  } valid[] = {
    {RawServer::head (200, gzip_head + "Content-Length: " + std::to_string (packed.size ()) + "\r\n") + packed, text},
    {RawServer::head (200, gzip_head + "Transfer-Encoding: chunked\r\n") + chunked (packed, 1000), text},
    {RawServer::head (200, gzip_head + "Transfer-Encoding: chunked\r\n") + chunked (packed, 100000), text},
    {chunked_head + "0\r\n\r\n", ""},
    {chunked_head + "5\r\nhello\r\n0\r\n\r\n", "hello"},
    {chunked_head + "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
    {chunked_head + "5\nhello\n0\n\n", "hello"},
    {chunked_head + "000005\r\nhello\r\n0\r\n\r\n", "hello"},
    {RawServer::head (200, "Content-Length: 5\r\nConnection: close\r\n") + "hello", "hello"},
  };
  for (const auto & v : valid) {
    auto server = serve ([&v] (int) { return Reply {v.bytes, true}; });
    auto r_call = engine.send (raw_request (*server));
    HttpResponse & r = wait_done (r_call, 10);
    fail_if (r.error, "%.20s: %s", v.body.c_str (), r.error ? r.error->message : "");
    fail_unless (body_of (r) == v.body, "%.20s: got %zu bytes", v.body.c_str (), body_of (r).size ());
  }
  engine.stop ();
}
GST_END_TEST;

/* ------------------------------------------------------------ logging */

struct CapturedLog {
  std::mutex lock;
  std::vector<std::string> lines;
};

static void
capture_geminihttp (GstDebugCategory * category, GstDebugLevel, const gchar *, const gchar *, gint,
    GObject *, GstDebugMessage * message, gpointer user_data)
{
  if (g_strcmp0 (gst_debug_category_get_name (category), "geminihttp") != 0)
    return;
  auto log = static_cast<CapturedLog *> (user_data);
  std::lock_guard<std::mutex> lk (log->lock);
  log->lines.emplace_back (gst_debug_message_get (message));
}

/* The engine's own lines go to the "geminihttp" category: start, the
 * request, the status, the bytes, a cancellation, stop; never the key,
 * whether it travels in the header, in ?key= or as a proxy password. */
GST_START_TEST (test_debug_category)
{
  emu->reset ();
  CapturedLog log;
  gst_debug_set_active (TRUE);
  gst_debug_set_threshold_for_name ("geminihttp", GST_LEVEL_MEMDUMP);
  gst_debug_add_log_function (capture_geminihttp, &log, nullptr);
  /* Captured, not printed: they would flood the test log. */
  gst_debug_remove_log_function (gst_debug_log_default);

  HttpEngine engine;
  HttpEngine::Config config;
  config.proxy = "http://proxyuser:proxy-password-77@127.0.0.1:9";
  config.direct = true;   /* logged as direct; the proxy URI is not used */
  start_engine (engine, std::move (config));
  HttpRequest req = generate_request ();
  req.headers[0].second = "header-key-secret-55";
  req.url += "?key=query-key-secret-66";
  auto r_call = engine.send (std::move (req));
  HttpResponse & r = wait_done (r_call);
  fail_if (r.error, "%s", r.error ? r.error->message : "");
  const gsize bytes = g_bytes_get_size (r.body.get ());

  emu->set_script ("[{\"do\":\"hang\"}]");
  auto hung = engine.send (generate_request ());
  g_usleep (300 * 1000);
  hung->cancel ();
  g_usleep (100 * 1000);
  engine.stop ();

  HttpEngine other;
  HttpEngine::Config proxied;
  proxied.proxy = "http://proxyuser:proxy-password-77@127.0.0.1:9";
  start_engine (other, std::move (proxied));
  other.stop ();

  gst_debug_remove_log_function (capture_geminihttp);
  gst_debug_add_log_function (gst_debug_log_default, nullptr, nullptr);
  gst_debug_set_threshold_for_name ("geminihttp", GST_LEVEL_NONE);

  std::string all;
  for (const auto & l : log.lines) {
    fail_unless (l.find ("header-key-secret-55") == std::string::npos, "key in: %s", l.c_str ());
    fail_unless (l.find ("query-key-secret-66") == std::string::npos, "key in: %s", l.c_str ());
    fail_unless (l.find ("proxy-password-77") == std::string::npos, "password in: %s", l.c_str ());
    fail_unless (l.find ("proxyuser") == std::string::npos, "user in: %s", l.c_str ());
    all += l + "\n";
  }
  const std::string path = "POST " + emu->base_url () + "/v1beta/models/gemini-3.1-flash-lite-image:generateContent,";
  for (const std::string & want : {std::string ("started: direct, no proxy"), path, std::string ("HTTP 200"),
           std::to_string (bytes) + " body bytes", std::string ("cancelled by the caller"),
           std::string ("stopped"), std::string ("started: proxy http://127.0.0.1:9")})
    fail_unless (all.find (want) != std::string::npos, "no line with \"%s\" in:\n%s", want.c_str (), all.c_str ());
}
GST_END_TEST;

/* The engine-thread API: a completion callback on the engine thread, for
 * answers and for cancellations; one-shot timers that fire there and that
 * cancel() stops; after stop(), sends fail at once and timers are refused. */
GST_START_TEST (test_async_api)
{
  emu->reset ();
  HttpEngine engine;
  start_engine (engine);

  struct Seen {
    std::mutex lock;
    std::condition_variable cond;
    int calls = 0;
    bool on_engine_thread = true;
    guint status = 0;
    bool error = false;
  } seen;
  auto wait_calls = [&seen] (int n) {
    std::unique_lock<std::mutex> lk (seen.lock);
    return seen.cond.wait_for (lk, std::chrono::seconds (10), [&] { return seen.calls >= n; });
  };
  auto callback = [&seen, &engine] (const std::shared_ptr<HttpCall> & call) {
    std::lock_guard<std::mutex> lk (seen.lock);
    seen.calls++;
    seen.on_engine_thread = seen.on_engine_thread && engine.on_engine_thread ();
    seen.status = call->response ().status;
    seen.error = call->response ().error != nullptr;
    seen.cond.notify_all ();
  };
  engine.send (generate_request (), callback);
  fail_unless (wait_calls (1));
  fail_unless_equals_int (seen.status, 200);
  fail_unless (seen.on_engine_thread);

  /* A cancelled call completes too: its callback still runs, once. */
  emu->set_script ("{\"steps\":[{\"do\":\"hang\"}],\"then\":\"repeat\"}");
  auto hung = engine.send (generate_request (), callback);
  g_usleep (100 * 1000);   /* in flight, hanging */
  hung->cancel ();
  fail_unless (wait_calls (2));
  fail_unless (seen.error && hung->cancelled ());
  emu->set_script ("[]");

  /* Timers: in order, on the engine thread; a cancelled one never runs. */
  std::vector<int> fired;
  std::mutex fired_lock;
  std::condition_variable fired_cond;
  auto fire = [&] (int n) {
    return [&, n] {
      std::lock_guard<std::mutex> lk (fired_lock);
      fail_unless (engine.on_engine_thread ());
      fired.push_back (n);
      fired_cond.notify_all ();
    };
  };
  auto t2 = engine.add_timer (0.06, fire (2));
  auto t1 = engine.add_timer (0.02, fire (1));
  auto t3 = engine.add_timer (0.04, fire (3));
  auto t0 = engine.add_timer (0, fire (0));
  t3->cancel ();
  {
    std::unique_lock<std::mutex> lk (fired_lock);
    fail_unless (fired_cond.wait_for (lk, std::chrono::seconds (5), [&] { return fired.size () >= 3; }));
  }
  g_usleep (60000);
  fail_unless_equals_int (fired.size (), 3);
  fail_unless (fired[0] == 0 && fired[1] == 1 && fired[2] == 2);
  fail_if (engine.on_engine_thread ());

  /* A timer pending when the engine stops never runs; cancelling it after
   * the stop is harmless. */
  auto late = engine.add_timer (30, fire (9));
  engine.stop ();
  late->cancel ();
  fail_unless (engine.add_timer (0, fire (8)) == nullptr);
  int before = seen.calls;
  engine.send (generate_request (), callback);
  fail_unless_equals_int (seen.calls, before + 1);
  fail_unless (seen.error);
  fail_unless_equals_int (fired.size (), 3);
}
GST_END_TEST;

/* Streaming (HttpRequest::on_body_chunk): a 2xx body comes piece by piece
 * on the engine thread, every byte once and in order, nothing kept; a
 * non-2xx body is read whole as usual; a cut-off body, the size limit and a
 * reader that stops end the call as they would a whole body. */
GST_START_TEST (test_streaming_read)
{
  const std::string events = pattern_bytes (100000, 7);
  const std::string sse_head = RawServer::head (200, "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n");
  const std::string error_body = "{\"error\":{\"code\":503,\"status\":\"UNAVAILABLE\"}}";
  const std::string whole = chunked (events, 4096);
  std::vector<std::string> answers {
    sse_head + whole,
    RawServer::head (503, "Content-Type: application/json\r\nContent-Length: " + std::to_string (error_body.size ()) +
        "\r\n") + error_body,
    sse_head + whole.substr (0, whole.size () / 2),
    sse_head + chunked (pattern_bytes (300000, 8), 65536),
    sse_head + whole,
  };
  auto server = serve ([&answers] (int i) { return Reply {answers[gsize (i)], true}; });
  HttpEngine engine;
  HttpEngine::Config config;
  config.max_response_bytes = 200000;
  start_engine (engine, std::move (config));
  for (gsize i = 0; i < answers.size (); i++) {
    auto got = std::make_shared<std::string> ();
    auto pieces = std::make_shared<std::atomic<int>> (0);
    auto on_thread = std::make_shared<std::atomic<bool>> (true);
    HttpRequest req = raw_request (*server, "/v1beta/models/m:streamGenerateContent?alt=sse");
    HttpEngine *e = &engine;
    const bool stop = i == 4;
    req.on_body_chunk = [got, pieces, on_thread, e, stop] (const guint8 * data, gsize size) {
      got->append (reinterpret_cast<const char *> (data), size);
      (*pieces)++;
      if (!e->on_engine_thread ())
        *on_thread = false;
      return !stop;
    };
    auto call = engine.send (std::move (req));
    HttpResponse & r = wait_done (call);
    fail_unless (on_thread->load (), "answer %zu: a piece off the engine thread", i);
    switch (i) {
      case 0:
        fail_if (r.error, "%s", r.error ? r.error->message : "");
        fail_unless (r.streamed);
        fail_unless (!r.body);
        fail_unless_equals_uint64 (r.streamed_bytes, events.size ());
        fail_unless (*got == events, "the pieces differ from the body");
        fail_unless_equals_string (r.content_type.c_str (), "text/event-stream");
        break;
      case 1:
        fail_if (r.error);
        fail_if (r.streamed);
        fail_unless_equals_int (r.status, 503);
        fail_unless_equals_int (pieces->load (), 0);
        fail_unless (body_of (r) == error_body);
        break;
      case 2:
        fail_unless (r.error && g_error_matches (r.error.get (), G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT),
            "a cut-off stream: %s", r.error ? r.error->message : "no error");
        fail_unless (!got->empty () && events.starts_with (*got));
        break;
      case 3:
        fail_unless (r.too_large);
        fail_unless (got->size () <= 200000);
        break;
      default:
        fail_unless (r.error && g_error_matches (r.error.get (), G_IO_ERROR, G_IO_ERROR_FAILED),
            "a reader that stops: %s", r.error ? r.error->message : "no error");
        fail_unless_equals_int (pieces->load (), 1);
        break;
    }
  }
  engine.stop ();
}
GST_END_TEST;

static Suite *
http_suite (void)
{
  Suite *s = suite_create ("gemini-http");
  TCase *tc = add_emulator_tcase (s, "engine", 60);
  tcase_add_test (tc, test_response_complete);
  tcase_add_test (tc, test_body_store);
  tcase_add_test (tc, test_cancel_is_immediate);
  tcase_add_test (tc, test_size_cap);
  tcase_add_test (tc, test_transport_errors);
  tcase_add_test (tc, test_log_redaction);
  tcase_add_test (tc, test_redirect_not_followed);
  tcase_add_test (tc, test_direct_ignores_proxy);
  tcase_add_test (tc, test_body_exact_gc_friendly);
  tcase_add_test (tc, test_size_limit_exact);
  tcase_add_test (tc, test_size_limit_at_maximum);
  tcase_add_test (tc, test_connect_timeout);
  tcase_add_test (tc, test_https_to_plain_http);
  tcase_add_test (tc, test_connect_timeout_spares_slow_answers);
  tcase_add_test (tc, test_broken_framing);
  tcase_add_test (tc, test_debug_category);
  tcase_add_test (tc, test_async_api);
  tcase_add_test (tc, test_streaming_read);
  return s;
}

GST_CHECK_MAIN (http);
