/* gst-gemini: the request quota shared by the elements that spend it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-ratelimit.h"

#include "gemini-endpoint.h"
#include "glib-raii.h"

#include <algorithm>
#include <cmath>

namespace gemini {

namespace {

constexpr double kBurst = 1;                /* tokens: see the class comment */
constexpr double kEpsilon = 1e-9;           /* a token summed from many small refills */
constexpr double kMinRpm = 1;
constexpr double kRecoveryPerMinute = 0.1;  /* of the target rate */
constexpr double kDecreaseGuardS = 5;
constexpr double kMaxHoldS = 3600;          /* a server's retry delay, read without trust */

double
secs (RateLimiter::Clock::duration d)
{
  return std::chrono::duration<double> (d).count ();
}

}  // namespace

double
RateLimiter::configured_rpm_locked () const
{
  double rpm = 0;
  for (const auto & [id, s] : users_)
    if (s.requests_per_minute > 0 && (rpm == 0 || s.requests_per_minute < rpm))
      rpm = s.requests_per_minute;
  return rpm;
}

guint
RateLimiter::cap_locked () const
{
  guint cap = 0;
  for (const auto & [id, s] : users_)
    if (s.max_concurrent > 0 && (cap == 0 || s.max_concurrent < cap))
      cap = s.max_concurrent;
  return cap;
}

/* Computed, not stored: recovery needs no timer. */
double
RateLimiter::effective_rpm_locked (Clock::time_point t) const
{
  double configured = configured_rpm_locked ();
  if (!backoff_)
    return configured;
  double target = configured > 0 ? configured : backoff_target_;
  double r = backoff_rpm_ + kRecoveryPerMinute * target * std::max (0.0, secs (t - decreased_at_)) / 60;
  return r >= target ? configured : r;
}

double
RateLimiter::tokens_at_locked (Clock::time_point now) const
{
  if (!refilled_)
    return kBurst;
  /* Callers on other threads may bring a slightly older `now`. */
  if (now <= *refilled_)
    return tokens_;
  /* The rate at the middle of the interval: exact while it recovers linearly. */
  double rate = effective_rpm_locked (*refilled_ + (now - *refilled_) / 2);
  if (rate <= 0)
    return kBurst;
  return std::min (kBurst, tokens_ + secs (now - *refilled_) * rate / 60);
}

void
RateLimiter::refill_locked (Clock::time_point now)
{
  tokens_ = tokens_at_locked (now);
  if (!refilled_ || now > *refilled_)
    refilled_ = now;
  if (backoff_ && effective_rpm_locked (now) == configured_rpm_locked ())
    backoff_ = false;
  while (!granted_.empty () && now - granted_.front () >= std::chrono::minutes (1))
    granted_.pop_front ();
}

/* Whom to wake when slots may have freed: the oldest queued subscribers,
 * one per slot, and every anonymous one. Called outside the lock by the
 * caller. */
RateLimiter::Wakers
RateLimiter::wakers_locked (guint free_slots)
{
  Wakers out;
  for (; free_slots > 0 && !queue_.empty (); free_slots--) {
    Subscriber & sub = subscribers_.at (queue_.front ());
    queue_.pop_front ();
    sub.queued = false;
    sub.woken = true;
    out.push_back (sub.waker);
  }
  for (const auto & [id, sub] : subscribers_)
    if (!sub.identified)
      out.push_back (sub.waker);
  return out;
}

bool
RateLimiter::try_acquire (Clock::time_point now, double & retry_in, guint waiter)
{
  std::lock_guard<std::mutex> guard (lock_);
  refill_locked (now);
  auto sub = subscribers_.find (waiter);
  if (sub != subscribers_.end ())
    sub->second.identified = true;

  double rate = effective_rpm_locked (now);
  retry_in = 0;
  if (now < hold_until_)
    retry_in = secs (hold_until_ - now);
  if (rate > 0 && tokens_ < 1 - kEpsilon)
    retry_in = std::max (retry_in, (1 - tokens_) * 60 / rate);
  guint cap = cap_locked ();
  bool slot = cap == 0 || in_flight_ < cap;

  if (!slot && sub != subscribers_.end ()) {
    sub->second.woken = false;
    if (!sub->second.queued) {
      sub->second.queued = true;
      queue_.push_back (waiter);
    }
  }
  if (!slot || retry_in > 0)
    return false;

  if (rate > 0)
    tokens_ = std::max (0.0, tokens_ - 1);
  in_flight_++;
  granted_.push_back (now);
  if (sub != subscribers_.end ()) {
    sub->second.woken = false;
    if (sub->second.queued) {
      sub->second.queued = false;
      queue_.erase (std::find (queue_.begin (), queue_.end (), waiter));
    }
  }
  return true;
}

void
RateLimiter::release ()
{
  Wakers wake;
  {
    std::lock_guard<std::mutex> guard (lock_);
    if (in_flight_ > 0)
      in_flight_--;
    guint cap = cap_locked ();
    if (cap == 0 || in_flight_ < cap)
      wake = wakers_locked (1);
  }
  for (auto & w : wake)
    w ();
}

void
RateLimiter::on_rate_limited (Clock::time_point now, std::optional<double> retry_delay_s)
{
  std::lock_guard<std::mutex> guard (lock_);
  refill_locked (now);
  events_++;
  if (retry_delay_s && *retry_delay_s > 0) {   /* false for NaN too */
    auto hold = std::chrono::duration<double> (std::min (*retry_delay_s, kMaxHoldS));
    hold_until_ = std::max (hold_until_, now + std::chrono::duration_cast<Clock::duration> (hold));
  }
  if (backoff_ && secs (now - decreased_at_) < kDecreaseGuardS)
    return;
  double current = effective_rpm_locked (now);
  if (current <= 0) {
    /* Nothing configured: every sharer holds until the server's retry
     * delay has passed, and no rate is invented. A rate guessed from a
     * minute that has barely started (one request: 1 rpm after halving)
     * would stall a batch for a minute per request. */
    return;
  }
  backoff_rpm_ = std::max (kMinRpm, current / 2);
  backoff_ = true;
  decreased_at_ = now;
  tokens_ = 0;   /* no credit carried over a refusal */
}

guint
RateLimiter::subscribe (std::function<void ()> waker)
{
  std::lock_guard<std::mutex> guard (lock_);
  guint id = next_id_++;
  subscribers_[id].waker = std::move (waker);
  return id;
}

void
RateLimiter::unsubscribe (guint id)
{
  Wakers wake;
  {
    std::lock_guard<std::mutex> guard (lock_);
    auto it = subscribers_.find (id);
    if (it == subscribers_.end ())
      return;
    bool pass_on = it->second.woken;
    if (it->second.queued)
      queue_.erase (std::find (queue_.begin (), queue_.end (), id));
    subscribers_.erase (it);
    if (pass_on) {
      guint cap = cap_locked ();
      if (cap == 0 || in_flight_ < cap)
        wake = wakers_locked (1);
    }
  }
  for (auto & w : wake)
    w ();
}

guint
RateLimiter::attach (const RateLimitSettings & s)
{
  std::lock_guard<std::mutex> guard (lock_);
  guint id = next_id_++;
  users_[id] = s;
  return id;
}

void
RateLimiter::detach (guint id)
{
  Wakers wake;
  {
    std::lock_guard<std::mutex> guard (lock_);
    if (users_.erase (id) == 0)
      return;
    /* A looser cap frees slots that no release () will announce. */
    guint cap = cap_locked ();
    if (cap == 0 || in_flight_ < cap)
      wake = wakers_locked (cap == 0 ? G_MAXUINT : cap - in_flight_);
  }
  for (auto & w : wake)
    w ();
}

RateLimiter::Snapshot
RateLimiter::snapshot (Clock::time_point now) const
{
  std::lock_guard<std::mutex> guard (lock_);
  return Snapshot {effective_rpm_locked (now), in_flight_, cap_locked (), tokens_at_locked (now), events_};
}

std::shared_ptr<RateLimitScope>
RateLimitScope::process_default ()
{
  /* Never destroyed: elements may still ask while the process exits. */
  static auto *scope = new std::shared_ptr<RateLimitScope> (std::make_shared<RateLimitScope> ());
  return *scope;
}

std::shared_ptr<RateLimiter>
RateLimitScope::limiter_for (const std::string & endpoint, const std::string & api_key,
    const std::string & model)
{
  /* The origin: the path does not change the quota, userinfo must not be kept. */
  std::string origin = url_origin (endpoint);
  GCharPtr hash (g_compute_checksum_for_data (G_CHECKSUM_SHA256,
      reinterpret_cast<const guchar *> (api_key.data ()), api_key.size ()));
  std::string id = (origin.empty () ? redact_url (endpoint) : origin) + " " + model + " " + hash.get ();

  std::lock_guard<std::mutex> guard (lock_);
  std::erase_if (limiters_, [] (const auto & kv) { return kv.second.expired (); });
  std::weak_ptr<RateLimiter> & slot = limiters_[id];
  std::shared_ptr<RateLimiter> limiter = slot.lock ();
  if (!limiter) {
    limiter = std::make_shared<RateLimiter> ();
    slot = limiter;
  }
  return limiter;
}

std::string
RateLimitScope::describe () const
{
  std::lock_guard<std::mutex> guard (lock_);
  std::string out;
  for (const auto & [id, limiter] : limiters_)
    if (!limiter.expired ())
      out += id + "\n";
  return out;
}

namespace {

using ScopeBox = std::shared_ptr<RateLimitScope>;

gpointer
scope_box_copy (gpointer box)
{
  return new ScopeBox (*static_cast<ScopeBox *> (box));
}

void
scope_box_free (gpointer box)
{
  delete static_cast<ScopeBox *> (box);
}

}  // namespace

GType
rate_limit_scope_get_type ()
{
  /* The plugin and a program that links this library may both register it. */
  static const GType type = [] {
    GType t = g_type_from_name ("GstGeminiRateLimitScope");
    return t ? t : g_boxed_type_register_static ("GstGeminiRateLimitScope", scope_box_copy, scope_box_free);
  } ();
  return type;
}

GstContext *
rate_limit_scope_context_new (std::shared_ptr<RateLimitScope> scope)
{
  GstContext *context = gst_context_new (GEMINI_RATE_LIMIT_CONTEXT_TYPE, TRUE);
  GstStructure *s = gst_context_writable_structure (context);
  gst_structure_set (s, "scope", rate_limit_scope_get_type (), &scope, nullptr);
  return context;
}

std::shared_ptr<RateLimitScope>
rate_limit_scope_from_context (GstContext * context)
{
  if (!context || g_strcmp0 (gst_context_get_context_type (context), GEMINI_RATE_LIMIT_CONTEXT_TYPE) != 0)
    return nullptr;
  const GValue *v = gst_structure_get_value (gst_context_get_structure (context), "scope");
  if (!v || !G_VALUE_HOLDS (v, rate_limit_scope_get_type ()))
    return nullptr;
  auto *box = static_cast<const ScopeBox *> (g_value_get_boxed (v));
  return box ? *box : nullptr;
}

}  // namespace gemini
