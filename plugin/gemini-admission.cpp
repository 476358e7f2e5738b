/* gst-gemini: admission through the shared rate limiter. See
 * gemini-admission.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-admission.h"

namespace gemini {

AdmissionGate::AdmissionGate (std::weak_ptr<HttpEngine> engine, std::shared_ptr<RateLimitScope> scope,
    std::string endpoint, std::string api_key, RateLimitSettings settings)
    : engine_ (std::move (engine)), scope_ (std::move (scope)), endpoint_ (std::move (endpoint)),
      api_key_ (std::move (api_key)), settings_ (settings)
{
}

AdmissionGate::~AdmissionGate ()
{
  close ();
  for (auto & [model, e] : limiters_) {
    e.limiter->unsubscribe (e.waker_id);
    e.limiter->detach (e.attach_id);
  }
}

void
AdmissionGate::close ()
{
  std::shared_ptr<HttpEngine::Timer> timer;
  {
    std::lock_guard<std::mutex> lk (lock_);
    closed_ = true;
    queue_.clear ();
    timer = std::move (timer_);
  }
  if (timer)
    timer->cancel ();
}

AdmissionGate::Entry &
AdmissionGate::entry_locked (const std::string & model)
{
  auto it = limiters_.find (model);
  if (it != limiters_.end ())
    return it->second;
  Entry e;
  e.limiter = scope_->limiter_for (endpoint_, api_key_, model);
  e.attach_id = e.limiter->attach (settings_);
  /* The waker runs on the releasing thread (another element's, maybe):
   * it only schedules a drain on this gate's engine thread. */
  std::weak_ptr<AdmissionGate> weak = weak_from_this ();
  e.waker_id = e.limiter->subscribe ([weak] {
    if (auto self = weak.lock ())
      self->poke ();
  });
  return limiters_.emplace (model, std::move (e)).first->second;
}

void
AdmissionGate::acquire (const std::string & model, std::function<void ()> go)
{
  {
    std::lock_guard<std::mutex> lk (lock_);
    if (closed_)
      return;
    queue_.push_back (Waiting {model, std::move (go)});
  }
  drain ();
}

void
AdmissionGate::release (const std::string & model)
{
  std::shared_ptr<RateLimiter> limiter;
  {
    std::lock_guard<std::mutex> lk (lock_);
    auto it = limiters_.find (model);
    if (it != limiters_.end ())
      limiter = it->second.limiter;
  }
  /* Wakes waiters, maybe this gate's own: outside the lock. */
  if (limiter)
    limiter->release ();
}

void
AdmissionGate::rate_limited (const std::string & model, std::optional<double> retry_delay_s)
{
  std::shared_ptr<RateLimiter> limiter;
  {
    std::lock_guard<std::mutex> lk (lock_);
    limiter = entry_locked (model).limiter;
  }
  limiter->on_rate_limited (RateLimiter::Clock::now (), retry_delay_s);
}

void
AdmissionGate::poke ()
{
  auto engine = engine_.lock ();
  if (!engine)
    return;
  std::weak_ptr<AdmissionGate> weak = weak_from_this ();
  engine->add_timer (0, [weak] {
    if (auto self = weak.lock ())
      self->drain ();
  });
}

void
AdmissionGate::drain ()
{
  for (;;) {
    std::function<void ()> go;
    double retry_in = 0;
    {
      std::lock_guard<std::mutex> lk (lock_);
      if (closed_ || queue_.empty ())
        return;
      Entry & e = entry_locked (queue_.front ().model);
      if (!e.limiter->try_acquire (RateLimiter::Clock::now (), retry_in, e.waker_id)) {
        if (retry_in > 0 && !timer_) {
          /* A token is due later: one timer for the head of the queue. */
          if (auto engine = engine_.lock ()) {
            std::weak_ptr<AdmissionGate> weak = weak_from_this ();
            timer_ = engine->add_timer (retry_in, [weak] {
              if (auto self = weak.lock ()) {
                {
                  std::lock_guard<std::mutex> lk2 (self->lock_);
                  self->timer_.reset ();
                }
                self->drain ();
              }
            });
          }
        }
        /* retry_in == 0: a slot is missing; the waker comes. */
        return;
      }
      go = std::move (queue_.front ().go);
      queue_.pop_front ();
    }
    go ();
  }
}

}  // namespace gemini
