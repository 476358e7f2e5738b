/* Unit tests of plugin/gemini-worker.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "gemini-worker.h"

#include <gst/check/gstcheck.h>

using namespace gemini;

GST_START_TEST (test_result)
{
  std::atomic<bool> cancel {false};
  auto r = run_abandonable ([] { return std::string ("done"); }, &cancel);
  fail_unless (r.has_value ());
  fail_unless_equals_string (r->c_str (), "done");
  /* No flag: on the calling thread. */
  auto caller = std::this_thread::get_id ();
  auto same = run_abandonable ([caller] { return std::this_thread::get_id () == caller; }, nullptr);
  fail_unless (same.has_value () && *same);
}
GST_END_TEST;

/* The caller stops waiting within milliseconds; the abandoned work still
 * runs to its end and frees what it owns. */
GST_START_TEST (test_abandon)
{
  std::atomic<bool> cancel {false};
  auto finished = std::make_shared<std::atomic<bool>> (false);
  std::thread canceller ([&cancel] {
    std::this_thread::sleep_for (std::chrono::milliseconds (20));
    cancel = true;
  });
  gint64 start = g_get_monotonic_time ();
  auto r = run_abandonable ([finished] {
    std::this_thread::sleep_for (std::chrono::milliseconds (400));
    *finished = true;
    return 1;
  }, &cancel);
  double ms = (g_get_monotonic_time () - start) / 1000.0;
  canceller.join ();
  fail_if (r.has_value ());
  fail_unless (ms < 60, "returned %.1f ms after start (cancel at 20 ms)", ms);
  fail_if (finished->load ());
  /* The work ends by itself and drops its reference. */
  for (int i = 0; i < 200 && finished.use_count () > 1; i++)
    std::this_thread::sleep_for (std::chrono::milliseconds (5));
  fail_unless (finished->load ());
  fail_unless_equals_int (finished.use_count (), 1);
}
GST_END_TEST;

GST_START_TEST (test_cancelled_before_start)
{
  std::atomic<bool> cancel {true};
  bool ran = false;
  auto r = run_abandonable ([&ran] { ran = true; return 0; }, &cancel);
  fail_if (r.has_value ());
  fail_if (ran);
}
GST_END_TEST;

/* Move-only results and captures, as the element's Response and GBytes. */
GST_START_TEST (test_move_only)
{
  std::atomic<bool> cancel {false};
  auto owned = std::make_unique<int> (7);
  auto r = run_abandonable ([p = std::move (owned)] { return std::make_unique<int> (*p * 6); }, &cancel);
  fail_unless (r.has_value () && **r == 42);
}
GST_END_TEST;

/* What the work throws reaches a caller that waited, never std::terminate. */
GST_START_TEST (test_exception)
{
  std::atomic<bool> cancel {false};
  bool caught = false;
  try {
    run_abandonable ([] () -> int { throw std::runtime_error ("boom"); }, &cancel);
  } catch (const std::runtime_error & e) {
    caught = g_str_equal (e.what (), "boom");
  }
  fail_unless (caught);
}
GST_END_TEST;

static Suite *
worker_suite (void)
{
  Suite *s = suite_create ("gemini-worker");
  TCase *tc = tcase_create ("worker");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_result);
  tcase_add_test (tc, test_abandon);
  tcase_add_test (tc, test_cancelled_before_start);
  tcase_add_test (tc, test_move_only);
  tcase_add_test (tc, test_exception);
  return s;
}

GST_CHECK_MAIN (worker);
