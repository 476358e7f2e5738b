/* gst-gemini: how many images are asked for at once, and in which order
 * their results go out.
 *
 * The scheduler pulls jobs from a source in input order, keeps up to
 * `max_in_flight` attempt runners going, hedges an image that is still
 * unanswered after a delay (within a budget), and hands results to the
 * streaming thread in input order (or as they complete). Results that wait
 * for an earlier, slower image are capped: no new image starts while
 * `max_in_flight + reorder_cap` images are started and not yet taken, so
 * memory stays bounded whatever the latencies. Cancellation is one call,
 * cancel_all (), which stops every runner, timer and wait at once.
 *
 * Knows nothing of GstElement. Thread-safe: the source and the callbacks
 * are called without the scheduler's lock held.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gemini-attempt.h"
#include "gemini-http.h"
#include "gemini-request.h"

namespace gemini {

/* One image to make. */
struct Job {
  RequestSpec spec;
  /* Where its frame goes in the stream (pipeline inputs and runtime
   * changes; NONE: the output stage's own slots), and the generation (one
   * prompt, num-images variants) it belongs to. */
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  guint64 generation = 0;
  guint variant = 0;
  guint origin = 0;           /* the input that asked (Generation::origin) */
  Target target;
  AttemptPolicy policy;
  int on_error = 0;           /* the output stage's policy for this image */
  std::shared_ptr<ResponseCache> cache;   /* for its counters in messages */
};

/* What a draft frame needs of its job, copied under the scheduler's lock:
 * not the Job, whose request can hold megabytes of reference images and of
 * edit-mode history. */
struct DraftOf {
  guint64 index = 0;
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  std::string prompt;
  std::string model;
  bool edited = false;   /* reference images or history were sent */

  static DraftOf of (const Job & job);
};

struct SchedulerConfig {
  guint max_in_flight = 4;
  /* Results held while an earlier image is still running. */
  guint reorder_cap = 8;
  /* And at most this many bytes of them, counted in frames the size of the
   * last image made (decoded, or encoded when it was not decoded): a 4K
   * RGBA frame is 64 MiB, and the cap in images alone let eight of them
   * wait. 0: no limit in bytes. */
  gsize reorder_bytes = 0;
  bool completion_order = false;
  /* Seconds after which an unanswered image gets a second, identical
   * request; 0 = never; below 0 = adaptive (the 90th percentile of the
   * latencies seen, once there are kAdaptiveSamples). */
  double hedge_after = 0;
  /* Hedges allowed: hedge_min, or hedge_share of the images started if
   * that is more. */
  double hedge_share = 0.1;
  guint hedge_min = 2;
  /* Answers kept by request; null: none. */
  std::shared_ptr<ResponseCache> cache;
};

class Scheduler : public std::enable_shared_from_this<Scheduler> {
public:
  static constexpr guint kAdaptiveSamples = 4;

  /* What the source gives: a job; nothing for now (an input may bring
   * more: call poke () when it does); or the end of the input. */
  struct Pulled {
    std::optional<Job> job;
    bool later = false;
    Pulled (std::optional<Job> j) : job (std::move (j)) {}
    Pulled (std::nullopt_t) {}
    Pulled (Job j) : job (std::move (j)) {}
    static Pulled wait () { Pulled p (std::nullopt); p.later = true; return p; }
  };
  /* The next job in input order. Called from whichever thread frees a
   * slot, one call at a time; it must not block. */
  using Source = std::function<Pulled ()>;

  struct Events {
    std::function<void (guint64 index, const RetryNotice &)> retry;
    std::function<void (const char *property, const std::string & text)> warning;
    std::function<void (const std::string & alias, const std::string & model)> alias_moved;
    /* A hedge was sent for image `index` after `delay` seconds. */
    std::function<void (guint64 index, double delay)> hedged;
    /* Admission of each request (the shared rate limiter), as in
     * AttemptRunner::Events. */
    std::function<void (const std::string & model, std::function<void ()> go)> acquire;
    std::function<void (const std::string & model)> release;
    std::function<void (const std::string & model, std::optional<double>)> rate_limited;
    /* A draft (thought) image of the job's stream (AttemptPolicy::previews),
     * decoded, on the engine thread, before the job's result; never from
     * the cache. Must not block. */
    std::function<void (const DraftOf & of, DecodedImage image)> preview;
    /* Image `index` is decided: answered (an image or a failure), or
     * `superseded`; it waits for next () now. Not called for images
     * cancel_all () stops, nor after it returned (it waits for one in
     * progress, as for the source). Without the scheduler's lock, from the
     * thread that decided it, possibly after next () handed the result out. */
    std::function<void (guint64 index, Outcome outcome, bool superseded)> finished;
  };

  struct Result {
    Job job;
    Generated generated;
    bool hedged = false;          /* a second request was sent */
    bool hedge_won = false;       /* and its answer is the one used */
    bool superseded = false;      /* cancelled by supersede (): no frame */
  };

  enum class Next { Result, End, Cancelled, Empty };

  struct Stats {
    guint64 started = 0;          /* images */
    guint64 hedges = 0;           /* second requests sent */
    guint64 hedges_won = 0;
    guint64 in_flight = 0;
    guint64 waiting = 0;          /* results not yet taken */
    guint64 superseded = 0;       /* images cancelled by a newer input */
  };

  Scheduler (std::weak_ptr<HttpEngine> engine, SchedulerConfig config, Source source, Events events);
  ~Scheduler ();

  /* Fills the slots. */
  void start ();
  /* Waits for the next result (in input order, or the next to complete).
   * End: the source is exhausted and every result was taken. Cancelled:
   * cancel_all () was called. Bounded by the runners' deadlines, and by
   * the input when the source said "later". With block = false, Empty when
   * no result is ready yet (live pacing polls at each frame slot). */
  Next next (Result & out, bool block = true);
  /* Room for more images: call when the result from next () has gone out,
   * so that settings changed meanwhile apply to the images started now. */
  void resume ();
  /* The next (or current) blocking next () returns Empty once, without a
   * result: the caller has something else to do first (a preview frame to
   * push). Any thread. */
  void nudge ();
  /* The source has something new after it said "later". */
  void poke () { pump (); }
  /* Latest wins: every image in flight now is cancelled and comes out of
   * next () as a superseded result (in its place in the order, at once),
   * so that the newer input is not held behind it. Images already made
   * still go out. Returns how many were cancelled. */
  guint supersede (std::function<bool (const Job &)> which = nullptr);
  /* Idempotent; returns at once, or as soon as a source call in progress
   * returns (the source never blocks), so that nothing calls the source
   * after it. */
  void cancel_all ();
  Stats stats () const;

private:
  using Clock = std::chrono::steady_clock;

  struct Flight {
    Job job;
    std::vector<std::shared_ptr<AttemptRunner>> runners;
    guint pending = 0;                        /* runners not done */
    std::optional<Generated> failure;         /* the first failure, kept while another runs */
    std::shared_ptr<HttpEngine::Timer> hedge_timer;
    Clock::time_point started;
    bool hedged = false;
  };

  std::weak_ptr<HttpEngine> engine_;
  const SchedulerConfig config_;
  Source source_;
  Events events_;

  mutable std::mutex lock_;
  std::condition_variable cond_;
  std::map<guint64, Flight> flights_;
  std::map<guint64, Result> ready_;
  std::deque<guint64> completed_;         /* completion order */
  std::optional<guint64> next_out_;       /* input order: the index due next */
  bool pulling_ = false;
  guint notifying_ = 0;                   /* finished callbacks running */
  /* Results next () handed out and resume () not called for yet: they hold
   * their room until then, so that a slot freed by an answer on another
   * thread does not start an image before the taker's resume (). */
  guint taken_ = 0;
  bool source_done_ = false;
  bool cancelled_ = false;
  bool nudged_ = false;       /* next () returns Empty once */
  std::vector<double> latencies_;         /* of images that got an image */
  gsize frame_bytes_ = 0;                 /* of the last image made */
  Stats stats_;

  void pump ();
  /* Events::finished, unless cancelled; cancel_all () waits for it. */
  void notify_finished (guint64 index, Outcome outcome, bool superseded);
  std::shared_ptr<AttemptRunner> launch (const Job & job, bool hedge);
  void on_done (guint64 index, AttemptRunner * runner, Generated g);
  void on_hedge_timer (guint64 index);
  double hedge_delay_locked () const;
  guint reorder_cap_locked () const;
  bool hedge_budget_locked () const;
};

}  // namespace gemini
