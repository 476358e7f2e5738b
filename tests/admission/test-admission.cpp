/* Unit tests of plugin/gemini-admission.cpp on a running HTTP engine:
 * requests are admitted in order, on the engine thread; a rate spaces
 * them with timers (no thread sleeps); a slot freed by another gate of the
 * same scope wakes this one; close () drops what waits.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

#include "gemini-admission.h"

#include <gst/check/gstcheck.h>

using namespace gemini;
using Clock = std::chrono::steady_clock;

namespace {

struct Engine {
  std::shared_ptr<HttpEngine> engine = std::make_shared<HttpEngine> ();
  Engine ()
  {
    std::string error;
    fail_unless (engine->start (HttpEngine::Config (), error), "%s", error.c_str ());
  }
  ~Engine () { engine->stop (); }
};

struct Log {
  std::mutex lock;
  std::vector<std::pair<int, double>> admitted;   /* id, seconds since start */
  bool all_on_engine_thread = true;
  Clock::time_point t0 = Clock::now ();
  size_t size ()
  {
    std::lock_guard<std::mutex> lk (lock);
    return admitted.size ();
  }
};

std::function<void ()>
record (Log & log, Engine & e, int id)
{
  return [&log, &e, id] {
    std::lock_guard<std::mutex> lk (log.lock);
    log.all_on_engine_thread = log.all_on_engine_thread && e.engine->on_engine_thread ();
    log.admitted.emplace_back (id, std::chrono::duration<double> (Clock::now () - log.t0).count ());
  };
}

void
acquire_on_engine (Engine & e, const std::shared_ptr<AdmissionGate> & gate, const std::string & model,
    std::function<void ()> go)
{
  e.engine->add_timer (0, [gate, model, go] { gate->acquire (model, go); });
}

bool
wait_for (Log & log, size_t n, double seconds)
{
  auto end = Clock::now () + std::chrono::duration<double> (seconds);
  while (log.size () < n && Clock::now () < end)
    g_usleep (5000);
  return log.size () >= n;
}

}  // namespace

/* 120 rpm: one every 0.5 s, in order, each on the engine thread. */
GST_START_TEST (test_rate_in_order)
{
  Engine e;
  auto scope = std::make_shared<RateLimitScope> ();
  auto gate = std::make_shared<AdmissionGate> (e.engine, scope, "http://127.0.0.1:1", "k",
      RateLimitSettings {120, 0});
  Log log;
  for (int i = 0; i < 4; i++)
    acquire_on_engine (e, gate, "m", record (log, e, i));
  fail_unless (wait_for (log, 4, 5));
  for (int i = 0; i < 4; i++)
    fail_unless_equals_int (log.admitted[i].first, i);
  for (int i = 1; i < 4; i++) {
    const double gap = log.admitted[i].second - log.admitted[i - 1].second;
    fail_unless (gap > 0.45 && gap < 0.7, "gap %.3f s", gap);
  }
  fail_unless (log.all_on_engine_thread);
}
GST_END_TEST;

/* A cap of 1 shared by two gates (two elements) in one scope: the second
 * waits until the first releases, and is woken by it. Another scope does
 * not share. */
GST_START_TEST (test_shared_cap)
{
  Engine e1, e2;
  auto scope = std::make_shared<RateLimitScope> ();
  auto a = std::make_shared<AdmissionGate> (e1.engine, scope, "http://127.0.0.1:1", "k", RateLimitSettings {0, 1});
  auto b = std::make_shared<AdmissionGate> (e2.engine, scope, "http://127.0.0.1:1", "k", RateLimitSettings {0, 1});
  Log log;
  acquire_on_engine (e1, a, "m", record (log, e1, 1));
  fail_unless (wait_for (log, 1, 2));
  acquire_on_engine (e2, b, "m", record (log, e2, 2));
  g_usleep (200 * 1000);
  fail_unless_equals_int (log.size (), 1);
  a->release ("m");
  fail_unless (wait_for (log, 2, 2));
  b->release ("m");

  auto other = std::make_shared<AdmissionGate> (e2.engine, std::make_shared<RateLimitScope> (), "http://127.0.0.1:1",
      "k", RateLimitSettings {0, 1});
  acquire_on_engine (e1, a, "m", record (log, e1, 3));
  acquire_on_engine (e2, other, "m", record (log, e2, 4));
  fail_unless (wait_for (log, 4, 2));
}
GST_END_TEST;

/* A 429 seen by one gate holds the other for the server's delay. */
GST_START_TEST (test_rate_limited_holds_sharers)
{
  Engine e;
  auto scope = std::make_shared<RateLimitScope> ();
  auto a = std::make_shared<AdmissionGate> (e.engine, scope, "http://127.0.0.1:1", "k", RateLimitSettings {});
  auto b = std::make_shared<AdmissionGate> (e.engine, scope, "http://127.0.0.1:1", "k", RateLimitSettings {});
  Log log;
  a->rate_limited ("m", 0.6);
  acquire_on_engine (e, b, "m", record (log, e, 1));
  fail_unless (wait_for (log, 1, 3));
  fail_unless (log.admitted[0].second > 0.5, "admitted after %.3f s", log.admitted[0].second);
  /* Another model is another quota. */
  a->rate_limited ("m", 10);
  acquire_on_engine (e, b, "other-model", record (log, e, 2));
  fail_unless (wait_for (log, 2, 1));
}
GST_END_TEST;

/* close (): what waits is dropped, nothing runs later. */
GST_START_TEST (test_close)
{
  Engine e;
  auto gate = std::make_shared<AdmissionGate> (e.engine, std::make_shared<RateLimitScope> (), "http://127.0.0.1:1",
      "k", RateLimitSettings {6, 0});
  Log log;
  acquire_on_engine (e, gate, "m", record (log, e, 1));
  acquire_on_engine (e, gate, "m", record (log, e, 2));
  fail_unless (wait_for (log, 1, 2));
  gate->close ();
  g_usleep (300 * 1000);
  fail_unless_equals_int (log.size (), 1);
}
GST_END_TEST;

static Suite *
admission_suite (void)
{
  Suite *s = suite_create ("admission");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_rate_in_order);
  tcase_add_test (tc, test_shared_cap);
  tcase_add_test (tc, test_rate_limited_holds_sharers);
  tcase_add_test (tc, test_close);
  return s;
}

GST_CHECK_MAIN (admission);
