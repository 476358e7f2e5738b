/* Tests of the AttemptRunner's streaming path (AttemptPolicy::previews)
 * against the emulator's streamGenerateContent?alt=sse: the final image
 * is the unary one, pixel for pixel; the drafts arrive first; an error
 * event after the 200 is classified like its status; long silences are
 * bounded by request-timeout only; huge, split and cut events; cancel ()
 * in the middle of a stream.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "emulator-fixture.h"
#include "emulator-process.h"
#include "gemini-attempt.h"
#include "gemini-json.h"
#include "scratch-dir.h"

#include <gst/check/gstcheck.h>

using namespace gemini;
using gemini::test::add_emulator_tcase;
using gemini::test::emu;
using Clock = std::chrono::steady_clock;

namespace {

constexpr char kPro[] = "gemini-3-pro-image";

struct Draft {
  DecodedImage image;
  guint index = 0;
  bool on_engine_thread = false;
  bool before_done = false;
};

struct Rig {
  std::shared_ptr<HttpEngine> engine = std::make_shared<HttpEngine> ();
  std::mutex lock;
  std::condition_variable cond;
  std::optional<Generated> done;
  Clock::time_point done_at;
  std::vector<Draft> drafts;
  std::vector<RetryNotice> retries;

  Rig ()
  {
    HttpEngine::Config config;
    config.direct = true;
    std::string error;
    fail_unless (engine->start (config, error), "%s", error.c_str ());
  }
  ~Rig () { engine->stop (); }

  static AttemptPolicy policy (bool previews = true)
  {
    AttemptPolicy p;
    p.retry_backoff = 0.02;
    p.retry_backoff_max = 0.1;
    p.request_timeout = 10;
    p.deadline = 60;
    p.previews = previews;
    return p;
  }

  std::shared_ptr<AttemptRunner> run (AttemptPolicy p = policy (), std::shared_ptr<ResponseCache> cache = nullptr)
  {
    RequestSpec spec;
    spec.index = 3;
    spec.model = kPro;
    spec.request.prompt = "a lighthouse in a storm";
    Target target;
    target.endpoint = emu->base_url ();
    target.server = emu->base_url ();
    target.api_key = "test-key";
    AttemptRunner::Events ev;
    auto engine_ptr = engine;
    ev.retry = [this] (const RetryNotice & n) {
      std::lock_guard<std::mutex> lk (lock);
      retries.push_back (n);
    };
    ev.preview = [this, engine_ptr] (DecodedImage image, guint index) {
      std::lock_guard<std::mutex> lk (lock);
      drafts.push_back (Draft {std::move (image), index, engine_ptr->on_engine_thread (), !done.has_value ()});
    };
    ev.done = [this] (Generated g) {
      std::lock_guard<std::mutex> lk (lock);
      done = std::move (g);
      done_at = Clock::now ();
      cond.notify_all ();
    };
    return AttemptRunner::start (engine, spec, target, p, std::move (ev), std::move (cache));
  }

  Generated & wait (double seconds = 30)
  {
    std::unique_lock<std::mutex> lk (lock);
    fail_unless (cond.wait_for (lk, std::chrono::duration<double> (seconds), [this] { return done.has_value (); }),
        "the runner did not finish in %.0f s", seconds);
    return *done;
  }
};

bool
same_pixels (const DecodedImage & a, const DecodedImage & b)
{
  return a.width == b.width && a.height == b.height && a.stride == b.stride && a.has_alpha == b.has_alpha &&
      a.size == b.size && a.pixels && b.pixels && memcmp (a.pixels.get (), b.pixels.get (), a.size) == 0;
}

/* The unary answer to the rig's request: the reference image. */
DecodedImage
unary_image ()
{
  Rig rig;
  rig.run (Rig::policy (false));
  Generated & g = rig.wait ();
  fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::Image);
  fail_unless (rig.drafts.empty ());
  return std::move (g.image);
}

/* The emulator's log of the last request: its path and what it asked. */
std::string
last_request (const char * member)
{
  JsonNode *reqs = emu->requests ();
  JsonArray *a = json_node_get_array (reqs);
  const guint n = json_array_get_length (a);
  fail_unless (n > 0);
  JsonObject *o = json_array_get_object_element (a, n - 1);
  JsonNode *m = json_object_get_member (o, member);
  std::string out = !m ? "" : json_node_get_value_type (m) == G_TYPE_BOOLEAN
      ? (json_node_get_boolean (m) ? "true" : "false") : json_node_get_string (m);
  json_node_unref (reqs);
  return out;
}

void
expect_image (Rig & rig, const DecodedImage & reference, guint attempts)
{
  Generated & g = rig.wait ();
  fail_unless (g.response.outcome == Outcome::Image, "outcome %s: %s", outcome_name (g.response.outcome),
      g.response.describe ().c_str ());
  fail_unless_equals_int (g.attempts, attempts);
  fail_unless (same_pixels (g.image, reference), "the streamed image differs from the unary one");
}

}  // namespace

/* The stream's final image is the unary one, pixel for pixel; the request
 * went to :streamGenerateContent with includeThoughts; the two drafts came
 * first, on the engine thread, numbered, and are the drafts (smaller, not
 * the final image). */
GST_START_TEST (test_same_image_and_previews)
{
  emu->reset ();
  const DecodedImage reference = unary_image ();
  fail_unless (last_request ("path").ends_with (":generateContent"));
  fail_unless (last_request ("include_thoughts") == "false");

  Rig rig;
  rig.run ();
  expect_image (rig, reference, 1);
  fail_unless (last_request ("path").ends_with (":streamGenerateContent"));
  fail_unless (last_request ("stream") == "true");
  fail_unless (last_request ("include_thoughts") == "true");
  fail_unless (last_request ("answer") == "sse:image");
  Generated & g = *rig.done;
  fail_unless_equals_string (g.response.finish_reason.c_str (), "STOP");
  fail_unless (g.response.usage.total_tokens > 0);
  fail_unless_equals_int (g.response.thought_image_parts, 2);
  fail_unless_equals_int (rig.drafts.size (), 2);
  for (guint i = 0; i < 2; i++) {
    const Draft & d = rig.drafts[i];
    fail_unless_equals_int (d.index, i);
    fail_unless (d.on_engine_thread);
    fail_unless (d.before_done);
    fail_if (same_pixels (d.image, reference));
  }
  fail_unless_equals_int (rig.drafts[0].image.width, reference.width / 2);
  fail_unless_equals_int (rig.drafts[1].image.width, reference.width / 4);
}
GST_END_TEST;

/* The same with LF and CR separators, and with every event written in
 * 1000-byte pieces (many reads, delimiters split across them). */
GST_START_TEST (test_separators_and_split_writes)
{
  emu->reset ();
  const DecodedImage reference = unary_image ();
  for (const char *step : {"{\"do\":\"stream\",\"separator\":\"lf\"}", "{\"do\":\"stream\",\"separator\":\"cr\"}",
           "{\"do\":\"stream\",\"write_bytes\":1000}", "{\"do\":\"stream\",\"write_bytes\":3,\"drafts\":0}"}) {
    emu->set_script (std::string ("[") + step + "]");
    Rig rig;
    rig.run ();
    expect_image (rig, reference, 1);
    fail_unless_equals_int (rig.drafts.size (), strstr (step, "drafts") ? 0 : 2);
  }
}
GST_END_TEST;

/* An error object as an event after the 200: a 503 is retried like an HTTP
 * 503 (and the next attempt streams the image); a 400 fails at once; a 429
 * counts as a rate limit. */
GST_START_TEST (test_error_event)
{
  emu->reset ();
  const DecodedImage reference = unary_image ();
  emu->set_script ("[{\"do\":\"error-in-200\",\"status\":503},{\"do\":\"image\"}]");
  {
    Rig rig;
    rig.run ();
    expect_image (rig, reference, 2);
    fail_unless_equals_int (rig.retries.size (), 1);
    fail_unless_equals_int ((int) rig.retries[0].outcome, (int) Outcome::ErrorInBody);
    fail_unless_equals_int (rig.retries[0].http_status, 503);
  }
  emu->set_script ("[{\"do\":\"error-in-200\",\"status\":400,\"message\":\"bad stream\"}]");
  {
    Rig rig;
    rig.run ();
    Generated & g = rig.wait ();
    fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::ErrorInBody);
    fail_unless_equals_int ((int) g.response.action, (int) Action::Fail);
    fail_unless_equals_int (g.response.http_status, 400);
    fail_unless_equals_string (g.response.error_message.c_str (), "bad stream");
    fail_unless_equals_int (g.attempts, 1);
    fail_unless (rig.retries.empty ());
  }
  emu->set_script ("[{\"do\":\"error-in-200\",\"status\":429,\"retry_delay\":\"0.1s\"},{\"do\":\"image\"}]");
  {
    Rig rig;
    rig.run ();
    expect_image (rig, reference, 2);
    fail_unless_equals_int (rig.retries.size (), 1);
    fail_unless_equals_int (rig.retries[0].http_status, 429);
  }
}
GST_END_TEST;

/* One event of over 8 MB (the final image with an 6 MB signature, base64):
 * read and decoded like any other. */
GST_START_TEST (test_huge_event)
{
  emu->reset ();
  const DecodedImage reference = unary_image ();
  emu->set_script ("[{\"do\":\"stream\",\"signature_bytes\":6291456,\"write_bytes\":65536}]");
  Rig rig;
  rig.run ();
  expect_image (rig, reference, 1);
  fail_unless_equals_int (rig.drafts.size (), 2);
}
GST_END_TEST;

/* 3 s without a byte (after the headers, then between events) under a
 * 10 s request-timeout: the image. */
GST_START_TEST (test_silence_within_timeout)
{
  emu->reset ();
  const DecodedImage reference = unary_image ();
  emu->set_script ("[{\"do\":\"stream\",\"first_event_ms\":3000}]");
  Rig rig;
  const auto t0 = Clock::now ();
  rig.run ();
  expect_image (rig, reference, 1);
  fail_unless (rig.done_at - t0 >= std::chrono::milliseconds (2900));
}
GST_END_TEST;

/* A silence longer than request-timeout: that attempt times out (and with
 * one attempt allowed, the image does). The pause before the headers
 * (delay_ms) and the pause in the middle of the stream alike. */
GST_START_TEST (test_silence_past_timeout)
{
  emu->reset ();
  for (const char *script : {"[{\"do\":\"stream\",\"gap_ms\":5000}]", "[{\"do\":\"stream\",\"delay_ms\":5000}]"}) {
    emu->set_script (script);
    AttemptPolicy p = Rig::policy ();
    p.request_timeout = 2;
    p.max_attempts = 1;
    Rig rig;
    const auto t0 = Clock::now ();
    rig.run (p);
    Generated & g = rig.wait ();
    const double took = std::chrono::duration<double> (rig.done_at - t0).count ();
    fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::Timeout);
    fail_unless (took > 1.9 && took < 4.0, "timed out after %.2f s", took);
  }
}
GST_END_TEST;

/* A stream cut in the middle of an event (the connection closes without
 * the last chunk) is a transport failure, retried. */
GST_START_TEST (test_cut_mid_event)
{
  emu->reset ();
  const DecodedImage reference = unary_image ();
  for (int cut : {0, 3}) {
    emu->set_script ("[{\"do\":\"stream\",\"cut_at\":" + std::to_string (cut) + "},{\"do\":\"image\"}]");
    Rig rig;
    rig.run ();
    expect_image (rig, reference, 2);
    fail_unless_equals_int (rig.retries.size (), 1);
    fail_unless_equals_int ((int) rig.retries[0].outcome, (int) Outcome::Transport);
  }
}
GST_END_TEST;

/* cancel () before the first event and in the middle of a stream (drafts
 * delivered, the final image not yet): done within 100 ms, Cancelled. */
GST_START_TEST (test_cancel_during_stream)
{
  emu->reset ();
  for (const char *script : {"[{\"do\":\"stream\",\"first_event_ms\":5000}]",
           "[{\"do\":\"stream\",\"gap_ms\":1000}]"}) {
    emu->set_script (script);
    Rig rig;
    auto runner = rig.run ();
    std::this_thread::sleep_for (std::chrono::milliseconds (strstr (script, "gap_ms") ? 2500 : 500));
    if (strstr (script, "gap_ms")) {
      std::lock_guard<std::mutex> lk (rig.lock);
      fail_unless (!rig.drafts.empty (), "no draft after 2.5 s");
    }
    const auto t0 = Clock::now ();
    runner->cancel ();
    Generated & g = rig.wait (1);
    const double took = std::chrono::duration<double> (rig.done_at - t0).count ();
    fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::Cancelled);
    fail_unless (took < 0.1, "done %.3f s after cancel ()", took);
  }
}
GST_END_TEST;

/* A streamed answer is cached like a unary one: asked again, the image
 * comes from the cache, without a request and without drafts. */
GST_START_TEST (test_cached)
{
  emu->reset ();
  gemini::test::ScratchDir dir;
  auto cache = std::make_shared<ResponseCache> ();
  std::string error;
  fail_unless (cache->open (dir.path (), 0, error), "%s", error.c_str ());
  DecodedImage streamed;
  {
    Rig rig;
    rig.run (Rig::policy (), cache);
    Generated & g = rig.wait ();
    fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::Image);
    fail_unless (!g.from_cache);
    streamed = std::move (g.image);
  }
  Rig rig;
  rig.run (Rig::policy (), cache);
  expect_image (rig, streamed, 0);
  fail_unless (rig.done->from_cache);
  fail_unless (rig.drafts.empty ());
  JsonNode *reqs = emu->requests ();
  fail_unless_equals_int (json_array_get_length (json_node_get_array (reqs)), 1);
  json_node_unref (reqs);
}
GST_END_TEST;

/* Hostile streams: an event that is not JSON is a malformed answer; an
 * event larger than max-response-size is refused as too large (the read
 * stops there), as the whole stream would be. */
GST_START_TEST (test_hostile_events)
{
  emu->reset ();
  AttemptPolicy p = Rig::policy ();
  p.max_attempts = 1;
  emu->set_script ("[{\"do\":\"malformed-json\"}]");
  {
    Rig rig;
    rig.run (p);
    Generated & g = rig.wait ();
    fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::MalformedResponse);
    fail_unless (g.response.error_message.find ("event 1") != std::string::npos, "%s",
        g.response.error_message.c_str ());
  }
  emu->set_script ("[{\"do\":\"stream\",\"signature_bytes\":3000000}]");
  p.max_response_size = 2 * 1024 * 1024;
  {
    Rig rig;
    rig.run (p);
    Generated & g = rig.wait ();
    fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::TooLarge);
    /* Drafts of an attempt that failed may or may not have gone out
     * (their parsing is dropped with the attempt): never more than sent. */
    fail_unless (rig.drafts.size () <= 2);
  }
}
GST_END_TEST;

static Suite *
attempt_stream_suite (void)
{
  Suite *s = suite_create ("attempt-stream");
  TCase *tc = add_emulator_tcase (s, "stream", 120);
  tcase_add_test (tc, test_same_image_and_previews);
  tcase_add_test (tc, test_separators_and_split_writes);
  tcase_add_test (tc, test_error_event);
  tcase_add_test (tc, test_huge_event);
  tcase_add_test (tc, test_silence_within_timeout);
  tcase_add_test (tc, test_silence_past_timeout);
  tcase_add_test (tc, test_cut_mid_event);
  tcase_add_test (tc, test_cancel_during_stream);
  tcase_add_test (tc, test_cached);
  tcase_add_test (tc, test_hostile_events);
  return s;
}

GST_CHECK_MAIN (attempt_stream);
