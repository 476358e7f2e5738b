/* gst-gemini: one image's attempts — the request, its retries, its deadline.
 *
 * An AttemptRunner takes one RequestSpec and tries until it has an image or
 * a reason why not: per-class budgets (transient, 429, "the model drew
 * nothing"), exponential backoff that honours the server's RetryInfo and
 * Retry-After, a per-attempt timeout and a deadline for the whole image. It
 * knows nothing of GstElement. Its state lives on the HTTP engine's thread:
 * requests complete there, backoff waits are timers there, and the CPU work
 * (building a body with megabytes of base64, classifying megabytes of JSON,
 * decoding) runs on worker threads that nothing waits for. So cancel()
 * returns at once and no thread sleeps while a request is outstanding.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "gemini-cache.h"
#include "gemini-http.h"
#include "gemini-image.h"
#include "gemini-model-list.h"
#include "gemini-protocol.h"
#include "gemini-request.h"

namespace gemini {

/* What one image came to. */
struct Generated {
  Response response;
  DecodedImage image;
  guint attempts = 0;
  double elapsed_s = 0;
  bool from_cache = false;
  /* Why the runner stopped retrying, when that is not the answer itself. */
  std::string gave_up;
  /* After a 404 for the model: the image models ListModels named, or why
   * the list could not be read. Appended to the error. */
  std::string models_hint;
  std::string available_models;
  /* What the failure usually means on this API (Vertex AI: an expired
   * token, a location without the model). Appended to the error. */
  std::string hint;
  /* The model that answered: the spec's, or another of its family after a
   * 404 for an alias. */
  std::string model;
  /* With AttemptPolicy::keep_model_content and an image (from the network or
   * the cache): the answer's candidates[0].content as JSON text, a Turn's
   * model_content. "" otherwise. Moved out of response.model_content. */
  std::string model_content;
};

/* A retry about to wait, for the `gemini-retry` message. */
struct RetryNotice {
  guint attempt = 0;
  Outcome outcome = Outcome::MalformedResponse;
  guint http_status = 0;
  double delay = 0;
  std::string reason;
};

class AttemptRunner : public std::enable_shared_from_this<AttemptRunner> {
public:
  struct Events {
    /* Called on the engine thread; none may block. */
    std::function<void (const RetryNotice &)> retry;
    std::function<void (const char *property, const std::string & text)> warning;
    /* A 404 for an alias's model, and another model of the family in the
     * key's list: later images should use `model`. */
    std::function<void (const std::string & alias, const std::string & model)> alias_moved;
    /* Admission for each request (a shared rate limiter): call `go` on the
     * engine thread when the request may be sent. Unset: sent at once. */
    std::function<void (const std::string & model, std::function<void ()> go)> acquire;
    /* Each admitted request, when it ended (any outcome). */
    std::function<void (const std::string & model)> release;
    /* A 429, with the delay the server asked for. */
    std::function<void (const std::string & model, std::optional<double> retry_delay_s)> rate_limited;
    /* With AttemptPolicy::previews: each draft (thought) image of a
     * stream, decoded, numbered from 0 across the image's attempts, on the
     * engine thread, before `done`. Drafts that do not decode are skipped. */
    std::function<void (DecodedImage, guint index_of_preview)> preview;
    /* Exactly once, on any thread: the result, or a Cancelled response. */
    std::function<void (Generated)> done;
  };

  /* Starts at once (the body is built on a worker). `engine` must be
   * running; the runner holds it weakly and stops when it is gone. With a
   * `cache`, a request whose answer is cached costs no request, and an
   * image that decoded is stored. */
  static std::shared_ptr<AttemptRunner> start (std::weak_ptr<HttpEngine> engine, RequestSpec spec,
      Target target, AttemptPolicy policy, Events events, std::shared_ptr<ResponseCache> cache = nullptr);

  /* Thread-safe, idempotent, returns at once: the request in flight and the
   * backoff timer are cancelled, a worker's result is dropped, and `done`
   * gets a Cancelled response (unless it was called already). */
  void cancel ();

  const RequestSpec & spec () const { return spec_; }

  AttemptRunner (std::weak_ptr<HttpEngine> engine, RequestSpec spec, Target target,
      AttemptPolicy policy, Events events);
  ~AttemptRunner ();

private:
  using Clock = std::chrono::steady_clock;

  std::weak_ptr<HttpEngine> engine_;
  const RequestSpec spec_;
  const Target target_;
  const AttemptPolicy policy_;
  std::shared_ptr<ResponseCache> cache_;
  std::string cache_key_;               /* set by the body worker */

  std::mutex lock_;
  Events events_;                       /* cleared once done */
  /* Kept after done: admission must be given back whenever it ends. */
  std::function<void (const std::string &, std::function<void ()>)> acquire_;
  std::function<void (const std::string &)> release_;
  std::function<void (const std::string &, std::optional<double>)> rate_limited_cb_;
  std::string admitted_model_;           /* the model the admission was for */
  bool finished_ = false;
  std::shared_ptr<HttpCall> call_;      /* in flight */
  std::shared_ptr<HttpEngine::Timer> timer_;   /* backoff or attempt timeout */
  /* Read by workers (decode, body building) between steps. */
  std::atomic<bool> cancelled_ {false};

  /* Engine-thread state. */
  Clock::time_point start_;
  Clock::time_point deadline_;
  Generated g_;
  GBytesPtr body_;
  std::string model_;                   /* current model id */
  std::string url_;
  guint transient_ = 0, rate_limited_ = 0, content_ = 0;
  bool listed_models_ = false;
  bool admitted_ = false;
  bool timed_out_ = false;
  bool reported_rate_limit_ = false;    /* this answer's 429 already went to the limiter */
  static constexpr gsize kSmallBody = 64 * 1024;
  /* Drafts decoded per attempt: a hostile stream could send thousands. */
  static constexpr guint kMaxPreviewsPerAttempt = 8;
  /* The stream of the attempt in flight (previews). */
  struct Stream;
  std::shared_ptr<Stream> stream_;
  std::atomic<guint> previews_ {0};
  double attempt_bound_s_ = 0;

  DecodeLimits decode_limits () const;
  bool decode_for_output (GBytes * bytes, const DecodeLimits & limits, DecodedImage & out,
      std::string & error) const;
  void build_body ();
  void after_body (GBytesPtr body);
  bool try_cache (GBytes * body);
  void store_in_cache (const Response & r);
  void send_attempt ();
  void on_admitted ();
  void on_response (const std::shared_ptr<HttpCall> & call);
  void on_classified (Response r, DecodedImage image);
  bool on_stream_bytes (const std::shared_ptr<Stream> & stream, const guint8 * data, gsize size);
  void stream_post (const std::shared_ptr<Stream> & stream, std::string event, bool end);
  void stream_drain (const std::shared_ptr<Stream> & stream);
  void stream_finish (const std::shared_ptr<Stream> & stream);
  void finish_response (Response r);
  void handle (Response r);
  void list_models (std::string token, std::shared_ptr<std::vector<ListedModel>> models, guint page);
  void after_list (bool complete, const std::string & error, const std::vector<ListedModel> & models);
  void add_vertex_hint ();
  void finish (Generated g);
  void finish_cancelled ();
  /* Runs `fn` on the engine thread after `seconds` unless cancelled; false
   * (and done, as cancelled) when the engine is gone. `keep`: the timer is
   * the one cancel() stops (a backoff, an attempt's timeout); hops from a
   * worker back to the engine thread are not kept. */
  bool schedule (double seconds, std::function<void (AttemptRunner &)> fn, bool keep);
  /* A copy of one callback, taken under the lock (finish clears them). */
  template <typename F>
  F event (F Events::*member)
  {
    std::lock_guard<std::mutex> lk (lock_);
    return events_.*member;
  }
  void release_admission ();
  bool arm_timeout (double seconds);
};

}  // namespace gemini
