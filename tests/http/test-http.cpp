/* The HTTP engine on its own, against gemini-emulator over loopback:
 * responses, waits that are bounded and cancellable, size caps, transport
 * errors, log redaction.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <chrono>
#include <string>
#include <vector>

#include "emulator-process.h"
#include "gemini-http.h"

#include <gst/check/gstcheck.h>

using namespace gemini;
using gemini::test::EmulatorProcess;
using Clock = std::chrono::steady_clock;

static EmulatorProcess *emu;

static void
start_emulator (void)
{
  emu = new EmulatorProcess ();
}

static void
stop_emulator (void)
{
  delete emu;
  emu = nullptr;
}

static HttpRequest
generate_request (const std::string & model = "gemini-2.5-flash-image")
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

static Suite *
http_suite (void)
{
  Suite *s = suite_create ("gemini-http");
  TCase *tc = tcase_create ("engine");
  suite_add_tcase (s, tc);
  tcase_add_unchecked_fixture (tc, start_emulator, stop_emulator);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_response_complete);
  tcase_add_test (tc, test_cancel_is_immediate);
  tcase_add_test (tc, test_size_cap);
  tcase_add_test (tc, test_transport_errors);
  tcase_add_test (tc, test_log_redaction);
  return s;
}

GST_CHECK_MAIN (http);
