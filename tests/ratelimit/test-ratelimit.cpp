/* Unit tests of plugin/gemini-ratelimit.cpp: time is passed in, so all but
 * the threaded test run on made-up clocks.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "gemini-ratelimit.h"

#include <gst/check/gstcheck.h>

using namespace gemini;
using Clock = RateLimiter::Clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

static const Clock::time_point t0 = Clock::now ();

#define assert_near(a, b, tol) \
  fail_unless (std::fabs ((a) - (b)) <= (tol), "%s = %g, expected %g", #a, double (a), double (b))

/* Asks every `step` from `from` for `span`, releasing at once: the grants. */
static int
grants_over (RateLimiter & rl, Clock::time_point from, Clock::duration span, Clock::duration step)
{
  int n = 0;
  double retry_in;
  for (auto t = from; t < from + span; t += step)
    if (rl.try_acquire (t, retry_in)) {
      n++;
      rl.release ();
    }
  return n;
}

GST_START_TEST (test_rate)
{
  RateLimiter rl;
  rl.attach ({60, 0});
  /* The bucket holds one token: 60 per minute, never a minute's worth at once. */
  fail_unless_equals_int (grants_over (rl, t0, seconds (60), milliseconds (10)), 60);

  RateLimiter fresh;
  fresh.attach ({60, 0});
  double retry_in = -1;
  fail_unless (fresh.try_acquire (t0, retry_in));
  fresh.release ();
  fail_if (fresh.try_acquire (t0 + milliseconds (250), retry_in));
  assert_near (retry_in, 0.75, 1e-6);
  fail_unless (fresh.try_acquire (t0 + seconds (1), retry_in));
  fresh.release ();

  /* Nothing configured: no limit at all. */
  RateLimiter open;
  fail_unless_equals_int (grants_over (open, t0, seconds (1), milliseconds (10)), 100);
  fail_unless_equals_int (open.snapshot (t0).effective_rpm, 0);
}
GST_END_TEST;

GST_START_TEST (test_concurrency_and_wakers)
{
  auto rl = std::make_shared<RateLimiter> ();
  rl->attach ({0, 2});
  int woken_a = 0, woken_b = 0, woken_anon = 0;
  guint a = 0, b = 0;
  /* The wakers call back into the limiter: they run without its lock. */
  a = rl->subscribe ([&] {
    woken_a++;
    fail_unless_equals_int (rl->snapshot (t0).cap, 2);
    double r;
    if (rl->try_acquire (t0, r, a))
      rl->release ();
  });
  b = rl->subscribe ([&] { woken_b++; });

  double retry_in = -1;
  fail_unless (rl->try_acquire (t0, retry_in, a));
  fail_unless (rl->try_acquire (t0, retry_in, b));
  fail_if (rl->try_acquire (t0, retry_in, b));
  fail_unless_equals_int (retry_in, 0);
  fail_if (rl->try_acquire (t0, retry_in, a));
  fail_unless_equals_int (rl->snapshot (t0).in_flight, 2);

  /* b queued first: one release wakes b, and b alone. */
  rl->release ();
  fail_unless_equals_int (woken_b, 1);
  fail_unless_equals_int (woken_a, 0);
  /* b does not use its wake and leaves: it passes on to a, whose waker
   * acquires and releases from inside the callback. */
  rl->unsubscribe (b);
  fail_unless_equals_int (woken_a, 1);
  fail_unless_equals_int (rl->snapshot (t0).in_flight, 1);
  /* Nobody queued: a release wakes no identified subscriber... */
  rl->release ();
  fail_unless_equals_int (woken_a, 1);
  /* ...but every anonymous one, which cannot say whether it waits. */
  rl->subscribe ([&] { woken_anon++; });
  fail_unless (rl->try_acquire (t0, retry_in));
  rl->release ();
  fail_unless_equals_int (woken_anon, 1);
  rl->unsubscribe (a);
}
GST_END_TEST;

GST_START_TEST (test_strictest_settings)
{
  RateLimiter rl;
  guint loose = rl.attach ({120, 4});
  guint strict = rl.attach ({30, 1});
  rl.attach ({0, 0});   /* no opinion */
  auto s = rl.snapshot (t0);
  assert_near (s.effective_rpm, 30, 1e-9);
  fail_unless_equals_int (s.cap, 1);
  fail_unless_equals_int (grants_over (rl, t0, seconds (60), milliseconds (100)), 30);

  rl.detach (strict);
  s = rl.snapshot (t0);
  assert_near (s.effective_rpm, 120, 1e-9);
  fail_unless_equals_int (s.cap, 4);
  rl.detach (loose);
  fail_unless_equals_int (rl.snapshot (t0).cap, 0);
}
GST_END_TEST;

GST_START_TEST (test_rate_limited)
{
  RateLimiter rl;
  rl.attach ({60, 0});
  rl.attach ({120, 0});   /* a second element, stricter one wins: 60 */
  double retry_in;
  fail_unless (rl.try_acquire (t0, retry_in));
  rl.release ();
  /* One user's 429 with a 10 s retry delay. */
  rl.on_rate_limited (t0 + seconds (1), 10.0);
  auto s = rl.snapshot (t0 + seconds (1));
  assert_near (s.effective_rpm, 30, 1e-9);
  fail_unless_equals_int (s.rate_limited_events, 1);
  /* The 429s of requests already on their way do not compound it. */
  rl.on_rate_limited (t0 + seconds (2), std::nullopt);
  assert_near (rl.snapshot (t0 + seconds (2)).effective_rpm, 30.1, 1e-9);
  fail_unless_equals_int (rl.snapshot (t0).rate_limited_events, 2);
  /* No token for anyone before the hold ends. */
  fail_if (rl.try_acquire (t0 + seconds (2), retry_in));
  assert_near (retry_in, 9, 1e-6);
  fail_if (rl.try_acquire (t0 + seconds (10), retry_in));
  fail_unless (rl.try_acquire (t0 + seconds (11), retry_in));
  rl.release ();
  /* +6 rpm a minute: 42 two minutes on, at most ~36-42 granted in the third minute. */
  assert_near (rl.snapshot (t0 + seconds (121)).effective_rpm, 42, 1e-6);
  int n = grants_over (rl, t0 + seconds (120), seconds (60), milliseconds (50));
  fail_unless (n >= 40 && n <= 48, "granted %d", n);
  /* Five quiet minutes: back to the configured rate, and it stays. */
  assert_near (rl.snapshot (t0 + seconds (301)).effective_rpm, 60, 1e-9);
  fail_unless_equals_int (grants_over (rl, t0 + seconds (400), seconds (60), milliseconds (10)), 60);
  assert_near (rl.snapshot (t0 + seconds (3600)).effective_rpm, 60, 1e-9);

  /* Nothing configured: no rate is invented; the server's delay holds
   * everyone, then requests flow freely again. */
  RateLimiter open;
  fail_unless_equals_int (grants_over (open, t0, seconds (60), seconds (3)), 20);
  open.on_rate_limited (t0 + seconds (59), 7.0);
  fail_unless_equals_int (open.snapshot (t0 + seconds (59)).effective_rpm, 0);
  fail_if (open.try_acquire (t0 + seconds (60), retry_in));
  assert_near (retry_in, 6, 1e-6);
  fail_unless (open.try_acquire (t0 + milliseconds (66500), retry_in));
  fail_unless (open.try_acquire (t0 + milliseconds (66500), retry_in));
  /* An absurd retry delay is bounded by an hour. */
  open.on_rate_limited (t0 + seconds (1000), 1e12);
  fail_if (open.try_acquire (t0 + seconds (1000), retry_in));
  fail_unless (retry_in <= 3600, "retry_in %g", retry_in);
  /* Configured: repeated decreases stop at 1 rpm. */
  RateLimiter slow;
  slow.attach (RateLimitSettings {60, 0});
  for (int i = 0; i < 20; i++)
    slow.on_rate_limited (t0 + seconds (1000 + 10 * i), std::nullopt);
  /* Each 10 s apart, with 10 s of recovery (+1 rpm) after the last. */
  assert_near (slow.snapshot (t0 + seconds (1200)).effective_rpm, 2, 0.2);
}
GST_END_TEST;

GST_START_TEST (test_scope)
{
  auto scope = RateLimitScope::process_default ();
  fail_unless (scope == RateLimitScope::process_default ());
  const std::string ep = "https://generativelanguage.googleapis.com/v1beta";
  auto a = scope->limiter_for (ep, "secret-key-1", "m1");
  fail_unless (a == scope->limiter_for ("https://generativelanguage.googleapis.com/v1", "secret-key-1", "m1"));
  fail_if (a == scope->limiter_for (ep, "secret-key-2", "m1"));
  fail_if (a == scope->limiter_for (ep, "secret-key-1", "m2"));
  fail_if (a == scope->limiter_for ("https://gateway.example", "secret-key-1", "m1"));

  auto mine = std::make_shared<RateLimitScope> ();
  auto b = mine->limiter_for (ep, "secret-key-1", "m1");
  fail_if (a == b);
  /* Neither the key nor a password in the endpoint is kept. */
  mine->limiter_for ("https://user:hunter2@gw.example/x", "secret-key-1", "m1");
  std::string all = scope->describe () + mine->describe ();
  fail_if (all.find ("secret") != std::string::npos, "%s", all.c_str ());
  fail_if (all.find ("hunter2") != std::string::npos, "%s", all.c_str ());
  fail_unless (mine->describe ().find ("https://generativelanguage.googleapis.com m1 ") == 0,
      "%s", mine->describe ().c_str ());

  /* Freed with its last holder; the next user gets a new one. */
  std::weak_ptr<RateLimiter> weak = b;
  b.reset ();
  fail_unless (weak.expired ());
  fail_unless (mine->describe ().empty ());
  fail_unless (mine->limiter_for (ep, "secret-key-1", "m1"));
}
GST_END_TEST;

GST_START_TEST (test_context)
{
  auto scope = std::make_shared<RateLimitScope> ();
  GstContext *context = rate_limit_scope_context_new (scope);
  fail_unless_equals_string (gst_context_get_context_type (context), GEMINI_RATE_LIMIT_CONTEXT_TYPE);
  fail_unless (gst_context_is_persistent (context));
  fail_unless (rate_limit_scope_from_context (context) == scope);
  fail_unless_equals_int (scope.use_count (), 2);

  /* Copies share the scope and let go of it. */
  GstContext *copy = gst_context_copy (context);
  fail_unless_equals_int (scope.use_count (), 3);
  fail_unless (rate_limit_scope_from_context (copy) == scope);
  gst_context_unref (copy);
  gst_context_unref (context);
  fail_unless_equals_int (scope.use_count (), 1);

  GstContext *foreign = gst_context_new ("gst.soup.session", TRUE);
  fail_unless (rate_limit_scope_from_context (foreign) == nullptr);
  gst_context_unref (foreign);
  GstContext *empty = gst_context_new (GEMINI_RATE_LIMIT_CONTEXT_TYPE, TRUE);
  fail_unless (rate_limit_scope_from_context (empty) == nullptr);
  gst_context_unref (empty);
  fail_unless (rate_limit_scope_from_context (nullptr) == nullptr);
}
GST_END_TEST;

GST_START_TEST (test_threads)
{
  RateLimiter rl;
  rl.attach ({600, 3});
  std::atomic<int> in_flight {0}, peak {0}, granted {0}, wakes {0};
  rl.subscribe ([&] { wakes++; });
  auto start = Clock::now ();
  auto end = start + milliseconds (1000);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; i++)
    threads.emplace_back ([&] {
      double retry_in;
      while (Clock::now () < end) {
        if (!rl.try_acquire (Clock::now (), retry_in)) {
          std::this_thread::sleep_for (std::chrono::duration<double> (std::min (retry_in, 0.01) + 0.0001));
          continue;
        }
        int now_in = ++in_flight;
        int p = peak.load ();
        while (now_in > p && !peak.compare_exchange_weak (p, now_in)) {}
        granted++;
        std::this_thread::sleep_for (milliseconds (350));   /* ~3.5 wanted at once at 10/s */
        in_flight--;
        rl.release ();
      }
    });
  for (auto & t : threads)
    t.join ();
  double elapsed = std::chrono::duration<double> (Clock::now () - start).count ();
  fail_unless (peak >= 2 && peak <= 3, "peak %d", peak.load ());
  fail_unless (granted <= 10 * elapsed + 1, "granted %d in %g s", granted.load (), elapsed);
  fail_unless (granted >= 5, "granted %d", granted.load ());
  fail_unless_equals_int (wakes, granted);
  fail_unless_equals_int (rl.snapshot (Clock::now ()).in_flight, 0);
  GST_INFO ("granted %d in %.3f s, peak %d", granted.load (), elapsed, peak.load ());
}
GST_END_TEST;

static Suite *
ratelimit_suite (void)
{
  Suite *s = suite_create ("ratelimit");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_rate);
  tcase_add_test (tc, test_concurrency_and_wakers);
  tcase_add_test (tc, test_strictest_settings);
  tcase_add_test (tc, test_rate_limited);
  tcase_add_test (tc, test_scope);
  tcase_add_test (tc, test_context);
  tcase_add_test (tc, test_threads);
  return s;
}

GST_CHECK_MAIN (ratelimit);
