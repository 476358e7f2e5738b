/* gst-gemini: one image's attempts, as a state machine on the HTTP engine's
 * thread. See gemini-attempt.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-attempt.h"

#include <gst/gst.h>

#include <algorithm>
#include <cmath>
#include <deque>

#include "gemini-endpoint.h"
#include "gemini-models.h"
#include "gemini-sse.h"
#include "gemini-worker.h"

GST_DEBUG_CATEGORY_STATIC (gemini_attempt_debug);
#define GST_CAT_DEFAULT gemini_attempt_debug

namespace gemini {

namespace {

void
init_debug ()
{
  static std::once_flag once;
  std::call_once (once, [] {
    GST_DEBUG_CATEGORY_INIT (gemini_attempt_debug, "geminiattempt", 0, "gst-gemini attempt runner");
  });
}

/* "4.0 s", "3m10s", "2h05m"; any finite or infinite value, no integer
 * overflow (a server may ask for 1e10 s). */
std::string
format_duration (double seconds)
{
  GCharPtr s;
  if (!(seconds < 1e6))
    s.reset (g_strdup_printf ("%.3g s", seconds));
  else if (seconds >= 3600)
    s.reset (g_strdup_printf ("%dh%02dm", (int) (seconds / 3600), (int) std::fmod (seconds / 60, 60)));
  else if (seconds >= 60)
    s.reset (g_strdup_printf ("%dm%02ds", (int) (seconds / 60), (int) std::fmod (seconds, 60)));
  else
    s.reset (g_strdup_printf ("%.1f s", seconds));
  return s.get ();
}

/* Exponential backoff with up to 10% jitter; never shorter than the delay
 * the server asked for (RetryInfo.retryDelay or Retry-After). */
double
retry_delay (const AttemptPolicy & p, guint retry, const Response & r)
{
  double backoff = std::min (p.retry_backoff * std::pow (2.0, retry - 1.0), p.retry_backoff_max);
  backoff *= 1.0 + g_random_double_range (0.0, 0.1);
  if (r.retry_delay_seconds)
    backoff = std::max (backoff, *r.retry_delay_seconds);
  return backoff;
}

/* The credential goes in a header only, never in the URL: the logger
 * (gemini-http.cpp) redacts both headers. */
void
add_auth_headers (const Target & target, HttpRequest & req)
{
  if (!target.access_token.empty ())
    req.headers.emplace_back ("Authorization", "Bearer " + target.access_token);
  else
    req.headers.emplace_back ("x-goog-api-key", target.api_key);
}

std::string
plural_attempts (guint n)
{
  return std::to_string (n) + (n == 1 ? " attempt" : " attempts");
}

}  // namespace

AttemptRunner::AttemptRunner (std::weak_ptr<HttpEngine> engine, RequestSpec spec, Target target,
    AttemptPolicy policy, Events events)
    : engine_ (std::move (engine)), spec_ (std::move (spec)), target_ (std::move (target)),
      policy_ (policy), events_ (std::move (events))
{
  init_debug ();
  acquire_ = events_.acquire;
  release_ = events_.release;
  rate_limited_cb_ = events_.rate_limited;
}

AttemptRunner::~AttemptRunner ()
{
  GST_TRACE ("runner %p for image %" G_GUINT64_FORMAT " freed", this, spec_.index);
}

std::shared_ptr<AttemptRunner>
AttemptRunner::start (std::weak_ptr<HttpEngine> engine, RequestSpec spec, Target target,
    AttemptPolicy policy, Events events, std::shared_ptr<ResponseCache> cache)
{
  /* Previews are the thought parts: asked for in the body (and so in the
   * cache key). */
  if (policy.previews)
    spec.request.include_thoughts = true;
  auto r = std::make_shared<AttemptRunner> (std::move (engine), std::move (spec), std::move (target),
      policy, std::move (events));
  r->cache_ = std::move (cache);
  r->start_ = Clock::now ();
  r->deadline_ = r->start_ + std::chrono::seconds (r->policy_.deadline);
  r->model_ = r->spec_.model;
  r->g_.model = r->model_;
  r->url_ = target_request_url (r->target_, r->model_, r->policy_.previews);
  r->build_body ();
  return r;
}

/* One streamed attempt: the splitter runs on the engine thread (one linear
 * scan of each piece); the events, up to megabytes of JSON each, are parsed
 * in order on one worker at a time. */
struct AttemptRunner::Stream {
  explicit Stream (gsize max_event) : splitter (max_event) {}
  SseSplitter splitter;           /* engine thread */
  bool too_large = false;         /* engine thread */
  std::atomic<bool> abandoned {false};  /* the attempt ended otherwise */
  std::mutex lock;
  std::deque<std::string> queue;  /* events not parsed yet */
  bool ended = false;             /* the body ended: classify after the queue */
  bool busy = false;              /* a worker drains the queue */
  StreamAnswer answer;            /* the draining worker's */
  guint previews = 0;             /* the draining worker's */
};

void
AttemptRunner::cancel ()
{
  cancelled_.store (true);
  std::shared_ptr<HttpCall> call;
  std::shared_ptr<HttpEngine::Timer> timer;
  {
    std::lock_guard<std::mutex> lk (lock_);
    call = call_;
    timer = std::move (timer_);
  }
  if (timer)
    timer->cancel ();
  /* Its completion still runs on the engine thread, and gives the
   * admission back. */
  if (call)
    call->cancel ();
  finish_cancelled ();
}

bool
AttemptRunner::schedule (double seconds, std::function<void (AttemptRunner &)> fn, bool keep)
{
  auto engine = engine_.lock ();
  std::shared_ptr<HttpEngine::Timer> timer;
  if (engine) {
    auto self = shared_from_this ();
    timer = engine->add_timer (seconds, [self, fn = std::move (fn)] {
      if (!self->cancelled_.load ())
        fn (*self);
    });
  }
  if (!timer) {
    /* The engine stopped under us: nothing more can be sent. */
    finish_cancelled ();
    return false;
  }
  if (keep) {
    std::lock_guard<std::mutex> lk (lock_);
    timer_ = std::move (timer);
  }
  return true;
}

/* ----------------------------------------------------------------- body */

void
AttemptRunner::build_body ()
{
  /* Base64 of 75 MB of references takes over a second: on a worker. */
  auto self = shared_from_this ();
  run_detached ([self] {
    if (self->cancelled_.load ())
      return;
    auto body = std::make_shared<GBytesPtr> (build_request_body (self->spec_.request));
    if (self->cache_ && self->cache_->is_open () && self->try_cache (body->get ()))
      return;
    self->schedule (0, [body] (AttemptRunner & r) { r.after_body (std::move (*body)); }, false);
  });
}

/* On the body worker: the whole request (endpoint, model, body: prompt,
 * configuration and reference bytes; never the key or token) names the
 * entry. Vertex adds its name, project and location: the same prompt to
 * another API or project is another request. A hit that decodes is the
 * answer; anything else is a miss. */
bool
AttemptRunner::try_cache (GBytes * body)
{
  gsize size = 0;
  const char *data = static_cast<const char *> (g_bytes_get_data (body, &size));
  const std::string origin = url_origin (target_.endpoint);
  const std::string_view body_text (data ? data : "", size);
  /* Gemini's keep their three parts, so that existing entries stay valid;
   * the parts are length-prefixed, so six can never equal three. */
  cache_key_ = target_.api == Api::Vertex
      ? cache_key ({"vertex", origin, target_.project, target_.location, model_, body_text})
      : cache_key ({origin, model_, body_text});
  std::optional<CachedImage> hit = cache_->lookup (cache_key_);
  if (!hit)
    return false;
  /* An entry stored without the content cannot continue a conversation:
   * asked again, the answer replaces it with one that can. */
  if (policy_.keep_model_content && hit->model_content.empty ()) {
    GST_INFO ("image %" G_GUINT64_FORMAT ": the cached answer has no model content: asking again", spec_.index);
    return false;
  }
  DecodedImage image;
  const DecodeLimits limits = decode_limits ();
  std::string error;
  if (!decode_for_output (hit->image.get (), limits, image, error)) {
    GST_WARNING ("image %" G_GUINT64_FORMAT ": the cached image does not decode (%s): asking again",
        spec_.index, error.c_str ());
    return false;
  }
  Generated g;
  g.response.outcome = Outcome::Image;
  g.response.action = Action::Deliver;
  g.response.http_status = 200;
  g.response.image = std::move (hit->image);
  g.response.image_mime_type = hit->mime_type;
  g.response.model_version = hit->model_version;
  g.response.response_id = hit->response_id;
  g.response.finish_reason = hit->finish_reason;
  g.response.model_text = hit->model_text;
  g.response.usage.prompt_tokens = hit->prompt_tokens;
  g.response.usage.candidates_tokens = hit->candidates_tokens;
  g.response.usage.total_tokens = hit->total_tokens;
  g.image = std::move (image);
  g.from_cache = true;
  g.model = model_;
  if (policy_.keep_model_content)
    g.model_content = std::move (hit->model_content);
  GST_INFO ("image %" G_GUINT64_FORMAT ": from the cache", spec_.index);
  finish (std::move (g));
  return true;
}

/* How this job's images are decoded: its pixel limit, its cancellation,
 * and the layout and memory the output wants. */
DecodeLimits
AttemptRunner::decode_limits () const
{
  DecodeLimits limits;
  limits.max_pixels = policy_.max_image_pixels;
  limits.cancel = &cancelled_;
  limits.rgba = policy_.rgba;
  limits.store = policy_.frames;
  return limits;
}

/* The image's pixels, or with AttemptPolicy::header_only its size only
 * (the same refusals up to the pixels). */
bool
AttemptRunner::decode_for_output (GBytes * bytes, const DecodeLimits & limits, DecodedImage & out,
    std::string & error) const
{
  if (!policy_.header_only)
    return decode_image (bytes, limits, out, error);
  gsize size = 0;
  const guint8 *data = bytes ? static_cast<const guint8 *> (g_bytes_get_data (bytes, &size)) : nullptr;
  return read_image_header (data, size, limits, out, error);
}

/* On a worker, after an image decoded: kept for the next identical request.
 * A failure to store is not an error of the image. */
void
AttemptRunner::store_in_cache (const Response & r)
{
  if (!cache_ || !cache_->is_open () || cache_key_.empty () || !r.image)
    return;
  CachedImage entry;
  entry.image.reset (g_bytes_ref (r.image.get ()));
  entry.mime_type = r.image_mime_type;
  entry.model_version = r.model_version;
  entry.response_id = r.response_id;
  entry.finish_reason = r.finish_reason;
  entry.model_text = r.model_text;
  entry.prompt_tokens = r.usage.prompt_tokens;
  entry.candidates_tokens = r.usage.candidates_tokens;
  entry.total_tokens = r.usage.total_tokens;
  entry.model_content = r.model_content;
  std::string error;
  if (!cache_->store (cache_key_, entry, error))
    GST_INFO ("image %" G_GUINT64_FORMAT ": not cached: %s", spec_.index, error.c_str ());
}

void
AttemptRunner::after_body (GBytesPtr body)
{
  body_ = std::move (body);
  GST_INFO ("image %" G_GUINT64_FORMAT ": requesting from %s (%" G_GSIZE_FORMAT " request bytes, %"
      G_GSIZE_FORMAT " reference images)", spec_.index, model_.c_str (), g_bytes_get_size (body_.get ()),
      spec_.request.references.size ());
  send_attempt ();
}

/* -------------------------------------------------------------- attempts */

void
AttemptRunner::send_attempt ()
{
  g_.attempts++;
  auto self = shared_from_this ();
  if (acquire_)
    acquire_ (model_, [self] { self->on_admitted (); });
  else
    on_admitted ();
}

void
AttemptRunner::on_admitted ()
{
  admitted_ = true;
  admitted_model_ = model_;
  if (cancelled_.load ()) {
    release_admission ();
    return;
  }
  auto engine = engine_.lock ();
  if (!engine) {
    release_admission ();
    finish_cancelled ();
    return;
  }
  const auto now = Clock::now ();
  const auto bound = std::min (deadline_, now + std::chrono::seconds (policy_.request_timeout));
  attempt_bound_s_ = std::max (0.0, std::chrono::duration<double> (bound - now).count ());
  timed_out_ = false;
  if (attempt_bound_s_ <= 0) {
    /* The deadline passed while the request waited for admission (a rate
     * limit): nothing is sent. */
    release_admission ();
    handle (make_timeout_response (0));
    return;
  }

  HttpRequest req;
  req.url = url_;
  add_auth_headers (target_, req);
  req.body.reset (g_bytes_ref (body_.get ()));
  req.body_store = policy_.bodies;
  auto self = shared_from_this ();
  if (stream_)
    stream_->abandoned.store (true);
  stream_.reset ();
  if (policy_.previews) {
    /* One event is bounded by what a whole answer may be. */
    auto stream = std::make_shared<Stream> (policy_.max_response_size);
    stream_ = stream;
    req.on_body_chunk = [self, stream] (const guint8 * data, gsize size) {
      return self->on_stream_bytes (stream, data, size);
    };
  }

  /* The attempt's own bound: request-timeout, or what is left of the
   * deadline. Armed first: the send may complete at once. */
  if (!arm_timeout (attempt_bound_s_)) {
    release_admission ();
    return;
  }
  auto call = engine->send (std::move (req), [self] (const std::shared_ptr<HttpCall> & c) {
    self->on_response (c);
  });
  std::lock_guard<std::mutex> lk (lock_);
  if (!call->cancelled () && !finished_)
    call_ = std::move (call);
}

/* The bound of the request in flight: when it passes, the call is
 * cancelled and its completion reads as a timeout. */
bool
AttemptRunner::arm_timeout (double seconds)
{
  return schedule (seconds, [] (AttemptRunner & r) {
    r.timed_out_ = true;
    std::shared_ptr<HttpCall> call;
    {
      std::lock_guard<std::mutex> lk (r.lock_);
      call = r.call_;
    }
    if (call)
      call->cancel ();
  }, true);
}

void
AttemptRunner::release_admission ()
{
  if (admitted_) {
    admitted_ = false;
    if (release_)
      release_ (admitted_model_);
  }
}

void
AttemptRunner::on_response (const std::shared_ptr<HttpCall> & call)
{
  HttpResponse & http = call->response ();
  /* A 429 slows everyone who shares the quota: tell the limiter before the
   * slot is given back, or the slot's next taker goes out first. Its body
   * is small, so it is read here, on the engine thread. */
  if (!cancelled_.load () && !timed_out_ && !http.error && !http.too_large && http.status == 429
      && (!http.body || g_bytes_get_size (http.body.get ()) <= kSmallBody)) {
    Response r = classify_http_response (http.status,
        http.retry_after.empty () ? nullptr : http.retry_after.c_str (), http.body.get (), nullptr);
    if (rate_limited_cb_ && r.outcome == Outcome::RateLimited)
      rate_limited_cb_ (model_, r.retry_delay_seconds);
    reported_rate_limit_ = true;
  }
  release_admission ();
  std::shared_ptr<HttpEngine::Timer> timer;
  {
    std::lock_guard<std::mutex> lk (lock_);
    timer = std::move (timer_);
    if (call_ == call)
      call_.reset ();
  }
  if (timer)
    timer->cancel ();
  std::shared_ptr<Stream> stream = std::move (stream_);
  /* Only a stream that ended whole is classified from its events. */
  if (stream && !(http.streamed && !cancelled_.load () && !timed_out_ && !http.too_large && !http.error))
    stream->abandoned.store (true);
  if (cancelled_.load ())
    return;
  if (timed_out_) {
    handle (make_timeout_response (attempt_bound_s_));
    return;
  }
  if (http.too_large || (stream && stream->too_large)) {
    handle (make_too_large_response (policy_.max_response_size));
    return;
  }
  if (http.error) {
    handle (classify_transport_error (http.error.get (), target_.server.c_str ()));
    return;
  }
  if (stream && http.streamed) {
    if (!g_str_has_prefix (http.content_type.c_str (), "text/event-stream")) {
      stream->abandoned.store (true);
      Response r;
      r.http_status = http.status;
      r.outcome = Outcome::MalformedResponse;
      r.error_message = "the stream's answer is \"" + http.content_type.substr (0, 60) +
          "\", not text/event-stream";
      r.action = action_for (r.outcome);
      handle (std::move (r));
      return;
    }
    if (stream->splitter.pending ()) {
      /* The connection closed in the middle of an event. */
      stream->abandoned.store (true);
      Response r;
      r.outcome = Outcome::Transport;
      r.server = target_.server;
      r.error_message = "the stream was cut off in the middle of an event (" +
          std::to_string (stream->splitter.held ()) + " bytes of it had come)";
      r.action = action_for (r.outcome);
      handle (std::move (r));
      return;
    }
    stream_post (stream, std::string (), true);
    return;
  }

  /* Parsing megabytes of JSON and decoding the image: on a worker, never
   * on the engine thread, which serves every other request. */
  struct Work {
    guint status;
    std::string retry_after, redirect;
    GBytesPtr body;
    gsize capacity = 0;
    Response response;
    DecodedImage image;
  };
  auto work = std::make_shared<Work> ();
  work->status = http.status;
  work->retry_after = http.retry_after;
  work->redirect = http.redirect_target;
  work->body = std::move (http.body);
  work->capacity = http.body_capacity;
  auto self = shared_from_this ();
  run_detached ([self, work] {
    if (self->cancelled_.load ())
      return;
    /* The body goes in: an image is decoded from base64 in its memory, and
     * the rest of it is freed before the pixels are decoded. */
    work->response = classify_http_response_in_place (work->status,
        work->retry_after.empty () ? nullptr : work->retry_after.c_str (), std::move (work->body),
        work->redirect.empty () ? nullptr : work->redirect.c_str (),
        self->policy_.keep_model_content ? ModelContent::Keep : ModelContent::Drop, self->policy_.bodies,
        work->capacity);
    self->finish_response (std::move (work->response));
  });
}

/* On a worker: decodes an Image answer, caches it, and hands the result to
 * the engine thread. The unary and the streamed answers end here alike. */
void
AttemptRunner::finish_response (Response response)
{
  auto work = std::make_shared<std::pair<Response, DecodedImage>> (std::move (response), DecodedImage ());
  Response & r = work->first;
  if (r.outcome == Outcome::Image) {
    const DecodeLimits limits = decode_limits ();
    std::string error;
    if (!decode_for_output (r.image.get (), limits, work->second, error)) {
      if (work->second.cancelled)
        return;
      mark_undecodable (r, error, work->second.over_limit);
    } else {
      store_in_cache (r);
    }
  }
  /* Only an image continues a conversation. */
  if (r.outcome != Outcome::Image)
    r.model_content.clear ();
  schedule (0, [work] (AttemptRunner & runner) {
    runner.g_.image = std::move (work->second);
    runner.handle (std::move (work->first));
  }, false);
}

/* ------------------------------------------------------------- streaming */

/* Engine thread: a piece of a 2xx stream. false stops the read. */
bool
AttemptRunner::on_stream_bytes (const std::shared_ptr<Stream> & stream, const guint8 * data, gsize size)
{
  if (cancelled_.load () || stream->abandoned.load ())
    return false;
  std::vector<std::string> events;
  if (stream->splitter.feed (reinterpret_cast<const char *> (data), size, events) != SseSplitter::Status::Ok) {
    stream->too_large = true;
    return false;
  }
  for (std::string & e : events)
    stream_post (stream, std::move (e), false);
  return true;
}

/* Any thread: queues an event (or the end) for the stream's worker and
 * starts one unless one is draining already. */
void
AttemptRunner::stream_post (const std::shared_ptr<Stream> & stream, std::string event, bool end)
{
  {
    std::lock_guard<std::mutex> lk (stream->lock);
    if (end)
      stream->ended = true;
    else
      stream->queue.push_back (std::move (event));
    if (stream->busy)
      return;
    stream->busy = true;
  }
  auto self = shared_from_this ();
  run_detached ([self, stream] { self->stream_drain (stream); });
}

/* On a worker: parses the queued events in order; the drafts they carry are
 * decoded and go to the engine thread; after the end, the answer. */
void
AttemptRunner::stream_drain (const std::shared_ptr<Stream> & stream)
{
  for (;;) {
    std::string data;
    bool end = false;
    {
      std::lock_guard<std::mutex> lk (stream->lock);
      if (!stream->queue.empty ()) {
        data = std::move (stream->queue.front ());
        stream->queue.pop_front ();
      } else if (stream->ended) {
        stream->ended = false;
        end = true;
      } else {
        stream->busy = false;
        return;
      }
    }
    if (cancelled_.load () || stream->abandoned.load ())
      continue;   /* drops the queue */
    if (end) {
      stream_finish (stream);
      continue;
    }
    std::vector<GBytesPtr> drafts;
    stream->answer.add_event (data.data (), data.size (), event (&Events::preview) ? &drafts : nullptr);
    data = std::string ();
    for (GBytesPtr & bytes : drafts) {
      if (stream->previews >= kMaxPreviewsPerAttempt || cancelled_.load ())
        break;
      stream->previews++;
      auto image = std::make_shared<DecodedImage> ();
      std::string error;
      if (!decode_image (bytes.get (), decode_limits (), *image, error)) {
        GST_INFO ("image %" G_GUINT64_FORMAT ": a draft image does not decode (%s): skipped", spec_.index,
            error.c_str ());
        continue;
      }
      const guint index = previews_.fetch_add (1);
      GST_DEBUG ("image %" G_GUINT64_FORMAT ": draft %u, %dx%d", spec_.index, index, image->width, image->height);
      schedule (0, [image, index] (AttemptRunner & r) {
        if (auto cb = r.event (&Events::preview))
          cb (std::move (*image), index);
      }, false);
    }
  }
}

/* On the stream's worker, after its last event: the merged answer. */
void
AttemptRunner::stream_finish (const std::shared_ptr<Stream> & stream)
{
  Response r = stream->answer.result (policy_.keep_model_content ? ModelContent::Keep : ModelContent::Drop);
  if (r.outcome == Outcome::Transport)
    r.server = target_.server;
  GST_DEBUG ("image %" G_GUINT64_FORMAT ": stream of %u events: %s", spec_.index, stream->answer.events (),
      outcome_name (r.outcome));
  finish_response (std::move (r));
}

void
AttemptRunner::handle (Response r)
{
  if (cancelled_.load ())
    return;
  g_.elapsed_s = std::chrono::duration<double> (Clock::now () - start_).count ();
  GST_INFO ("image %" G_GUINT64_FORMAT ", attempt %u: %s (HTTP %u) after %.2f s", spec_.index, g_.attempts,
      outcome_name (r.outcome), r.http_status, g_.elapsed_s);

  bool retry = false;
  switch (r.action) {
    case Action::Deliver:
    case Action::Stop:
      g_.response = std::move (r);
      g_.model_content = std::move (g_.response.model_content);
      finish (std::move (g_));
      return;
    case Action::Fail:
      g_.response = std::move (r);
      if (target_.api == Api::Vertex) {
        add_vertex_hint ();
        finish (std::move (g_));
        return;
      }
      /* Once per image: a model switched to may answer 404 too. */
      if (g_.response.outcome == Outcome::NotFound && !listed_models_
          && is_model_not_found (g_.response.http_status, g_.response.gemini_status,
              g_.response.error_message)) {
        listed_models_ = true;
        list_models ("", std::make_shared<std::vector<ListedModel>> (), 1);
        return;
      }
      finish (std::move (g_));
      return;
    case Action::Retry:
      if (r.outcome == Outcome::RateLimited) {
        if (rate_limited_cb_ && !reported_rate_limit_)
          rate_limited_cb_ (model_, r.retry_delay_seconds);
        reported_rate_limit_ = false;
        retry = ++rate_limited_ < policy_.rate_limit_attempts;
      } else {
        retry = ++transient_ < policy_.max_attempts;
      }
      break;
    case Action::RetryContent:
      retry = ++content_ <= policy_.content_retries;
      break;
  }
  g_.image = DecodedImage ();
  if (!retry) {
    g_.gave_up = "Gave up after " + plural_attempts (g_.attempts) + " over " + format_duration (g_.elapsed_s) + ".";
    g_.response = std::move (r);
    finish (std::move (g_));
    return;
  }

  /* Compared in seconds before any conversion: a server may ask for 1e10 s,
   * which overflows a nanosecond clock. */
  const double delay = retry_delay (policy_, transient_ + rate_limited_ + content_, r);
  const double left = std::chrono::duration<double> (deadline_ - Clock::now ()).count ();
  if (!(delay < left)) {
    const bool server = r.retry_delay_seconds && !(*r.retry_delay_seconds < left);
    GCharPtr msg (server
        ? g_strdup_printf ("Gave up after %s over %s: the server asked to wait %s "
            "before retrying (%s), past the deadline of %u s (the deadline property).",
            plural_attempts (g_.attempts).c_str (), format_duration (g_.elapsed_s).c_str (),
            format_duration (*r.retry_delay_seconds).c_str (), r.retry_delay_source.c_str (),
            policy_.deadline)
        : g_strdup_printf ("Gave up after %s over %s: the next retry, "
            "in %s, would end after the deadline of %u s (the deadline property).",
            plural_attempts (g_.attempts).c_str (), format_duration (g_.elapsed_s).c_str (),
            format_duration (delay).c_str (), policy_.deadline));
    g_.gave_up = msg.get ();
    g_.response = std::move (r);
    finish (std::move (g_));
    return;
  }
  RetryNotice notice;
  notice.attempt = g_.attempts;
  notice.outcome = r.outcome;
  notice.http_status = r.http_status;
  notice.delay = delay;
  notice.reason = r.describe ();
  if (auto cb = event (&Events::retry))
    cb (notice);
  /* The wait is a timer on this thread, cancelled with the runner. */
  schedule (delay, [] (AttemptRunner & runner) { runner.send_attempt (); }, true);
}

/* What a Vertex AI failure usually means. ListModels is a Gemini API call
 * (Vertex lists publisher models elsewhere, per project): after a 404 the
 * runner names where to look instead of asking. */
void
AttemptRunner::add_vertex_hint ()
{
  switch (g_.response.outcome) {
    case Outcome::Unauthenticated:
      g_.hint = target_.access_token.empty ()
          ? "Vertex AI did not accept the credentials: check the api-key (express mode) or set "
            "access-token with project."
          : "Vertex AI did not accept the access token: access tokens expire after about an hour; "
            "get a fresh one with gcloud auth print-access-token and set the access-token property "
            "(or GOOGLE_OAUTH_ACCESS_TOKEN).";
      break;
    case Outcome::PermissionDenied:
      g_.hint = "Check that the Vertex AI API is enabled in " + (target_.project.empty ()
              ? std::string ("the express-mode key's project") : "project " + target_.project)
          + " and that the account has the Vertex AI User role (aiplatform.endpoints.predict).";
      break;
    case Outcome::NotFound:
      g_.hint = "On Vertex AI the model list is not read (ListModels is a Gemini API call): check "
          "that the model is offered in location " + (target_.location.empty () ? std::string ("global")
              : target_.location) + " (https://cloud.google.com/vertex-ai/generative-ai/docs/"
          "learn/locations) and the model id (https://cloud.google.com/vertex-ai/generative-ai/docs/models).";
      break;
    default:
      break;
  }
}

/* ------------------------------------------------------------ ListModels */

void
AttemptRunner::list_models (std::string token, std::shared_ptr<std::vector<ListedModel>> models, guint page)
{
  if (page > kMaxModelListPages) {
    after_list (false, "the list goes on past " + std::to_string (kMaxModelListPages) + " pages", *models);
    return;
  }
  auto engine = engine_.lock ();
  if (!engine) {
    finish_cancelled ();
    return;
  }
  HttpRequest req;
  req.url = build_list_models_url (target_.endpoint, token);
  req.headers.emplace_back ("x-goog-api-key", target_.api_key);
  const auto now = Clock::now ();
  const auto bound = std::min (deadline_, now + std::chrono::seconds (policy_.request_timeout));
  timed_out_ = false;
  if (!arm_timeout (std::max (0.0, std::chrono::duration<double> (bound - now).count ())))
    return;
  auto self = shared_from_this ();
  auto call = engine->send (std::move (req), [self, models, page] (const std::shared_ptr<HttpCall> & c) {
    std::shared_ptr<HttpEngine::Timer> timer;
    {
      std::lock_guard<std::mutex> lk (self->lock_);
      timer = std::move (self->timer_);
      if (self->call_ == c)
        self->call_.reset ();
    }
    if (timer)
      timer->cancel ();
    if (self->cancelled_.load ())
      return;
    HttpResponse & http = c->response ();
    const std::string which = "page " + std::to_string (page);
    if (self->timed_out_) {
      self->after_list (false, "no answer in time", *models);
      return;
    }
    if (http.error) {
      self->after_list (false, classify_transport_error (http.error.get (),
              self->target_.server.c_str ()).describe (), *models);
      return;
    }
    const gsize size = http.body ? g_bytes_get_size (http.body.get ()) : 0;
    if (http.too_large || size > kMaxModelListPageBytes) {
      self->after_list (false, which + " is larger than " + std::to_string (kMaxModelListPageBytes) + " bytes",
          *models);
      return;
    }
    if (http.status != 200) {
      self->after_list (false, which + " answered HTTP " + std::to_string (http.status), *models);
      return;
    }
    std::string next, error;
    if (!parse_model_list_page (http.body.get (), *models, next, error)) {
      self->after_list (false, which + ": " + error, *models);
      return;
    }
    GST_DEBUG ("image %" G_GUINT64_FORMAT ": ListModels %s, %" G_GSIZE_FORMAT " models so far",
        self->spec_.index, which.c_str (), models->size ());
    if (next.empty ())
      self->after_list (true, "", *models);
    else
      self->list_models (next, models, page + 1);
  });
  std::lock_guard<std::mutex> lk (lock_);
  if (!call->cancelled () && !finished_)
    call_ = std::move (call);
}

/* After a 404 for the model: when the model came from an alias and the
 * list holds another served model of its family, try that one; otherwise
 * name the image models the key can use. */
void
AttemptRunner::after_list (bool complete, const std::string & error, const std::vector<ListedModel> & models)
{
  const ModelSpec *current = find_model_spec (model_);
  if (!spec_.alias.empty () && current) {
    for (const ModelSpec & m : model_catalogue ()) {
      if (spec_.alias != m.alias || m.status == ModelStatus::Retired || model_ == m.id)
        continue;
      const bool listed = std::any_of (models.begin (), models.end (),
          [&] (const ListedModel & l) { return l.id == m.id && l.generate_content; });
      if (!listed)
        continue;
      const std::string text = "model=" + spec_.alias + " stands for " + model_ + ", but the API "
          "answered 404 (\"" + g_.response.error_message + "\"). " + m.id + " (" + m.name
          + "), of the same family, is in the key's model list: using it. Update the element "
          "when a newer release knows this change.";
      if (auto cb = event (&Events::warning))
        cb ("model", text);
      if (auto cb = event (&Events::alias_moved))
        cb (spec_.alias, m.id);
      model_ = m.id;
      g_.model = model_;
      url_ = target_request_url (target_, model_, policy_.previews);
      send_attempt ();
      return;
    }
  }

  const std::string names = describe_image_models (models);
  g_.available_models = names;
  if (!names.empty ())
    g_.models_hint = "Image models this key can use: " + names + ".";
  else if (complete)
    g_.models_hint = "The key's model list (" + std::to_string (models.size ()) + " models) has no "
        "image-generation model.";
  if (!complete)
    g_.models_hint += std::string (g_.models_hint.empty () ? "" : " ") + "Listing the models failed ("
        + error + ").";
  finish (std::move (g_));
}

/* ---------------------------------------------------------------- finish */

void
AttemptRunner::finish (Generated g)
{
  std::function<void (Generated)> done;
  {
    std::lock_guard<std::mutex> lk (lock_);
    if (finished_)
      return;
    finished_ = true;
    done = std::move (events_.done);
    /* The callbacks may hold whoever holds this runner: let go of them. */
    events_ = Events ();
  }
  if (done)
    done (std::move (g));
}

void
AttemptRunner::finish_cancelled ()
{
  Generated g;
  g.response = make_cancelled_response ();
  g.model = spec_.model;
  finish (std::move (g));
}

}  // namespace gemini
