/* Unit tests of plugin/gemini-pending.cpp: the queue of generations between
 * the pipeline's inputs and the scheduler. stale-policy=queue waits while
 * `capacity` generations wait, and the wait ends on pop, on a flush, on the
 * release of its own input (not another's) and on EOS; a push that may not
 * wait never does; stale-policy=latest replaces what waits and hands it
 * back; end () and a flush; seq numbers and next_pts ().
 *
 * The waits are checked from a second thread with bounded waits: a push
 * that should still be waiting must not have returned after 150 ms, and one
 * that should have been woken must return within 2 s.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gemini-pending.h"

#include <gst/check/gstcheck.h>

using namespace gemini;
using namespace std::chrono_literals;
using Push = PendingQueue::Push;
using Pop = PendingQueue::Pop;
using Policy = PendingQueue::Policy;

namespace {

Generation
gen (const std::string & prompt, guint origin = Generation::kFromPromptPad, GstClockTime pts = GST_CLOCK_TIME_NONE)
{
  Generation g;
  g.prompt = prompt;
  g.origin = origin;
  g.pts = pts;
  return g;
}

/* A push on another thread, its result as a future. */
struct AsyncPush {
  std::promise<Push> promise;
  std::future<Push> result = promise.get_future ();
  std::thread thread;

  AsyncPush (PendingQueue & q, Generation g, Policy policy = Policy::Queue)
  {
    thread = std::thread ([this, &q, g = std::move (g), policy] () mutable {
      promise.set_value (q.push (std::move (g), policy));
    });
  }
  ~AsyncPush ()
  {
    if (thread.joinable ())
      thread.join ();
  }
  bool still_waiting () { return result.wait_for (150ms) == std::future_status::timeout; }
  /* Waits up to 2 s; fails the test if it is still waiting. */
  Push get ()
  {
    fail_unless (result.wait_for (2s) == std::future_status::ready, "the push is still waiting");
    thread.join ();
    return result.get ();
  }
};

std::string
prompt_of (const Generation & g)
{
  return g.prompt.value_or ("(none)");
}

}  // namespace

/* Queue: a push waits while `capacity` generations wait; a pop makes room
 * and the waiting push adds its generation, after the others. */
GST_START_TEST (test_queue_waits_for_pop)
{
  PendingQueue q (2);
  fail_unless (q.push (gen ("a"), Policy::Queue) == Push::Added);
  fail_unless (q.push (gen ("b"), Policy::Queue) == Push::Added);
  fail_unless_equals_int (q.size (), 2);
  AsyncPush third (q, gen ("c"));
  fail_unless (third.still_waiting (), "a push into a full queue returned");
  fail_unless_equals_int (q.size (), 2);
  Generation out;
  fail_unless (q.pop (out) == Pop::Item);
  fail_unless (prompt_of (out) == "a", "got \"%s\"", prompt_of (out).c_str ());
  fail_unless (third.get () == Push::Added);
  fail_unless_equals_int (q.size (), 2);
  fail_unless (q.pop (out) == Pop::Item);
  fail_unless (prompt_of (out) == "b", "got \"%s\"", prompt_of (out).c_str ());
  fail_unless (q.pop (out) == Pop::Item);
  fail_unless (prompt_of (out) == "c", "got \"%s\"", prompt_of (out).c_str ());
  fail_unless (q.pop (out) == Pop::Empty);
  fail_unless_equals_int (q.pushed (), 3);
}
GST_END_TEST;

/* A flush drops what waits, wakes the waiting push (Flushing), refuses
 * pushes until set_flushing (false), then takes them again; a push that
 * waited across a whole flush returns Flushing. */
GST_START_TEST (test_queue_flush_wakes)
{
  PendingQueue q (1);
  fail_unless (q.push (gen ("a"), Policy::Queue) == Push::Added);
  AsyncPush blocked (q, gen ("b"));
  fail_unless (blocked.still_waiting ());
  fail_unless_equals_int (q.set_flushing (true), 1);
  fail_unless (blocked.get () == Push::Flushing);
  fail_unless_equals_int (q.size (), 0);
  /* While flushing, nothing is added, whatever the policy. */
  fail_unless (q.push (gen ("c"), Policy::Queue) == Push::Flushing);
  fail_unless (q.push (gen ("d"), Policy::Latest) == Push::Flushing);
  fail_unless (q.push (gen ("e"), Policy::Queue, nullptr, false) == Push::Flushing);
  fail_unless_equals_int (q.size (), 0);
  fail_unless_equals_int (q.set_flushing (false), 0);
  fail_unless (q.push (gen ("f"), Policy::Queue) == Push::Added);
  /* A push waiting across a whole flush (start and stop before it wakes)
   * returns Flushing too: its generation belongs to before the flush. */
  AsyncPush across (q, gen ("g"));
  fail_unless (across.still_waiting ());
  fail_unless_equals_int (q.set_flushing (true), 1);
  q.set_flushing (false);
  fail_unless (across.get () == Push::Flushing);
  fail_unless_equals_int (q.size (), 0);
  fail_unless (q.push (gen ("h"), Policy::Queue) == Push::Added);
  Generation out;
  fail_unless (q.pop (out) == Pop::Item);
  fail_unless (prompt_of (out) == "h", "got \"%s\"", prompt_of (out).c_str ());
}
GST_END_TEST;

/* A released input: what it left waiting is dropped and its own waiting
 * push returns Flushing; another input's release does not wake it. */
GST_START_TEST (test_drop_origin)
{
  PendingQueue q (1);
  fail_unless (q.push (gen ("from 1", 1), Policy::Queue) == Push::Added);
  fail_unless (q.has_origin (1));
  fail_if (q.has_origin (2));
  AsyncPush from2 (q, gen ("from 2", 2));
  fail_unless (from2.still_waiting ());
  /* Another input's release: nothing of it waits, the push still waits. */
  fail_unless_equals_int (q.drop_origin (3), 0);
  fail_unless (from2.still_waiting (), "another origin's release woke the push");
  /* Its own release: it returns, nothing added. */
  fail_unless_equals_int (q.drop_origin (2), 0);
  fail_unless (from2.get () == Push::Flushing);
  fail_unless_equals_int (q.size (), 1);
  fail_unless (q.has_origin (1));
  fail_if (q.has_origin (2));
  /* A release is not permanent: the same origin pushes again later. */
  fail_unless (q.push (gen ("from 2 again", 2), Policy::Queue, nullptr, false) == Push::Added);
  fail_unless (q.has_origin (2));
  /* Origin 1 waits behind a full queue; releasing it drops the one it left
   * and ends its wait. */
  AsyncPush from1 (q, gen ("from 1 again", 1));
  fail_unless (from1.still_waiting ());
  fail_unless_equals_int (q.drop_origin (1), 1);
  fail_unless (from1.get () == Push::Flushing);
  fail_if (q.has_origin (1));
  fail_unless_equals_int (q.size (), 1);
  Generation out;
  fail_unless (q.pop (out) == Pop::Item);
  fail_unless (prompt_of (out) == "from 2 again", "got \"%s\"", prompt_of (out).c_str ());
  fail_unless_equals_int (out.origin, 2);
}
GST_END_TEST;

/* may_wait = false (the application's thread): added at once over the
 * capacity. */
GST_START_TEST (test_may_not_wait)
{
  PendingQueue q (1);
  fail_unless (q.push (gen ("a"), Policy::Queue) == Push::Added);
  auto t0 = std::chrono::steady_clock::now ();
  fail_unless (q.push (gen ("b", Generation::kFromProperty), Policy::Queue, nullptr, false) == Push::Added);
  fail_unless (q.push (gen ("c", Generation::kFromProperty), Policy::Queue, nullptr, false) == Push::Added);
  const double ms = std::chrono::duration<double, std::milli> (std::chrono::steady_clock::now () - t0).count ();
  fail_unless (ms < 50, "took %.1f ms", ms);
  fail_unless_equals_int (q.size (), 3);
  fail_unless (q.has_origin (Generation::kFromProperty));
}
GST_END_TEST;

/* Latest: never waits, even when full; what waited is replaced and handed
 * back in order. */
GST_START_TEST (test_latest_replaces)
{
  PendingQueue q (1);
  std::vector<Generation> dropped;
  fail_unless (q.push (gen ("a"), Policy::Latest, &dropped) == Push::Added);
  fail_unless (dropped.empty ());
  /* Full at capacity 1: not a wait. */
  AsyncPush b (q, gen ("b"), Policy::Latest);
  fail_unless (b.get () == Push::Added);
  fail_unless_equals_int (q.size (), 1);
  fail_unless (q.push (gen ("c"), Policy::Queue, nullptr, false) == Push::Added);
  fail_unless_equals_int (q.size (), 2);
  fail_unless (q.push (gen ("d"), Policy::Latest, &dropped) == Push::Added);
  fail_unless_equals_int (dropped.size (), 2);
  fail_unless (prompt_of (dropped[0]) == "b", "got \"%s\"", prompt_of (dropped[0]).c_str ());
  fail_unless (prompt_of (dropped[1]) == "c", "got \"%s\"", prompt_of (dropped[1]).c_str ());
  fail_unless_equals_int (q.size (), 1);
  Generation out;
  fail_unless (q.pop (out) == Pop::Item);
  fail_unless (prompt_of (out) == "d", "got \"%s\"", prompt_of (out).c_str ());
  fail_unless (q.pop (out) == Pop::Empty);
}
GST_END_TEST;

/* end (): nothing more is added, what waits still goes, then Ended; a
 * waiting push returns Ended; a flush (set_flushing (false)) clears it. */
GST_START_TEST (test_end)
{
  PendingQueue q (1);
  Generation out;
  fail_unless (q.pop (out) == Pop::Empty);
  fail_unless (q.push (gen ("a"), Policy::Queue) == Push::Added);
  AsyncPush blocked (q, gen ("b"));
  fail_unless (blocked.still_waiting ());
  fail_if (q.ended ());
  q.end ();
  fail_unless (q.ended ());
  fail_unless (blocked.get () == Push::Ended);
  fail_unless (q.push (gen ("c"), Policy::Latest) == Push::Ended);
  fail_unless (q.push (gen ("d"), Policy::Queue, nullptr, false) == Push::Ended);
  fail_unless (q.pop (out) == Pop::Item);
  fail_unless (prompt_of (out) == "a", "got \"%s\"", prompt_of (out).c_str ());
  fail_unless (q.pop (out) == Pop::Ended);
  fail_unless (q.pop (out) == Pop::Ended);
  /* A flush starts the input again. */
  q.set_flushing (true);
  fail_unless (q.ended (), "set_flushing (true) alone cleared end ()");
  q.set_flushing (false);
  fail_if (q.ended ());
  fail_unless (q.pop (out) == Pop::Empty);
  fail_unless (q.push (gen ("e"), Policy::Queue) == Push::Added);
  fail_unless (q.pop (out) == Pop::Item);
  fail_unless (prompt_of (out) == "e", "got \"%s\"", prompt_of (out).c_str ());
}
GST_END_TEST;

/* seq numbers count every push; next_pts (seq) is the pts of the one pushed
 * after it, nullopt when that one has none or is not pushed yet. */
GST_START_TEST (test_seq_and_next_pts)
{
  PendingQueue q (8);
  fail_unless_equals_int (q.pushed (), 0);
  fail_unless (q.push (gen ("a", 1, 1 * GST_SECOND), Policy::Queue) == Push::Added);
  fail_unless (q.push (gen ("b", 1, GST_CLOCK_TIME_NONE), Policy::Queue) == Push::Added);
  fail_unless (q.push (gen ("c", 1, 3 * GST_SECOND), Policy::Queue) == Push::Added);
  fail_unless_equals_int (q.pushed (), 3);
  std::vector<guint64> seqs;
  Generation out;
  while (q.pop (out) == Pop::Item)
    seqs.push_back (out.seq);
  fail_unless_equals_int (seqs.size (), 3);
  fail_unless_equals_uint64 (seqs[0], 0);
  fail_unless_equals_uint64 (seqs[1], 1);
  fail_unless_equals_uint64 (seqs[2], 2);
  /* After "a" comes "b", with no pts. */
  fail_if (q.next_pts (0).has_value ());
  /* After "b" comes "c" at 3 s, popped already: still known. */
  auto after_b = q.next_pts (1);
  fail_unless (after_b.has_value ());
  fail_unless_equals_uint64 (*after_b, 3 * GST_SECOND);
  /* Nothing after "c" yet. */
  fail_if (q.next_pts (2).has_value ());
  fail_unless (q.push (gen ("d", 1, 7 * GST_SECOND), Policy::Latest) == Push::Added);
  auto after_c = q.next_pts (2);
  fail_unless (after_c.has_value ());
  fail_unless_equals_uint64 (*after_c, 7 * GST_SECOND);
  fail_unless (q.pop (out) == Pop::Item);
  fail_unless_equals_uint64 (out.seq, 3);
  /* Replaced generations used their numbers too. */
  std::vector<Generation> dropped;
  fail_unless (q.push (gen ("e"), Policy::Latest) == Push::Added);
  fail_unless (q.push (gen ("f"), Policy::Latest, &dropped) == Push::Added);
  fail_unless_equals_int (dropped.size (), 1);
  fail_unless_equals_uint64 (dropped[0].seq, 4);
  fail_unless (q.pop (out) == Pop::Item);
  fail_unless_equals_uint64 (out.seq, 5);
  fail_unless_equals_int (q.pushed (), 6);
}
GST_END_TEST;

static Suite *
pending_suite (void)
{
  Suite *s = suite_create ("pending");
  TCase *tc = tcase_create ("general");
  tcase_set_timeout (tc, 30);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_queue_waits_for_pop);
  tcase_add_test (tc, test_queue_flush_wakes);
  tcase_add_test (tc, test_drop_origin);
  tcase_add_test (tc, test_may_not_wait);
  tcase_add_test (tc, test_latest_replaces);
  tcase_add_test (tc, test_end);
  tcase_add_test (tc, test_seq_and_next_pts);
  return s;
}

GST_CHECK_MAIN (pending);
