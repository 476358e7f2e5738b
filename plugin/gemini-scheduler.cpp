/* gst-gemini: the scheduler. See gemini-scheduler.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-scheduler.h"

#include <gst/gst.h>

#include <algorithm>
#include <cmath>

GST_DEBUG_CATEGORY_STATIC (gemini_scheduler_debug);
#define GST_CAT_DEFAULT gemini_scheduler_debug

namespace gemini {

DraftOf
DraftOf::of (const Job & job)
{
  DraftOf d;
  d.index = job.spec.index;
  d.pts = job.pts;
  d.duration = job.duration;
  d.prompt = job.spec.request.prompt;
  d.model = job.spec.model;
  d.edited = !job.spec.request.references.empty () || !job.spec.request.history.empty ();
  return d;
}

Scheduler::Scheduler (std::weak_ptr<HttpEngine> engine, SchedulerConfig config, Source source, Events events)
    : engine_ (std::move (engine)), config_ (config), source_ (std::move (source)), events_ (std::move (events))
{
  static std::once_flag once;
  std::call_once (once, [] {
    GST_DEBUG_CATEGORY_INIT (gemini_scheduler_debug, "geminischeduler", 0, "gst-gemini scheduler");
  });
}

Scheduler::~Scheduler ()
{
  cancel_all ();
}

void
Scheduler::start ()
{
  pump ();
}

Scheduler::Stats
Scheduler::stats () const
{
  std::lock_guard<std::mutex> lk (lock_);
  Stats s = stats_;
  s.in_flight = flights_.size ();
  s.waiting = ready_.size ();
  return s;
}

/* The reorder cap in images, shrunk to what reorder_bytes holds of frames
 * the size of the last one (none before the first image is made). */
guint
Scheduler::reorder_cap_locked () const
{
  if (config_.reorder_bytes == 0 || frame_bytes_ == 0)
    return config_.reorder_cap;
  return (guint) std::min<gsize> (config_.reorder_cap, config_.reorder_bytes / frame_bytes_);
}

/* Starts images while there is room: a free slot, and room for their
 * results next to those waiting to go out. One caller pulls at a time, so
 * jobs start in input order. */
void
Scheduler::pump ()
{
  for (;;) {
    {
      std::lock_guard<std::mutex> lk (lock_);
      const gsize max_in_flight = std::max (1u, config_.max_in_flight);
      if (cancelled_ || source_done_ || pulling_ || flights_.size () >= max_in_flight
          || flights_.size () + ready_.size () + taken_ >= max_in_flight + reorder_cap_locked ())
        return;
      pulling_ = true;
    }
    Pulled pulled = source_ ();
    std::optional<Job> & job = pulled.job;
    {
      std::lock_guard<std::mutex> lk (lock_);
      pulling_ = false;
      cond_.notify_all ();
      if (!job) {
        /* "Later": the input will poke () when it has more. */
        if (!pulled.later)
          source_done_ = true;
        cond_.notify_all ();
        return;
      }
      if (cancelled_)
        return;
      const guint64 index = job->spec.index;
      if (!next_out_)
        next_out_ = index;
      Flight & f = flights_[index];
      f.job = *job;
      f.started = Clock::now ();
      f.pending = 1;
      stats_.started++;
    }
    /* Outside the lock: a runner can finish at once (engine stopped). */
    auto runner = launch (*job, false);
    std::shared_ptr<HttpEngine::Timer> hedge_timer;
    double delay = 0;
    {
      std::lock_guard<std::mutex> lk (lock_);
      auto it = flights_.find (job->spec.index);
      if (it != flights_.end ()) {
        it->second.runners.push_back (runner);
        delay = hedge_delay_locked ();
        runner.reset ();
      }
    }
    if (runner) {
      /* Done already (cancel is then a no-op), or cancelled or superseded
       * while it started: stop it. */
      runner->cancel ();
      continue;
    }
    if (delay > 0) {
      if (auto engine = engine_.lock ()) {
        std::weak_ptr<Scheduler> weak = weak_from_this ();
        const guint64 index = job->spec.index;
        hedge_timer = engine->add_timer (delay, [weak, index] {
          if (auto self = weak.lock ())
            self->on_hedge_timer (index);
        });
      }
      std::lock_guard<std::mutex> lk (lock_);
      auto it = flights_.find (job->spec.index);
      if (it != flights_.end ())
        it->second.hedge_timer = std::move (hedge_timer);
      else if (hedge_timer)
        hedge_timer->cancel ();
    }
  }
}

std::shared_ptr<AttemptRunner>
Scheduler::launch (const Job & job, bool hedge)
{
  std::weak_ptr<Scheduler> weak = weak_from_this ();
  const guint64 index = job.spec.index;
  AttemptRunner::Events ev;
  ev.retry = [weak, index] (const RetryNotice & n) {
    if (auto self = weak.lock (); self && self->events_.retry)
      self->events_.retry (index, n);
  };
  ev.warning = events_.warning;
  ev.alias_moved = events_.alias_moved;
  ev.acquire = events_.acquire;
  ev.release = events_.release;
  ev.rate_limited = events_.rate_limited;
  if (events_.preview) {
    ev.preview = [weak, index] (DecodedImage image, guint) {
      auto self = weak.lock ();
      if (!self)
        return;
      std::optional<DraftOf> of;
      {
        std::lock_guard<std::mutex> lk (self->lock_);
        auto it = self->flights_.find (index);
        if (it != self->flights_.end ())
          of = DraftOf::of (it->second.job);
      }
      /* The image's result is taken already (or it was cancelled): late. */
      if (of)
        self->events_.preview (*of, std::move (image));
    };
  }
  /* The runner is not known yet when the callback is made: a shared slot. */
  auto slot = std::make_shared<AttemptRunner *> (nullptr);
  ev.done = [weak, index, slot] (Generated g) {
    if (auto self = weak.lock ())
      self->on_done (index, *slot, std::move (g));
  };
  GST_DEBUG ("image %" G_GUINT64_FORMAT ": starting %s", index, hedge ? "a hedge" : "the request");
  auto runner = AttemptRunner::start (engine_, job.spec, job.target, job.policy, std::move (ev), config_.cache);
  *slot = runner.get ();
  return runner;
}

void
Scheduler::on_done (guint64 index, AttemptRunner * runner, Generated g)
{
  std::vector<std::shared_ptr<AttemptRunner>> losers;
  std::shared_ptr<HttpEngine::Timer> hedge_timer;
  Outcome outcome;
  {
    std::lock_guard<std::mutex> lk (lock_);
    auto it = flights_.find (index);
    if (it == flights_.end ())
      return;   /* cancelled, or another runner already won */
    Flight & f = it->second;
    if (f.pending > 0)
      f.pending--;
    const bool image = g.response.outcome == Outcome::Image;
    const bool cancelled = g.response.action == Action::Stop;
    if (!image && f.pending > 0) {
      /* Another request for this image is still running: it may win. */
      if (!cancelled && !f.failure)
        f.failure = std::move (g);
      return;
    }
    if (!image && cancelled && f.failure)
      g = std::move (*f.failure);

    Result r;
    r.job = std::move (f.job);
    r.hedged = f.hedged;
    r.hedge_won = image && f.hedged && !f.runners.empty () && f.runners.front ().get () != runner;
    if (r.hedge_won)
      stats_.hedges_won++;
    if (image && !g.from_cache)
      latencies_.push_back (std::chrono::duration<double> (Clock::now () - f.started).count ());
    if (image)
      frame_bytes_ = g.image.size ? g.image.size : g.response.image ? g_bytes_get_size (g.response.image.get ()) : 0;
    for (auto & other : f.runners)
      if (other.get () != runner)
        losers.push_back (other);
    hedge_timer = std::move (f.hedge_timer);
    outcome = g.response.outcome;
    r.generated = std::move (g);
    flights_.erase (it);
    ready_.emplace (index, std::move (r));
    completed_.push_back (index);
    cond_.notify_all ();
  }
  if (hedge_timer)
    hedge_timer->cancel ();
  /* The first good answer wins; the other request is cancelled. */
  for (auto & l : losers)
    l->cancel ();
  pump ();
  /* Last: the result may be taken meanwhile, and a slow callback before
   * pump () would let it start the next image before the taker's resume (). */
  notify_finished (index, outcome, false);
}

void
Scheduler::notify_finished (guint64 index, Outcome outcome, bool superseded)
{
  if (!events_.finished)
    return;
  {
    std::lock_guard<std::mutex> lk (lock_);
    if (cancelled_)
      return;
    notifying_++;
  }
  /* The caller may be gone once cancel_all () returned: it waits for this. */
  events_.finished (index, outcome, superseded);
  std::lock_guard<std::mutex> lk (lock_);
  notifying_--;
  cond_.notify_all ();
}

double
Scheduler::hedge_delay_locked () const
{
  if (config_.hedge_after > 0)
    return config_.hedge_after;
  if (config_.hedge_after == 0 || latencies_.size () < kAdaptiveSamples)
    return 0;
  /* The 90th percentile of what was seen: a request slower than 9 in 10
   * is probably stuck behind something. */
  std::vector<double> sorted (latencies_.end () - std::min<gsize> (latencies_.size (), 64), latencies_.end ());
  std::sort (sorted.begin (), sorted.end ());
  const gsize k = std::min (sorted.size () - 1, gsize (std::ceil (0.9 * sorted.size ())) - 1);
  return sorted[k];
}

/* Like Envoy's retry budget: a share of the requests, with a floor so that a
 * small batch can still hedge its one stuck image. */
bool
Scheduler::hedge_budget_locked () const
{
  const double allowed = std::max<double> (config_.hedge_min, config_.hedge_share * stats_.started);
  return stats_.hedges + 1 <= allowed;
}

void
Scheduler::on_hedge_timer (guint64 index)
{
  Job job;
  double waited = 0;
  {
    std::lock_guard<std::mutex> lk (lock_);
    auto it = flights_.find (index);
    if (cancelled_ || it == flights_.end () || it->second.hedged)
      return;
    if (!hedge_budget_locked ()) {
      GST_DEBUG ("image %" G_GUINT64_FORMAT ": no hedge, the budget is spent (%" G_GUINT64_FORMAT
          " of %" G_GUINT64_FORMAT " images hedged)", index, stats_.hedges, stats_.started);
      return;
    }
    it->second.hedged = true;
    it->second.pending++;
    it->second.hedge_timer.reset ();
    stats_.hedges++;
    job = it->second.job;
    waited = std::chrono::duration<double> (Clock::now () - it->second.started).count ();
  }
  auto runner = launch (job, true);
  {
    std::lock_guard<std::mutex> lk (lock_);
    auto it = flights_.find (index);
    if (it != flights_.end ()) {
      it->second.runners.push_back (runner);
      runner.reset ();
    }
  }
  /* The image was decided while the hedge started: stop it. */
  if (runner)
    runner->cancel ();
  if (events_.hedged)
    events_.hedged (index, waited);
}

guint
Scheduler::supersede (std::function<bool (const Job &)> which)
{
  std::vector<std::shared_ptr<AttemptRunner>> runners;
  std::vector<std::shared_ptr<HttpEngine::Timer>> timers;
  std::vector<guint64> superseded;
  guint count = 0;
  {
    std::lock_guard<std::mutex> lk (lock_);
    if (cancelled_)
      return 0;
    for (auto it = flights_.begin (); it != flights_.end ();) {
      const guint64 index = it->first;
      Flight & f = it->second;
      if (which && !which (f.job)) {
        ++it;
        continue;
      }
      runners.insert (runners.end (), f.runners.begin (), f.runners.end ());
      if (f.hedge_timer)
        timers.push_back (std::move (f.hedge_timer));
      Result r;
      r.job = std::move (f.job);
      r.hedged = f.hedged;
      r.superseded = true;
      r.generated.response.outcome = Outcome::Cancelled;
      r.generated.response.action = Action::Stop;
      ready_.emplace (index, std::move (r));
      completed_.push_back (index);
      superseded.push_back (index);
      count++;
      it = flights_.erase (it);
    }
    stats_.superseded += count;
    cond_.notify_all ();
  }
  for (guint64 index : superseded)
    notify_finished (index, Outcome::Cancelled, true);
  for (auto & t : timers)
    t->cancel ();
  /* Their done callbacks find no flight and return. */
  for (auto & r : runners)
    r->cancel ();
  if (count)
    GST_DEBUG ("superseded %u images in flight", count);
  return count;
}

Scheduler::Next
Scheduler::next (Result & out, bool block)
{
  {
    std::unique_lock<std::mutex> lk (lock_);
    for (;;) {
      if (cancelled_)
        return Next::Cancelled;
      if (config_.completion_order) {
        while (!completed_.empty () && !ready_.count (completed_.front ()))
          completed_.pop_front ();
        if (!completed_.empty ()) {
          auto it = ready_.find (completed_.front ());
          completed_.pop_front ();
          out = std::move (it->second);
          ready_.erase (it);
          break;
        }
      } else if (next_out_) {
        auto it = ready_.find (*next_out_);
        if (it != ready_.end ()) {
          out = std::move (it->second);
          ready_.erase (it);
          (*next_out_)++;
          break;
        }
      }
      if (source_done_ && flights_.empty () && ready_.empty ())
        return Next::End;
      if (!block || nudged_) {
        nudged_ = false;
        return Next::Empty;
      }
      cond_.wait (lk);
    }
    taken_++;
  }
  return Next::Result;
}

void
Scheduler::resume ()
{
  {
    std::lock_guard<std::mutex> lk (lock_);
    if (taken_ > 0)
      taken_--;
  }
  pump ();
}

void
Scheduler::nudge ()
{
  std::lock_guard<std::mutex> lk (lock_);
  nudged_ = true;
  cond_.notify_all ();
}

void
Scheduler::cancel_all ()
{
  std::vector<std::shared_ptr<AttemptRunner>> runners;
  std::vector<std::shared_ptr<HttpEngine::Timer>> timers;
  {
    std::unique_lock<std::mutex> lk (lock_);
    if (cancelled_)
      return;
    cancelled_ = true;
    /* The source belongs to the caller, who may free it after this. */
    cond_.wait (lk, [this] { return !pulling_ && notifying_ == 0; });
    for (auto & [index, f] : flights_) {
      runners.insert (runners.end (), f.runners.begin (), f.runners.end ());
      if (f.hedge_timer)
        timers.push_back (std::move (f.hedge_timer));
    }
    flights_.clear ();
    ready_.clear ();
    completed_.clear ();
    cond_.notify_all ();
  }
  for (auto & t : timers)
    t->cancel ();
  for (auto & r : runners)
    r->cancel ();
}

}  // namespace gemini
