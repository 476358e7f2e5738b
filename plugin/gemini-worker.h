/* gst-gemini: run a piece of CPU work so that the caller can stop waiting.
 *
 * Parsing a multi-megabyte answer with a recursive parser cannot be
 * interrupted from inside. A state change must still return within
 * milliseconds, so the work runs on a thread of its own that the caller can
 * abandon: the caller stops waiting at once, the thread finishes alone and
 * frees what it owns. `fn` must therefore own everything it touches
 * (capture by value: references, strings, GBytes refs).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

namespace gemini {

/* How often a waiting caller looks at the cancel flag: its cancel latency. */
inline constexpr std::chrono::milliseconds kAbandonPoll {2};

/* Runs `fn` on a new thread and returns its result, or std::nullopt as soon
 * as `*cancel` is true (checked before starting and every kAbandonPoll).
 * Without a flag, or when no thread can be started, `fn` runs on the
 * calling thread. */
template <typename Fn>
auto
run_abandonable (Fn fn, const std::atomic<bool> *cancel) -> std::optional<decltype (fn ())>
{
  using T = decltype (fn ());
  if (cancel && cancel->load ())
    return std::nullopt;
  if (!cancel)
    return fn ();

  /* Shared with the thread; whichever lets go last frees it. */
  struct State {
    std::mutex lock;
    std::condition_variable cond;
    bool done = false;
    std::optional<T> result;
    std::exception_ptr error;   /* what fn threw, rethrown to a caller that waited */
    Fn fn;
    explicit State (Fn && f) : fn (std::move (f)) {}
  };
  auto state = std::make_shared<State> (std::move (fn));
  std::thread thread;
  try {
    thread = std::thread ([state] {
      /* An exception must not escape a thread (std::terminate). */
      std::optional<T> value;
      std::exception_ptr error;
      try {
        value.emplace (state->fn ());
      } catch (...) {
        error = std::current_exception ();
      }
      std::lock_guard<std::mutex> lk (state->lock);
      state->result = std::move (value);
      state->error = error;
      state->done = true;
      state->cond.notify_all ();
    });
  } catch (const std::system_error &) {
    return state->fn ();
  }

  std::unique_lock<std::mutex> lk (state->lock);
  while (!state->done) {
    if (cancel->load ()) {
      lk.unlock ();
      thread.detach ();
      return std::nullopt;
    }
    state->cond.wait_for (lk, kAbandonPoll);
  }
  lk.unlock ();
  thread.join ();
  if (state->error)
    std::rethrow_exception (state->error);
  return std::move (state->result);
}

/* Runs `fn` on a new thread that nobody waits for: CPU work whose result
 * goes back by a callback (the attempt runner's body building, parsing and
 * decoding). `fn` must own what it touches. On the calling thread when no
 * thread can be started. */
inline void
run_detached (const std::function<void ()> & fn)
{
  try {
    std::thread (fn).detach ();
  } catch (const std::system_error &) {
    fn ();
  }
}

}  // namespace gemini
