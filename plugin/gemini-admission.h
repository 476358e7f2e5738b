/* gst-gemini: admission of each request through the shared rate limiter.
 *
 * The scheduler's runners ask before each request; the gate answers on the
 * HTTP engine's thread: at once, after a timer (a token is due in X s), or
 * when the limiter's waker says a slot freed. Requests wait in one FIFO per
 * element, so an image never overtakes an earlier one. Nothing sleeps and
 * nothing polls.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "gemini-http.h"
#include "gemini-ratelimit.h"

namespace gemini {

class AdmissionGate : public std::enable_shared_from_this<AdmissionGate> {
public:
  /* Limiters come from `scope`, one per (endpoint, key, model); each is
   * attached with `settings` while the gate lives. */
  AdmissionGate (std::weak_ptr<HttpEngine> engine, std::shared_ptr<RateLimitScope> scope,
      std::string endpoint, std::string api_key, RateLimitSettings settings);
  ~AdmissionGate ();

  /* Calls `go` on the engine thread once a request for `model` may be sent. */
  void acquire (const std::string & model, std::function<void ()> go);
  void release (const std::string & model);
  void rate_limited (const std::string & model, std::optional<double> retry_delay_s);
  /* Drops every waiting request (their `go` never runs). */
  void close ();

private:
  struct Entry {
    std::shared_ptr<RateLimiter> limiter;
    guint attach_id = 0;
    guint waker_id = 0;
  };
  struct Waiting {
    std::string model;
    std::function<void ()> go;
  };

  std::weak_ptr<HttpEngine> engine_;
  std::shared_ptr<RateLimitScope> scope_;
  const std::string endpoint_, api_key_;
  const RateLimitSettings settings_;

  std::mutex lock_;
  std::map<std::string, Entry> limiters_;
  std::deque<Waiting> queue_;
  std::shared_ptr<HttpEngine::Timer> timer_;
  bool closed_ = false;

  Entry & entry_locked (const std::string & model);
  /* On the engine thread: admits from the head of the queue while the
   * limiter says go; arms a timer or waits for a waker otherwise. */
  void drain ();
  void poke ();
};

}  // namespace gemini
