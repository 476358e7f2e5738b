/* Unit tests of plugin/gemini-scheduler.cpp against the emulator, with no
 * element: images in flight at once, input order under random latencies,
 * completion order, the reorder cap, hedges (fire, win, cancel the loser,
 * budget) and cancel_all (). For the pipeline's inputs (issue 9): a source
 * that says "later" and is poked, the non-blocking next (), and supersede ()
 * (all, or by origin).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "emulator-fixture.h"
#include "gemini-scheduler.h"
#include "pipeline-runner.h"

#include <gst/check/gstcheck.h>

using namespace gemini;
using gemini::test::add_emulator_tcase;
using gemini::test::emu;
using Clock = std::chrono::steady_clock;

namespace {

struct Rig {
  std::shared_ptr<HttpEngine> engine = std::make_shared<HttpEngine> ();
  std::atomic<guint64> pulled {0};
  guint64 count;
  std::atomic<int> in_flight {0}, max_seen {0};
  std::mutex lock;
  std::vector<std::pair<guint64, double>> hedges;
  std::shared_ptr<Scheduler> scheduler;

  Rig (guint64 n, SchedulerConfig config) : count (n)
  {
    HttpEngine::Config c;
    c.direct = true;
    c.max_conns_per_host = 2 * std::max (1u, config.max_in_flight);
    std::string error;
    fail_unless (engine->start (c, error), "%s", error.c_str ());
    Scheduler::Events ev;
    /* Admission counts the requests on the wire. */
    ev.acquire = [this] (const std::string &, std::function<void ()> go) {
      int now = ++in_flight;
      int prev = max_seen.load ();
      while (now > prev && !max_seen.compare_exchange_weak (prev, now)) {
      }
      go ();
    };
    ev.release = [this] (const std::string &) { in_flight--; };
    ev.hedged = [this] (guint64 index, double delay) {
      std::lock_guard<std::mutex> lk (lock);
      hedges.emplace_back (index, delay);
    };
    scheduler = std::make_shared<Scheduler> (engine, config, [this] () -> std::optional<Job> {
      guint64 i = pulled.load ();
      if (i >= count)
        return std::nullopt;
      pulled++;
      Job j;
      j.spec.index = i;
      j.spec.model = "gemini-3-pro-image";
      j.spec.request.prompt = "image " + std::to_string (i);
      j.target.endpoint = emu->base_url ();
      j.target.server = emu->base_url ();
      j.target.api_key = "test-key";
      j.policy.retry_backoff = 0.02;
      j.policy.request_timeout = 30;
      return j;
    }, std::move (ev));
  }
  ~Rig ()
  {
    scheduler->cancel_all ();
    engine->stop ();
  }

  /* Every result, as next () gives them. */
  std::vector<Scheduler::Result> drain ()
  {
    std::vector<Scheduler::Result> out;
    scheduler->start ();
    for (;;) {
      Scheduler::Result r;
      auto n = scheduler->next (r);
      if (n != Scheduler::Next::Result)
        break;
      out.push_back (std::move (r));
      scheduler->resume ();
    }
    return out;
  }
};

double
seconds_since (Clock::time_point t)
{
  return std::chrono::duration<double> (Clock::now () - t).count ();
}

}  // namespace

/* 12 images, 4 at once, latencies 10-300 ms in a cycle: out in input order,
 * never more than 4 on the wire, in less time than one at a time. */
GST_START_TEST (test_input_order)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":300},{\"do\":\"image\",\"delay_ms\":50},"
      "{\"do\":\"image\",\"delay_ms\":200},{\"do\":\"image\",\"delay_ms\":10},{\"do\":\"image\",\"delay_ms\":150},"
      "{\"do\":\"image\",\"delay_ms\":80}],\"then\":\"cycle\"}");
  SchedulerConfig config;
  config.max_in_flight = 4;
  Rig rig (12, config);
  auto t0 = Clock::now ();
  auto results = rig.drain ();
  const double took = seconds_since (t0);
  fail_unless_equals_int (results.size (), 12);
  for (guint i = 0; i < results.size (); i++) {
    fail_unless_equals_int (results[i].job.spec.index, i);
    fail_unless ((int) results[i].generated.response.outcome == (int) Outcome::Image);
  }
  fail_unless (rig.max_seen.load () <= 4 && rig.max_seen.load () >= 2, "max in flight %d", rig.max_seen.load ());
  /* One at a time: 2 x 790 ms of waits alone. */
  fail_unless (took < 1.5, "took %.2f s", took);
  emu->set_script ("[]");
}
GST_END_TEST;

/* As they complete: every image once, the slow first one not first. */
GST_START_TEST (test_completion_order)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":600},{\"do\":\"image\",\"delay_ms\":10}],"
      "\"then\":\"repeat\"}");
  SchedulerConfig config;
  config.max_in_flight = 3;
  config.completion_order = true;
  Rig rig (6, config);
  auto results = rig.drain ();
  fail_unless_equals_int (results.size (), 6);
  std::set<guint64> seen;
  for (auto & r : results)
    seen.insert (r.job.spec.index);
  fail_unless_equals_int (seen.size (), 6);
  /* One request got the 600 ms answer, whichever reached the emulator
   * first: it came out after the fast ones started with it. */
  fail_unless (results.front ().generated.elapsed_s < 0.4, "the slow image came out first");
  auto slow = std::find_if (results.begin (), results.end (),
      [] (const Scheduler::Result & r) { return r.generated.elapsed_s > 0.55; });
  fail_unless (slow != results.end () && slow != results.begin ());
  emu->set_script ("[]");
}
GST_END_TEST;

/* A stuck first image: no more than max_in_flight + reorder_cap images are
 * started while it is outstanding, so memory stays bounded. The cap also
 * shrinks to what reorder_bytes holds of frames the size of the last image
 * (the emulator's 1024x1024 JPEG, decoded as RGB: 3 MiB): two frames'
 * worth, 2 + 2 started; less than one, none waits beyond max_in_flight. */
GST_START_TEST (test_reorder_cap)
{
  const gsize frame = 1024 * 1024 * 3;
  const struct {
    gsize reorder_bytes;
    guint64 started;
  } cases[] = {{0, 2 + 3}, {2 * frame + 1000, 2 + 2}, {frame - 1, 2}};
  for (const auto & c : cases) {
    emu->reset ();
    emu->set_script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":1500},{\"do\":\"image\",\"delay_ms\":10}],"
        "\"then\":\"repeat\"}");
    SchedulerConfig config;
    config.max_in_flight = 2;
    config.reorder_cap = 3;
    config.reorder_bytes = c.reorder_bytes;
    Rig rig (12, config);
    rig.scheduler->start ();
    g_usleep (1000 * 1000);
    fail_unless_equals_int (rig.pulled.load (), c.started);
    auto stats = rig.scheduler->stats ();
    fail_unless_equals_int (stats.in_flight + stats.waiting, c.started);
    /* Once it arrives, the rest follows in order. */
    guint64 expect = 0;
    for (;;) {
      Scheduler::Result r;
      if (rig.scheduler->next (r) != Scheduler::Next::Result)
        break;
      fail_unless_equals_int (r.job.spec.index, expect++);
      fail_unless_equals_int (r.generated.image.size, frame);
      rig.scheduler->resume ();
    }
    fail_unless_equals_int (expect, 12);
  }
  emu->set_script ("[]");
}
GST_END_TEST;

/* A request stuck for 3 s gets a hedge after 0.3 s; the hedge's answer
 * wins, the stuck one is cancelled (its connection closes). The budget
 * (floor 1, share 0) allows one hedge for three stuck images. */
GST_START_TEST (test_hedges)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":3000},{\"do\":\"image\",\"delay_ms\":20}]}");
  SchedulerConfig config;
  config.max_in_flight = 1;
  config.hedge_after = 0.3;
  config.hedge_share = 0;
  config.hedge_min = 1;
  {
    Rig rig (1, config);
    auto t0 = Clock::now ();
    auto results = rig.drain ();
    const double took = seconds_since (t0);
    fail_unless_equals_int (results.size (), 1);
    fail_unless (results[0].hedged && results[0].hedge_won);
    fail_unless (took < 1.5, "took %.2f s", took);
    fail_unless_equals_int (rig.hedges.size (), 1);
    fail_unless (rig.hedges[0].second >= 0.29, "hedged after %.3f s", rig.hedges[0].second);
    /* The loser's connection is closed, not left to run for 3 s. */
    fail_unless (gemini::test::open_connections () == 0 || [] {
      for (int i = 0; i < 100 && gemini::test::open_connections () > 0; i++)
        g_usleep (10 * 1000);
      return gemini::test::open_connections () == 0;
    } (), "the losing request is still open");
    auto s = rig.scheduler->stats ();
    fail_unless_equals_int (s.hedges, 1);
    fail_unless_equals_int (s.hedges_won, 1);
  }
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":1000}],\"then\":\"repeat\"}");
  {
    Rig rig (3, (config.max_in_flight = 3, config));
    auto results = rig.drain ();
    fail_unless_equals_int (results.size (), 3);
    fail_unless_equals_int (rig.hedges.size (), 1);
  }
  emu->set_script ("[]");
}
GST_END_TEST;

/* Adaptive hedging: no hedge before enough latencies are known; then the
 * 90th percentile. */
GST_START_TEST (test_adaptive_hedge)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":50},{\"do\":\"image\",\"delay_ms\":50},"
      "{\"do\":\"image\",\"delay_ms\":50},{\"do\":\"image\",\"delay_ms\":50},{\"do\":\"image\",\"delay_ms\":2500},"
      "{\"do\":\"image\",\"delay_ms\":50}]}");
  SchedulerConfig config;
  config.max_in_flight = 1;
  config.hedge_after = -1;
  Rig rig (5, config);
  auto t0 = Clock::now ();
  auto results = rig.drain ();
  fail_unless_equals_int (results.size (), 5);
  fail_unless_equals_int (rig.hedges.size (), 1);
  fail_unless_equals_int (rig.hedges[0].first, 4);
  fail_unless (rig.hedges[0].second < 0.5, "hedged after %.3f s", rig.hedges[0].second);
  fail_unless (seconds_since (t0) < 2.0);
  emu->set_script ("[]");
}
GST_END_TEST;

/* cancel_all () with 8 hung requests: at once; next () says Cancelled; the
 * connections close; the source is not called again. */
GST_START_TEST (test_cancel_all)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"hang\"}],\"then\":\"repeat\"}");
  SchedulerConfig config;
  config.max_in_flight = 8;
  Rig rig (100, config);
  rig.scheduler->start ();
  for (int i = 0; i < 300 && gemini::test::open_connections () < 8; i++)
    g_usleep (10 * 1000);
  fail_unless_equals_int (gemini::test::open_connections (), 8);
  std::thread waiter ([&rig] {
    Scheduler::Result r;
    fail_unless (rig.scheduler->next (r) == Scheduler::Next::Cancelled);
  });
  g_usleep (50 * 1000);
  auto t0 = Clock::now ();
  rig.scheduler->cancel_all ();
  waiter.join ();
  const double ms = seconds_since (t0) * 1000;
  fail_unless (ms < 50, "cancel_all took %.1f ms", ms);
  const guint64 pulled = rig.pulled.load ();
  for (int i = 0; i < 100 && gemini::test::open_connections () > 0; i++)
    g_usleep (10 * 1000);
  fail_unless_equals_int (gemini::test::open_connections (), 0);
  fail_unless_equals_int (rig.pulled.load (), pulled);
  emu->set_script ("[]");
}
GST_END_TEST;

namespace {

Job
emulator_job (guint64 index, guint origin = 0)
{
  Job j;
  j.spec.index = index;
  j.spec.model = "gemini-3-pro-image";
  j.spec.request.prompt = "image " + std::to_string (index);
  j.target.endpoint = emu->base_url ();
  j.target.server = emu->base_url ();
  j.target.api_key = "test-key";
  j.policy.retry_backoff = 0.02;
  j.policy.request_timeout = 30;
  j.origin = origin;
  return j;
}

/* A scheduler fed like the element's inputs feed it: jobs are added while
 * it runs; with none, the source says "later" until end (). */
struct FeedRig {
  std::shared_ptr<HttpEngine> engine = std::make_shared<HttpEngine> ();
  std::mutex lock;
  std::deque<Job> jobs;
  bool ended = false;
  std::atomic<int> calls {0};
  std::shared_ptr<Scheduler> scheduler;

  explicit FeedRig (SchedulerConfig config)
  {
    HttpEngine::Config c;
    c.direct = true;
    c.max_conns_per_host = 2 * std::max (1u, config.max_in_flight);
    std::string error;
    fail_unless (engine->start (c, error), "%s", error.c_str ());
    scheduler = std::make_shared<Scheduler> (engine, config, [this] () -> Scheduler::Pulled {
      std::lock_guard<std::mutex> lk (lock);
      calls++;
      if (jobs.empty ())
        return ended ? Scheduler::Pulled (std::nullopt) : Scheduler::Pulled::wait ();
      Job j = std::move (jobs.front ());
      jobs.pop_front ();
      return j;
    }, Scheduler::Events {});
  }
  ~FeedRig ()
  {
    scheduler->cancel_all ();
    engine->stop ();
  }
  /* Adds jobs, then pokes. */
  void add (std::initializer_list<std::pair<guint64, guint>> index_origin)
  {
    {
      std::lock_guard<std::mutex> lk (lock);
      for (auto [i, o] : index_origin)
        jobs.push_back (emulator_job (i, o));
    }
    scheduler->poke ();
  }
  void end ()
  {
    {
      std::lock_guard<std::mutex> lk (lock);
      ended = true;
    }
    scheduler->poke ();
  }
  /* next (out, false), timed: it must not block. */
  Scheduler::Next poll (Scheduler::Result & out)
  {
    auto t0 = Clock::now ();
    auto n = scheduler->next (out, false);
    const double ms = seconds_since (t0) * 1000;
    fail_unless (ms < 20, "next (out, false) took %.1f ms", ms);
    return n;
  }
};

bool
wait_open_connections (gint64 n, double seconds)
{
  return gemini::test::wait_until ([n] { return gemini::test::open_connections () == n; }, seconds);
}

}  // namespace

/* A source with nothing yet says "later": next () waits (no End), and
 * next (out, false) says Empty; poke () after it has more starts them; the
 * end of the input (nullopt) gives End once the results are taken. */
GST_START_TEST (test_source_later)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":20}],\"then\":\"repeat\"}");
  SchedulerConfig config;
  config.max_in_flight = 2;
  FeedRig rig (config);
  rig.scheduler->start ();
  fail_unless_equals_int (rig.calls.load (), 1);
  Scheduler::Result r;
  fail_unless (rig.poll (r) == Scheduler::Next::Empty);
  /* A blocking next () keeps waiting for the input. */
  std::promise<std::pair<Scheduler::Next, guint64>> first;
  auto first_done = first.get_future ();
  std::thread waiter ([&rig, &first] {
    Scheduler::Result out;
    auto n = rig.scheduler->next (out);
    first.set_value ({n, out.job.spec.index});
  });
  fail_unless (first_done.wait_for (std::chrono::milliseconds (300)) == std::future_status::timeout,
      "next () returned while the source said later");
  fail_unless_equals_int (gemini::test::request_count (), 0);
  rig.add ({{0, 0}, {1, 0}});
  fail_unless (first_done.wait_for (std::chrono::seconds (5)) == std::future_status::ready,
      "poke () did not start the new jobs");
  waiter.join ();
  auto [n0, index0] = first_done.get ();
  fail_unless (n0 == Scheduler::Next::Result);
  fail_unless_equals_uint64 (index0, 0);
  fail_unless (rig.scheduler->next (r) == Scheduler::Next::Result);
  fail_unless_equals_uint64 (r.job.spec.index, 1);
  fail_unless ((int) r.generated.response.outcome == (int) Outcome::Image);
  rig.scheduler->resume ();
  /* Nothing more yet: still not the end. */
  fail_unless (rig.poll (r) == Scheduler::Next::Empty);
  rig.add ({{2, 0}});
  fail_unless (rig.scheduler->next (r) == Scheduler::Next::Result);
  fail_unless_equals_uint64 (r.job.spec.index, 2);
  rig.scheduler->resume ();
  fail_unless (rig.poll (r) == Scheduler::Next::Empty);
  /* The input ends while image 3 is made and not taken: it still goes out,
   * then End. */
  rig.add ({{3, 0}});
  fail_unless (gemini::test::wait_until ([&rig] { return rig.scheduler->stats ().waiting == 1; }, 5));
  rig.end ();
  fail_unless (rig.poll (r) == Scheduler::Next::Result);
  fail_unless_equals_uint64 (r.job.spec.index, 3);
  rig.scheduler->resume ();
  fail_unless (rig.poll (r) == Scheduler::Next::End);
  fail_unless (rig.scheduler->next (r) == Scheduler::Next::End);
  fail_unless_equals_int (gemini::test::request_count (), 4);
  emu->set_script ("[]");
}
GST_END_TEST;

/* next (out, false) never blocks: Empty while the only image hangs on the
 * wire, Empty while a 400 ms image is on its way, then that Result, then
 * End (the results were taken and the source ended). */
GST_START_TEST (test_next_nonblocking)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":400}]}");
  SchedulerConfig config;
  config.max_in_flight = 1;
  Rig rig (1, config);
  auto t0 = Clock::now ();
  rig.scheduler->start ();
  Scheduler::Result r;
  int empties = 0;
  Scheduler::Next n;
  for (;;) {
    auto t = Clock::now ();
    n = rig.scheduler->next (r, false);
    const double ms = seconds_since (t) * 1000;
    fail_unless (ms < 20, "next (out, false) took %.1f ms", ms);
    if (n != Scheduler::Next::Empty)
      break;
    empties++;
    fail_unless (seconds_since (t0) < 5, "no result after 5 s");
    g_usleep (10 * 1000);
  }
  fail_unless (n == Scheduler::Next::Result);
  fail_unless_equals_uint64 (r.job.spec.index, 0);
  fail_unless ((int) r.generated.response.outcome == (int) Outcome::Image);
  fail_unless (seconds_since (t0) >= 0.35, "a result after %.3f s", seconds_since (t0));
  fail_unless (empties >= 10, "only %d polls said Empty", empties);
  rig.scheduler->resume ();
  fail_unless (rig.scheduler->next (r, false) == Scheduler::Next::End);

  /* A request that hangs: Empty at once, every time. */
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"hang\"}],\"then\":\"repeat\"}");
  Rig hung (1, config);
  hung.scheduler->start ();
  fail_unless (wait_open_connections (1, 3));
  for (int i = 0; i < 5; i++) {
    auto t = Clock::now ();
    fail_unless (hung.scheduler->next (r, false) == Scheduler::Next::Empty);
    fail_unless (seconds_since (t) * 1000 < 20);
  }
  hung.scheduler->cancel_all ();
  fail_unless (hung.scheduler->next (r, false) == Scheduler::Next::Cancelled);
  emu->set_script ("[]");
}
GST_END_TEST;

/* nudge (): a blocking next () that waits for an input returns Empty at
 * once, without a result; a nudge before next () makes the next one return
 * Empty; after that next () blocks again as before. */
GST_START_TEST (test_nudge)
{
  emu->reset ();
  SchedulerConfig config;
  FeedRig rig (config);
  rig.scheduler->start ();
  std::promise<Scheduler::Next> done;
  auto result = done.get_future ();
  std::thread waiter ([&rig, &done] {
    Scheduler::Result out;
    done.set_value (rig.scheduler->next (out));
  });
  fail_unless (result.wait_for (std::chrono::milliseconds (200)) == std::future_status::timeout);
  auto t0 = Clock::now ();
  rig.scheduler->nudge ();
  fail_unless (result.wait_for (std::chrono::seconds (2)) == std::future_status::ready);
  fail_unless (seconds_since (t0) < 0.1, "nudge took %.3f s", seconds_since (t0));
  waiter.join ();
  fail_unless (result.get () == Scheduler::Next::Empty);

  rig.scheduler->nudge ();
  Scheduler::Result r;
  fail_unless (rig.scheduler->next (r) == Scheduler::Next::Empty);
  /* Once only: now it waits for the input again. */
  std::promise<Scheduler::Next> again;
  auto later = again.get_future ();
  std::thread second ([&rig, &again] {
    Scheduler::Result out;
    again.set_value (rig.scheduler->next (out));
  });
  fail_unless (later.wait_for (std::chrono::milliseconds (200)) == std::future_status::timeout);
  rig.end ();
  fail_unless (later.wait_for (std::chrono::seconds (2)) == std::future_status::ready);
  second.join ();
  fail_unless (later.get () == Scheduler::Next::End);
}
GST_END_TEST;

/* supersede (): the three images hanging on the wire are cancelled at once
 * (their connections close), each comes out as a superseded Result in its
 * place, at once; the image made before them goes out normally first; the
 * scheduler goes on with the next input. */
GST_START_TEST (test_supersede)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"image\",\"delay_ms\":10}]}");
  SchedulerConfig config;
  config.max_in_flight = 4;
  FeedRig rig (config);
  rig.scheduler->start ();
  rig.add ({{0, 0}});
  /* Image 0 made, not taken yet. */
  fail_unless (gemini::test::wait_until ([&rig] { return rig.scheduler->stats ().waiting == 1; }, 5));
  emu->set_script ("{\"steps\":[{\"do\":\"hang\"}],\"then\":\"repeat\"}");
  rig.add ({{1, 0}, {2, 0}, {3, 0}});
  fail_unless (wait_open_connections (3, 5), "%d connections open", (int) gemini::test::open_connections ());
  auto t0 = Clock::now ();
  fail_unless_equals_int (rig.scheduler->supersede (), 3);
  const double ms = seconds_since (t0) * 1000;
  fail_unless (ms < 50, "supersede () took %.1f ms", ms);
  auto s = rig.scheduler->stats ();
  fail_unless_equals_int (s.superseded, 3);
  fail_unless_equals_int (s.in_flight, 0);
  fail_unless_equals_int (s.waiting, 4);
  /* Out at once, in input order: the image made, then the superseded. */
  Scheduler::Result r;
  fail_unless (rig.poll (r) == Scheduler::Next::Result);
  fail_unless_equals_uint64 (r.job.spec.index, 0);
  fail_if (r.superseded);
  fail_unless ((int) r.generated.response.outcome == (int) Outcome::Image);
  fail_unless (r.generated.image.pixels && r.generated.image.width > 0);
  for (guint64 i = 1; i <= 3; i++) {
    fail_unless (rig.poll (r) == Scheduler::Next::Result, "image %" G_GUINT64_FORMAT " not ready", i);
    fail_unless_equals_uint64 (r.job.spec.index, i);
    fail_unless (r.superseded, "image %" G_GUINT64_FORMAT " not superseded", i);
    fail_unless ((int) r.generated.response.outcome == (int) Outcome::Cancelled);
  }
  fail_unless (rig.poll (r) == Scheduler::Next::Empty);
  /* Their requests were closed at the emulator, not left hanging. */
  fail_unless (wait_open_connections (0, 1), "%d connections still open", (int) gemini::test::open_connections ());
  /* The newer input goes on. */
  emu->set_script ("[]");
  rig.scheduler->resume ();
  rig.add ({{4, 0}});
  fail_unless (rig.scheduler->next (r) == Scheduler::Next::Result);
  fail_unless_equals_uint64 (r.job.spec.index, 4);
  fail_if (r.superseded);
  fail_unless ((int) r.generated.response.outcome == (int) Outcome::Image);
  rig.end ();
  fail_unless (rig.scheduler->next (r) == Scheduler::Next::End);
  fail_unless_equals_int (rig.scheduler->stats ().superseded, 3);
  /* Nothing in flight: nothing to supersede. */
  fail_unless_equals_int (rig.scheduler->supersede (), 0);
}
GST_END_TEST;

/* supersede (which): only the jobs of one origin go (a released pad); the
 * others keep running, and a superseded result still waits for an earlier
 * image of another origin (input order). */
GST_START_TEST (test_supersede_origin)
{
  emu->reset ();
  emu->set_script ("{\"steps\":[{\"do\":\"hang\"}],\"then\":\"repeat\"}");
  SchedulerConfig config;
  config.max_in_flight = 4;
  FeedRig rig (config);
  rig.scheduler->start ();
  rig.add ({{0, 1}, {1, 2}, {2, 1}, {3, 2}});
  fail_unless (wait_open_connections (4, 5), "%d connections open", (int) gemini::test::open_connections ());
  std::vector<guint> asked;
  fail_unless_equals_int (rig.scheduler->supersede ([&asked] (const Job & j) {
    asked.push_back (j.origin);
    return j.origin == 2;
  }), 2);
  fail_unless_equals_int (asked.size (), 4);
  auto s = rig.scheduler->stats ();
  fail_unless_equals_int (s.superseded, 2);
  fail_unless_equals_int (s.in_flight, 2);
  fail_unless (wait_open_connections (2, 1), "%d connections open", (int) gemini::test::open_connections ());
  /* Image 1 is superseded, but image 0 (origin 1) still runs. */
  Scheduler::Result r;
  fail_unless (rig.poll (r) == Scheduler::Next::Empty);
  g_usleep (100 * 1000);
  fail_unless_equals_int (gemini::test::open_connections (), 2);
  fail_unless_equals_int (rig.scheduler->supersede ([] (const Job & j) { return j.origin == 1; }), 2);
  fail_unless (wait_open_connections (0, 1), "%d connections open", (int) gemini::test::open_connections ());
  for (guint64 i = 0; i < 4; i++) {
    fail_unless (rig.poll (r) == Scheduler::Next::Result, "image %" G_GUINT64_FORMAT " not ready", i);
    fail_unless_equals_uint64 (r.job.spec.index, i);
    fail_unless_equals_int (r.job.origin, i % 2 ? 2 : 1);
    fail_unless (r.superseded);
  }
  fail_unless_equals_int (rig.scheduler->stats ().superseded, 4);
  emu->set_script ("[]");
}
GST_END_TEST;

/* previews: each draft of a job's stream is forwarded as
 * Events::preview (what of the job a frame needs, image) before the job's
 * result comes out. */
GST_START_TEST (test_previews)
{
  emu->reset ();
  auto engine = std::make_shared<HttpEngine> ();
  HttpEngine::Config c;
  c.direct = true;
  std::string error;
  fail_unless (engine->start (c, error), "%s", error.c_str ());
  std::mutex lock;
  std::vector<std::pair<guint64, int>> drafts;
  bool result_taken = false, late = false;
  Scheduler::Events ev;
  std::vector<DraftOf> ofs;
  ev.preview = [&] (const DraftOf & of, DecodedImage image) {
    std::lock_guard<std::mutex> lk (lock);
    late = late || result_taken;
    drafts.emplace_back (of.index, image.width);
    ofs.push_back (of);
  };
  bool given = false;
  auto scheduler = std::make_shared<Scheduler> (engine, SchedulerConfig {}, [&] () -> std::optional<Job> {
    if (given)
      return std::nullopt;
    given = true;
    Job j = emulator_job (5);
    j.policy.previews = true;
    return j;
  }, std::move (ev));
  scheduler->start ();
  Scheduler::Result r;
  fail_unless (scheduler->next (r) == Scheduler::Next::Result);
  {
    std::lock_guard<std::mutex> lk (lock);
    result_taken = true;
    fail_unless_equals_int ((int) r.generated.response.outcome, (int) Outcome::Image);
    fail_unless_equals_int (drafts.size (), 2);
    for (const auto & [index, width] : drafts) {
      fail_unless_equals_int (index, 5);
      fail_unless (width < r.generated.image.width);
    }
    /* What a draft frame needs of its job, and nothing else. */
    for (const DraftOf & of : ofs) {
      fail_unless (of.prompt == "image 5" && of.model == "gemini-3-pro-image");
      fail_unless (of.pts == r.job.pts && of.duration == r.job.duration);
      fail_if (of.edited);
    }
  }
  scheduler->cancel_all ();
  engine->stop ();
  fail_if (late);
}
GST_END_TEST;

static Suite *
scheduler_suite (void)
{
  Suite *s = suite_create ("scheduler");
  TCase *tc = add_emulator_tcase (s, "scheduler", 60);
  tcase_add_test (tc, test_input_order);
  tcase_add_test (tc, test_completion_order);
  tcase_add_test (tc, test_reorder_cap);
  tcase_add_test (tc, test_hedges);
  tcase_add_test (tc, test_adaptive_hedge);
  tcase_add_test (tc, test_cancel_all);
  tcase_add_test (tc, test_source_later);
  tcase_add_test (tc, test_next_nonblocking);
  tcase_add_test (tc, test_supersede);
  tcase_add_test (tc, test_supersede_origin);
  tcase_add_test (tc, test_previews);
  tcase_add_test (tc, test_nudge);
  return s;
}

GST_CHECK_MAIN (scheduler);
