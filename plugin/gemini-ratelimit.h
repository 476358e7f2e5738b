/* gst-gemini: the request quota shared by the elements that spend it.
 *
 * Google counts requests per minute per key and model, so every
 * geminiimagesrc of a scope that talks to the same endpoint origin with the
 * same key and model shares one RateLimiter: a token bucket for
 * requests-per-minute, a cap on concurrent requests, and after a 429 a
 * multiplicative decrease of the shared rate with an additive recovery.
 *
 * Nothing here waits, sleeps or owns a thread or a timer: time is passed in,
 * try_acquire () answers "go" or "ask again in X s", and a scheduler that
 * waits for a slot is woken through the waker it subscribed. Element-free
 * except for the GstContext glue at the end.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace gemini {

struct RateLimitSettings {
  double requests_per_minute = 0;   /* 0: no rate limit */
  guint max_concurrent = 0;         /* 0: no cap */
};

/* Thread-safe; owned through std::shared_ptr (RateLimitScope::limiter_for).
 *
 * The bucket holds at most one token and refills continuously at the
 * effective rate: requests are spaced 60/rpm s apart and no 60 s window ever
 * sees more than rpm of them. A larger bucket would let a batch start
 * faster, but its burst is borrowed from a minute that Google counts in
 * full, and would come back as 429s. */
class RateLimiter {
public:
  using Clock = std::chrono::steady_clock;

  RateLimiter () = default;
  RateLimiter (const RateLimiter &) = delete;
  RateLimiter & operator= (const RateLimiter &) = delete;

  /* Takes a token and a concurrency slot if both are available at `now`:
   * true. Otherwise false, and `retry_in` is the number of seconds until a
   * token is due (or a 429's hold ends), 0 when only a slot is missing: wait
   * for the waker. Applies the strictest settings of the attached users.
   * `waiter`: the caller's subscription id (0: anonymous). A subscriber
   * refused for want of a slot is queued, and release () wakes the queued
   * subscribers one at a time, oldest first; anonymous subscribers cannot be
   * told apart from ones that wait for nothing, so they are all woken on
   * every release (one wake could land on one that needs no slot, and a
   * waiting one would sleep until the next release, perhaps forever). */
  bool try_acquire (Clock::time_point now, double & retry_in, guint waiter = 0);
  /* A request finished, whatever the outcome: frees its slot, wakes. */
  void release ();
  /* A 429: no token before now + retry_delay_s (the server's RetryInfo, at
   * most an hour), and the shared rate halves (at most once per 5 s: the
   * 429s of requests sent before the decrease come back at once and must not
   * compound it; never below 1 rpm). Without a configured rate only the
   * hold applies: everyone sharing the quota waits out the server's delay.
   * The rate then recovers linearly, by 10% of the configured rate per
   * minute, back to the configured rate. */
  void on_rate_limited (Clock::time_point now, std::optional<double> retry_delay_s);

  /* `waker` is called without the limiter's lock, from whichever thread
   * frees a slot: it should only schedule work on its own context
   * (g_main_context_invoke) and may call back into the limiter. */
  guint subscribe (std::function<void ()> waker);
  /* A wake the subscriber got but did not use passes on to the next. A
   * release () on another thread may still be running a copy of the waker
   * when this returns: let it hold references (the GMainContext, shared
   * state), not raw pointers to what is about to go. */
  void unsubscribe (guint id);

  /* Each element attaches its settings while it runs, detaches when it
   * stops. */
  guint attach (const RateLimitSettings & s);
  void detach (guint id);

  struct Snapshot {
    double effective_rpm;       /* 0: unlimited */
    guint in_flight;
    guint cap;                  /* 0: none */
    double tokens;
    guint rate_limited_events;  /* every 429, including those that did not slow down */
  };
  Snapshot snapshot (Clock::time_point now) const;

private:
  using Wakers = std::vector<std::function<void ()>>;
  struct Subscriber {
    std::function<void ()> waker;
    bool identified = false;   /* has passed its id to try_acquire () */
    bool queued = false;
    bool woken = false;        /* woken from the queue, has not used it yet */
  };

  double configured_rpm_locked () const;
  guint cap_locked () const;
  double effective_rpm_locked (Clock::time_point t) const;
  double tokens_at_locked (Clock::time_point now) const;
  void refill_locked (Clock::time_point now);
  Wakers wakers_locked (guint free_slots);

  mutable std::mutex lock_;
  std::map<guint, RateLimitSettings> users_;
  std::map<guint, Subscriber> subscribers_;
  std::deque<guint> queue_;                  /* refused for a slot, oldest first */
  guint next_id_ = 1;
  guint in_flight_ = 0;
  double tokens_ = 1;
  std::optional<Clock::time_point> refilled_;
  std::deque<Clock::time_point> granted_;    /* grants of the last minute */
  bool backoff_ = false;
  double backoff_rpm_ = 0;                   /* the rate set by the last decrease */
  double backoff_target_ = 0;                /* recovered to when none is configured */
  Clock::time_point decreased_at_;
  Clock::time_point hold_until_ = Clock::time_point::min ();
  guint events_ = 0;
};

/* A sharing scope: limiters are shared within one. There is one
 * process-wide default; an application that wants elements to share (or
 * not) makes its own and hands it to them through a GstContext. */
class RateLimitScope {
public:
  static std::shared_ptr<RateLimitScope> process_default ();

  /* The limiter for (origin of `endpoint`, key, model): created on first
   * use, kept while anyone holds it. Only the key's SHA-256 is stored. */
  std::shared_ptr<RateLimiter> limiter_for (const std::string & endpoint, const std::string & api_key,
      const std::string & model);

  /* The live limiters, one a line ("origin model sha256-of-key"), for logs
   * and tests. */
  std::string describe () const;

private:
  mutable std::mutex lock_;
  std::map<std::string, std::weak_ptr<RateLimiter>> limiters_;
};

/* As souphttpsrc shares its SoupSession: a persistent context of this type
 * whose structure holds the scope in the field "scope", of the boxed type
 * GstGeminiRateLimitScope (a heap-allocated std::shared_ptr<RateLimitScope>). */
#define GEMINI_RATE_LIMIT_CONTEXT_TYPE "gst-gemini.rate-limit-scope"

GType rate_limit_scope_get_type ();
GstContext *rate_limit_scope_context_new (std::shared_ptr<RateLimitScope> scope);
/* nullptr when `context` is not one of ours. */
std::shared_ptr<RateLimitScope> rate_limit_scope_from_context (GstContext * context);

}  // namespace gemini
