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

#include <glib.h>

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

/* Runs `fn` on a worker thread that nobody waits for: CPU work whose
 * result goes back by a callback (the attempt runner's body building,
 * parsing and decoding). `fn` must own what it touches. The threads are
 * GLib's shared pool, reused: a new thread per image would give malloc a
 * new arena each time and grow the process (measured: +21 MB of RSS over
 * 250 images with 4 in flight). Unbounded, so that a task never waits for
 * another. On the calling thread when the pool refuses. */
inline void
run_detached (const std::function<void ()> & fn)
{
  using Task = std::function<void ()>;
  static GThreadPool *pool = g_thread_pool_new ([] (gpointer data, gpointer) {
        std::unique_ptr<Task> task (static_cast<Task *> (data));
        (*task) ();
      }, nullptr, -1, FALSE, nullptr);
  auto task = std::make_unique<Task> (fn);
  if (pool && g_thread_pool_push (pool, task.get (), nullptr)) {
    task.release ();
    return;
  }
  fn ();
}

}  // namespace gemini
