/* Unit tests of plugin/gemini-attempt.cpp: an AttemptRunner against the
 * emulator, with no element: an image, retries with their notices and
 * waits on the engine's timers, budgets, the deadline, a 404 with the model
 * list, and cancel () at every stage.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <chrono>
#include <condition_variable>
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

/* What a runner reported. */
struct Outcome_ {
  std::mutex lock;
  std::condition_variable cond;
  std::optional<Generated> done;
  int done_calls = 0;
  std::vector<RetryNotice> retries;
  std::vector<std::string> warnings;
  bool done_on_engine_thread = false;
};

struct Rig {
  std::shared_ptr<HttpEngine> engine = std::make_shared<HttpEngine> ();
  Outcome_ out;
  Rig ()
  {
    HttpEngine::Config config;
    config.direct = true;
    std::string error;
    fail_unless (engine->start (config, error), "%s", error.c_str ());
  }
  ~Rig () { engine->stop (); }

  /* Admission delayed by this long (a rate limiter), when set. */
  double admit_after = 0;

  std::shared_ptr<AttemptRunner> run (const std::string & model, AttemptPolicy policy = fast_policy (),
      const std::string & alias = "", std::vector<Turn> history = {},
      std::shared_ptr<ResponseCache> cache = nullptr)
  {
    RequestSpec spec;
    spec.index = 7;
    spec.model = model;
    spec.alias = alias;
    spec.request.prompt = "a runner test";
    spec.request.history = std::move (history);
    Target target;
    target.endpoint = emu->base_url ();
    target.server = emu->base_url ();
    target.api_key = "test-key";
    AttemptRunner::Events ev;
    ev.retry = [this] (const RetryNotice & n) {
      std::lock_guard<std::mutex> lk (out.lock);
      out.retries.push_back (n);
    };
    ev.warning = [this] (const char *, const std::string & text) {
      std::lock_guard<std::mutex> lk (out.lock);
      out.warnings.push_back (text);
    };
    auto engine_ptr = engine;
    if (admit_after > 0) {
      const double after = admit_after;
      ev.acquire = [engine_ptr, after] (const std::string &, std::function<void ()> go) {
        engine_ptr->add_timer (after, go);
      };
    }
    ev.done = [this, engine_ptr] (Generated g) {
      std::lock_guard<std::mutex> lk (out.lock);
      out.done_calls++;
      out.done_on_engine_thread = engine_ptr->on_engine_thread ();
      out.done = std::move (g);
      out.cond.notify_all ();
    };
    return AttemptRunner::start (engine, spec, target, policy, std::move (ev), std::move (cache));
  }

  Generated & wait (double seconds = 20)
  {
    std::unique_lock<std::mutex> lk (out.lock);
    fail_unless (out.cond.wait_for (lk, std::chrono::duration<double> (seconds), [this] { return out.done.has_value (); }),
        "the runner did not finish in %.0f s", seconds);
    return *out.done;
  }

  static AttemptPolicy fast_policy ()
  {
    AttemptPolicy p;
    p.retry_backoff = 0.02;
    p.retry_backoff_max = 0.1;
    p.request_timeout = 10;
    p.deadline = 30;
    return p;
  }
};

}  // namespace

GST_START_TEST (test_image)
{
  emu->reset ();
  Rig rig;
  rig.run ("gemini-3-pro-image");
  Generated & g = rig.wait ();
  fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::Image);
  fail_unless_equals_int (g.attempts, 1);
  fail_unless_equals_int (g.image.width, 1024);
  fail_unless_equals_string (g.model.c_str (), "gemini-3-pro-image");
  fail_unless (rig.out.done_on_engine_thread);
  fail_unless (rig.out.retries.empty ());
}
GST_END_TEST;

/* Two 503s then an image: two notices, each wait a timer, and the waits
 * were really waited (the third request came after both backoffs). */
GST_START_TEST (test_retries_then_image)
{
  emu->reset ();
  emu->set_script ("[{\"do\":\"error\",\"status\":503},{\"do\":\"error\",\"status\":503},{\"do\":\"image\"}]");
  Rig rig;
  auto t0 = Clock::now ();
  rig.run ("gemini-3-pro-image");
  Generated & g = rig.wait ();
  const double took = std::chrono::duration<double> (Clock::now () - t0).count ();
  fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::Image);
  fail_unless_equals_int (g.attempts, 3);
  fail_unless_equals_int (rig.out.retries.size (), 2);
  double waited = 0;
  for (const RetryNotice & n : rig.out.retries) {
    fail_unless_equals_int (n.http_status, 503);
    fail_unless (n.delay >= 0.02 && n.delay < 0.2, "delay %.3f", n.delay);
    fail_unless (!n.reason.empty ());
    waited += n.delay;
  }
  fail_unless (took >= waited, "took %.3f s, waits %.3f s", took, waited);
  emu->set_script ("[]");
}
GST_END_TEST;

/* Budgets: max-attempts transient failures, then a sentence why. */
GST_START_TEST (test_budget_spent)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"error\",\"status\":500}],\"then\":\"repeat\"}");
  Rig rig;
  AttemptPolicy p = Rig::fast_policy ();
  p.max_attempts = 3;
  rig.run ("gemini-3-pro-image", p);
  Generated & g = rig.wait ();
  fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::ServerError);
  fail_unless_equals_int (g.attempts, 3);
  fail_unless (g.gave_up.find ("Gave up after 3 attempts") == 0, "%s", g.gave_up.c_str ());
  emu->set_script ("[]");
}
GST_END_TEST;

/* The per-attempt timeout is a timer too: a hung server costs
 * request-timeout per attempt, and the deadline bounds the whole. */
GST_START_TEST (test_timeout_and_deadline)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"hang\"}],\"then\":\"repeat\"}");
  Rig rig;
  AttemptPolicy p = Rig::fast_policy ();
  p.request_timeout = 1;
  p.deadline = 2;
  auto t0 = Clock::now ();
  rig.run ("gemini-3-pro-image", p);
  Generated & g = rig.wait ();
  const double took = std::chrono::duration<double> (Clock::now () - t0).count ();
  fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::Timeout);
  fail_unless (took > 1.9 && took < 3.0, "took %.2f s", took);
  emu->set_script ("[]");
}
GST_END_TEST;

/* cancel () during the request, during a backoff: done at once, with a
 * Cancelled response, exactly once; nothing is sent after it. */
GST_START_TEST (test_cancel)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"hang\"}],\"then\":\"repeat\"}");
  {
    Rig rig;
    auto r = rig.run ("gemini-3-pro-image");
    g_usleep (200 * 1000);
    auto t0 = Clock::now ();
    r->cancel ();
    Generated & g = rig.wait (1);
    const double ms = std::chrono::duration<double, std::milli> (Clock::now () - t0).count ();
    fail_unless (g.response.action == Action::Stop);
    fail_unless (ms < 50, "cancel took %.1f ms", ms);
    r->cancel ();
    g_usleep (50 * 1000);
    fail_unless_equals_int (rig.out.done_calls, 1);
  }
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"error\",\"status\":503}],\"then\":\"repeat\"}");
  {
    Rig rig;
    AttemptPolicy p = Rig::fast_policy ();
    p.retry_backoff = 5;
    p.retry_backoff_max = 5;
    auto r = rig.run ("gemini-3-pro-image", p);
    /* In its 5 s backoff after the first 503. */
    for (int i = 0; i < 200 && [&] { std::lock_guard<std::mutex> lk (rig.out.lock); return rig.out.retries.empty (); } (); i++)
      g_usleep (10 * 1000);
    fail_unless_equals_int (rig.out.retries.size (), 1);
    r->cancel ();
    Generated & g = rig.wait (1);
    fail_unless (g.response.action == Action::Stop);
    fail_unless_equals_int (rig.out.done_calls, 1);
  }
  emu->set_script ("[]");
}
GST_END_TEST;

/* A 404 for the model: the list of image models from every page. */
GST_START_TEST (test_not_found_lists_models)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[],\"list_page_size\":5}");
  Rig rig;
  rig.run ("gemini-9-imaginary");
  Generated & g = rig.wait ();
  fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::NotFound);
  fail_unless (g.models_hint.find ("Image models this key can use: gemini-nano-banana-2.1") == 0,
      "%s", g.models_hint.c_str ());
  fail_unless_equals_int (g.attempts, 1);
  emu->set_script ("[]");
}
GST_END_TEST;

/* A stopped engine: the runner ends as cancelled, it does not hang. */
GST_START_TEST (test_engine_stopped)
{
  emu->reset ();
  Rig rig;
  rig.engine->stop ();
  rig.run ("gemini-3-pro-image");
  Generated & g = rig.wait (2);
  fail_unless (g.response.action == Action::Stop);
}
GST_END_TEST;

/* The deadline passes while the request waits for admission: nothing is
 * sent, the image times out. */
GST_START_TEST (test_deadline_while_waiting_for_admission)
{
  emu->reset ();
  Rig rig;
  rig.admit_after = 1.5;
  AttemptPolicy p = Rig::fast_policy ();
  p.deadline = 1;
  rig.run ("gemini-3-pro-image", p);
  Generated & g = rig.wait (5);
  fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::Timeout);
  fail_unless (g.gave_up.find ("deadline") != std::string::npos, "%s", g.gave_up.c_str ());
  JsonNode *reqs = emu->requests ();
  fail_unless_equals_int (json_array_get_length (json_node_get_array (reqs)), 0);
  json_node_unref (reqs);
}
GST_END_TEST;

/* Parses JSON text the test expects to be valid. */
static JsonNodePtr
must_parse (const std::string & text)
{
  std::string message;
  JsonNodePtr node = parse_json (text.data (), text.size (), message);
  fail_unless (node != nullptr, "%s", message.c_str ());
  return node;
}

static std::string
node_text (JsonNode * node)
{
  GObjectPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), node);
  GCharPtr s (json_generator_to_data (gen.get (), nullptr));
  return s.get ();
}

/* The body of the emulator's last generateContent request. */
static JsonNodePtr
last_request_body ()
{
  JsonNode *reqs = emu->requests ();
  JsonArray *a = json_node_get_array (reqs);
  fail_unless (json_array_get_length (a) > 0);
  JsonObject *last = json_array_get_object_element (a, json_array_get_length (a) - 1);
  JsonNodePtr body (json_node_copy (json_object_get_member (last, "body")));
  json_node_unref (reqs);
  return body;
}

/* keep_model_content: the answer's candidates[0].content, signed, whose
 * image part is the image delivered; sent back as a history turn it reaches
 * the emulator unchanged and the emulator (which checks a thinking model's
 * signatures) draws. Without the signature: the API's 400. */
GST_START_TEST (test_model_content)
{
  emu->reset ();
  Rig rig;
  AttemptPolicy keep = Rig::fast_policy ();
  keep.keep_model_content = true;
  rig.run ("gemini-3-pro-image", keep);
  Generated & g = rig.wait ();
  fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::Image);
  fail_unless (g.response.model_content.empty (), "moved into Generated");
  JsonNodePtr content = must_parse (g.model_content);
  JsonObject *c = json_node_get_object (content.get ());
  fail_unless_equals_string (json_object_get_string_member (c, "role"), "model");
  JsonArray *parts = json_object_get_array_member (c, "parts");
  JsonObject *image_part = json_array_get_object_element (parts, json_array_get_length (parts) - 1);
  const char *signature = json_object_get_string_member (image_part, "thoughtSignature");
  fail_unless (signature && strlen (signature) >= 4096, "a 3 KB signature");
  const char *b64 = json_object_get_string_member (json_object_get_object_member (image_part, "inlineData"), "data");
  GBytesPtr image (decode_base64_strict (b64, strlen (b64)));
  fail_unless (g_bytes_equal (image.get (), g.response.image.get ()));

  /* The next turn: the content on the wire as received. */
  Rig next;
  next.run ("gemini-3-pro-image", keep, "", {Turn {"a runner test", {}, g.model_content}});
  Generated & g2 = next.wait ();
  fail_unless_equals_int ((int) g2.response.outcome, (int) Outcome::Image);
  fail_unless (!g2.model_content.empty () && g2.model_content != g.model_content);
  JsonNodePtr sent = last_request_body ();
  JsonArray *contents = json_object_get_array_member (json_node_get_object (sent.get ()), "contents");
  fail_unless_equals_int (json_array_get_length (contents), 3);
  fail_unless (json_node_equal (json_array_get_element (contents, 1), content.get ()));

  /* Without the signature the API refuses the turn. */
  json_object_remove_member (image_part, "thoughtSignature");
  Rig unsigned_turn;
  unsigned_turn.run ("gemini-3-pro-image", keep, "", {Turn {"a runner test", {}, node_text (content.get ())}});
  Generated & g3 = unsigned_turn.wait ();
  fail_unless_equals_int ((int) g3.response.outcome, (int) Outcome::BadRequest);
  fail_unless (g3.response.error_message.find ("thought_signature") != std::string::npos, "%s",
      g3.response.error_message.c_str ());
  fail_unless (g3.model_content.empty ());
}
GST_END_TEST;

/* Off (the default): no content, whatever the answer. */
GST_START_TEST (test_model_content_off)
{
  emu->reset ();
  Rig rig;
  rig.run ("gemini-3-pro-image");
  Generated & g = rig.wait ();
  fail_unless_equals_int ((int) g.response.outcome, (int) Outcome::Image);
  fail_unless (g.model_content.empty ());
  fail_unless (g.response.model_content.empty ());
}
GST_END_TEST;

/* The cache with keep_model_content: an entry stored without the content is
 * a miss (asked again, replaced); then a hit hands back the content the
 * network gave, and a hit without keep_model_content none. */
GST_START_TEST (test_model_content_cached)
{
  emu->reset ();
  gemini::test::ScratchDir dir;
  auto cache = std::make_shared<ResponseCache> ();
  std::string error;
  fail_unless (cache->open (dir.path (), 0, error), "%s", error.c_str ());
  AttemptPolicy keep = Rig::fast_policy ();
  keep.keep_model_content = true;
  auto requests = [] {
    JsonNode *reqs = emu->requests ();
    guint n = json_array_get_length (json_node_get_array (reqs));
    json_node_unref (reqs);
    return n;
  };

  Rig plain;
  plain.run ("gemini-3-pro-image", Rig::fast_policy (), "", {}, cache);
  fail_unless (!plain.wait ().from_cache);
  Rig first;
  first.run ("gemini-3-pro-image", keep, "", {}, cache);
  Generated & g1 = first.wait ();
  fail_unless (!g1.from_cache, "an entry without content is a miss for keep_model_content");
  fail_unless (!g1.model_content.empty ());
  fail_unless_equals_int (requests (), 2);

  Rig second;
  second.run ("gemini-3-pro-image", keep, "", {}, cache);
  Generated & g2 = second.wait ();
  fail_unless (g2.from_cache);
  fail_unless (g2.model_content == g1.model_content);
  Rig third;
  third.run ("gemini-3-pro-image", Rig::fast_policy (), "", {}, cache);
  Generated & g3 = third.wait ();
  fail_unless (g3.from_cache);
  fail_unless (g3.model_content.empty ());
  fail_unless_equals_int (requests (), 2);
}
GST_END_TEST;

static Suite *
attempt_suite (void)
{
  Suite *s = suite_create ("attempt");
  TCase *tc = add_emulator_tcase (s, "runner", 60);
  tcase_add_test (tc, test_image);
  tcase_add_test (tc, test_retries_then_image);
  tcase_add_test (tc, test_budget_spent);
  tcase_add_test (tc, test_timeout_and_deadline);
  tcase_add_test (tc, test_cancel);
  tcase_add_test (tc, test_not_found_lists_models);
  tcase_add_test (tc, test_engine_stopped);
  tcase_add_test (tc, test_deadline_while_waiting_for_admission);
  tcase_add_test (tc, test_model_content);
  tcase_add_test (tc, test_model_content_off);
  tcase_add_test (tc, test_model_content_cached);
  return s;
}

GST_CHECK_MAIN (attempt);
