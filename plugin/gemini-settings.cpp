/* gst-gemini: the element's settings. See gemini-settings.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gemini-settings.h"

#include <cstring>

#include "gemini-endpoint.h"
#include "gemini-models.h"
#include "gemini-ratelimit.h"

namespace gemini {

void
gemini_settings_install (GObjectClass * gobject_class)
{
  auto ready = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY);
  auto playing = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING);

  /**
   * GstGeminiImageSrc:prompt:
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_PROMPT,
      g_param_spec_string ("prompt", "Prompt",
          "What to draw, or how to change the reference images. Required unless prompt-file "
          "is set or a prompt_sink pad exists (its prompts then win). Set while playing, it "
          "starts a new generation of num-images images (see stale-policy)", nullptr,
          playing));

  /**
   * GstGeminiImageSrc:model:
   *
   * An alias of the model catalogue (docs/models.md), resolved when the
   * element starts and for each image, or any model id, sent as given. The
   * resolved id is what requests, messages and logs show. A model Google
   * has shut down fails at READY->PAUSED against Google's endpoint, and
   * posts a WARNING against any other.
   *
   * Since: 0.1
   */
  {
    /* The aliases and what they stand for today, from the catalogue. */
    static const std::string blurb = "Gemini image model: an alias (" + describe_aliases ("; ")
        + ") or any model id, sent as given. A change while playing applies to the next image";
    g_object_class_install_property (gobject_class, PROP_MODEL,
        g_param_spec_string ("model", "Model", blurb.c_str (), DEFAULT_MODEL, playing));
  }

  /**
   * GstGeminiImageSrc:api-key:
   *
   * Write-only so that it cannot be read back into a log or a
   * `gst-launch-1.0 -v` notification.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_API_KEY,
      g_param_spec_string ("api-key", "API key",
          "Gemini API key (write-only; with api=vertex and no project, a Vertex AI express-mode "
          "key). When not set: the GOOGLE_API_KEY environment "
          "variable, then GEMINI_API_KEY, as Google's SDKs do. Sent only in the "
          "x-goog-api-key header, never logged. On gst-launch-1.0 prefer the environment "
          "variable: GStreamer itself logs launch lines", nullptr,
          (GParamFlags) (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY)));

  g_object_class_install_property (gobject_class, PROP_API_ENDPOINT,
      g_param_spec_string ("api-endpoint", "API endpoint",
          "Base URL of the Gemini API; the request goes to "
          "<api-endpoint>/v1beta/models/<model>:generateContent (api=vertex: "
          "<api-endpoint>/v1/projects/<project>/locations/<location>/publishers/google/models/"
          "<model>:generateContent). When not set: the GOOGLE_GEMINI_BASE_URL environment "
          "variable (api=vertex: GOOGLE_VERTEX_BASE_URL first), else Google's endpoint "
          "(api=vertex: https://aiplatform.googleapis.com for location global, "
          "https://LOCATION-aiplatform.googleapis.com otherwise). "
          "Point it at gemini-emulator (http://127.0.0.1:PORT) for tests",
          DEFAULT_ENDPOINT,
          (GParamFlags) (ready | GST_PARAM_DOC_SHOW_DEFAULT)));

  /**
   * GstGeminiImageSrc:api:
   *
   * Which Google API serves the model. Vertex AI takes project and
   * location with an OAuth access token, or (express mode) an API key
   * without a project.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_API,
      g_param_spec_enum ("api", "API",
          "Which API to call: gemini (the Gemini Developer API, an API key) or vertex (Vertex AI: "
          "project and location with access-token, or express mode with an API key and no "
          "project). When not set: vertex if the GOOGLE_GENAI_USE_VERTEXAI environment variable "
          "is true or 1, as Google's SDKs do, else gemini",
          GST_TYPE_GEMINI_API, DEFAULT_API, ready));

  g_object_class_install_property (gobject_class, PROP_PROJECT,
      g_param_spec_string ("project", "Google Cloud project",
          "api=vertex: the Google Cloud project id that is billed (gcloud config get-value "
          "project); letters, digits, '-' and '_'. Needs access-token. When not set: the "
          "GOOGLE_CLOUD_PROJECT environment variable; without either, an API key selects "
          "Vertex AI express mode", nullptr, ready));

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Vertex AI location",
          "api=vertex: global, or a region such as us-central1 (requests then go to "
          "https://LOCATION-aiplatform.googleapis.com). When not set: the GOOGLE_CLOUD_LOCATION "
          "environment variable, else global",
          DEFAULT_LOCATION, (GParamFlags) (ready | GST_PARAM_DOC_SHOW_DEFAULT)));

  /**
   * GstGeminiImageSrc:access-token:
   *
   * Write-only, like api-key, so that it cannot be read back into a log or
   * a `gst-launch-1.0 -v` notification.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_ACCESS_TOKEN,
      g_param_spec_string ("access-token", "OAuth access token",
          "api=vertex: an OAuth 2 access token (write-only), sent only in the Authorization: "
          "Bearer header, never logged. Get one with gcloud auth print-access-token, e.g. "
          "access-token=\"$(gcloud auth print-access-token)\"; it expires after about an hour. "
          "When not set: the GOOGLE_OAUTH_ACCESS_TOKEN environment variable (preferred on "
          "gst-launch-1.0: GStreamer itself logs launch lines)", nullptr,
          (GParamFlags) (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY)));

  g_object_class_install_property (gobject_class, PROP_ASPECT_RATIO,
      g_param_spec_enum ("aspect-ratio", "Aspect ratio",
          "Shape of the generated image (imageConfig.aspectRatio); auto is not sent. A ratio "
          "the model does not take is sent as the closest one it does, with a WARNING",
          GST_TYPE_GEMINI_ASPECT_RATIO, DEFAULT_ASPECT_RATIO, playing));

  g_object_class_install_property (gobject_class, PROP_IMAGE_SIZE,
      g_param_spec_enum ("image-size", "Image size",
          "Resolution class (imageConfig.imageSize); auto is not sent. A size the model "
          "does not take is not sent either, with a WARNING (docs/models.md lists them)",
          GST_TYPE_GEMINI_IMAGE_SIZE, DEFAULT_IMAGE_SIZE, playing));

  /**
   * GstGeminiImageSrc:thinking-level:
   *
   * generationConfig.thinkingConfig.thinkingLevel, as @google/genai sends
   * it. Nano Banana 2 takes minimal and high; a level the model does not
   * take is not sent, with a WARNING.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_THINKING_LEVEL,
      g_param_spec_enum ("thinking-level", "Thinking level",
          "How much the model reasons before drawing "
          "(generationConfig.thinkingConfig.thinkingLevel); auto is not sent. "
          "Not every model takes every level: see docs/models.md",
          GST_TYPE_GEMINI_THINKING_LEVEL, DEFAULT_THINKING_LEVEL, playing));

  /**
   * GstGeminiImageSrc:google-search:
   *
   * Sends tools [{"googleSearch": {}}]: the model may look things up
   * (weather, scores, recent events) before drawing. Google bills search
   * queries separately.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_GOOGLE_SEARCH,
      g_param_spec_boolean ("google-search", "Google Search",
          "Let the model ground the image in Google Search results (tools: googleSearch); "
          "search queries are billed separately",
          DEFAULT_GOOGLE_SEARCH, playing));

  g_object_class_install_property (gobject_class, PROP_RESPONSE_MODALITIES,
      g_param_spec_enum ("response-modalities", "Response modalities",
          "What the model may answer with (generationConfig.responseModalities). "
          "Image only by default: allowing text lets the model answer without drawing",
          GST_TYPE_GEMINI_RESPONSE_MODALITIES, DEFAULT_RESPONSE_MODALITIES, playing));

  g_object_class_install_property (gobject_class, PROP_TEMPERATURE,
      g_param_spec_double ("temperature", "Temperature",
          "Sampling temperature 0..2 (generationConfig.temperature); -1 = not sent "
          "(Google advises the default 1.0 for Gemini 3)", -1.0, 2.0,
          DEFAULT_TEMPERATURE, playing));

  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_int64 ("seed", "Seed",
          "Sampling seed (generationConfig.seed); -1 = not sent. Gemini treats it as "
          "a hint: the same seed does not guarantee the same image. Image i of a prompt "
          "gets seed + i (see num-images)", -1, G_MAXINT32,
          DEFAULT_SEED, playing));

  g_object_class_install_property (gobject_class, PROP_SYSTEM_INSTRUCTION,
      g_param_spec_string ("system-instruction", "System instruction",
          "Instruction sent as systemInstruction, for example \"Always produce an "
          "image.\"; not sent when empty", nullptr, playing));

  g_object_class_install_property (gobject_class, PROP_REFERENCE_IMAGES,
      g_param_spec_string ("reference-images", "Reference images",
          "Comma-separated list of image files (PNG, JPEG, WebP, HEIF) sent with the "
          "prompt as inlineData, in order; read when the element goes to PAUSED. "
          "Gemini takes up to 3 with Flash and 14 with Pro. Regular files only, 75 MB in "
          "all. A comma inside a file name is written \\, (on a gst-launch-1.0 line "
          "\\\\, since the launch parser takes one backslash)", nullptr, ready));

  g_object_class_install_property (gobject_class, PROP_NUM_IMAGES,
      g_param_spec_uint ("num-images", "Number of images",
          "Images per prompt (one request each): per prompt property or prompt-file line, "
          "prompt_sink buffer, or sampled reference frame. With seed set, image i of a "
          "prompt is sent seed + i, so the images differ",
          1, G_MAXINT32, DEFAULT_NUM_IMAGES, ready));

  g_object_class_install_property (gobject_class, PROP_IMAGE_DURATION,
      g_param_spec_uint64 ("image-duration", "Image duration",
          "Duration of each image in nanoseconds: image N has PTS N x image-duration, "
          "so several images play as a slideshow. num-images x image-duration must fit "
          "GStreamer's timeline (about 292 years)", 1, G_MAXINT64,
          DEFAULT_IMAGE_DURATION, ready));

  g_object_class_install_property (gobject_class, PROP_REQUEST_TIMEOUT,
      g_param_spec_uint ("request-timeout", "Request timeout",
          "Seconds one request may take from sending to the last byte of the answer. "
          "Pro at 4K can take minutes with no byte on the wire. A change while playing "
          "applies to the next image", 1, 24 * 3600, DEFAULT_REQUEST_TIMEOUT, playing));

  g_object_class_install_property (gobject_class, PROP_MAX_IMAGE_PIXELS,
      g_param_spec_uint64 ("max-image-pixels", "Maximum image pixels",
          "Largest decoded image accepted (width x height). Protects against "
          "decompression bombs; Gemini's largest (4K Pro) is about 17 million",
          1, G_MAXUINT32, DEFAULT_MAX_IMAGE_PIXELS, playing));

  g_object_class_install_property (gobject_class, PROP_MAX_RESPONSE_SIZE,
      g_param_spec_uint64 ("max-response-size", "Maximum response size",
          "Largest HTTP response body accepted, in bytes. A 1K Pro answer is 2-4 MB "
          "(thought signatures are larger than the image)", 1024, G_MAXUINT32,
          DEFAULT_MAX_RESPONSE_SIZE, ready));

  g_object_class_install_property (gobject_class, PROP_MAX_ATTEMPTS,
      g_param_spec_uint ("max-attempts", "Maximum attempts",
          "Attempts per image, the first included, when the failure is transient: "
          "HTTP 408/500/502/503/504, connection errors, timeouts, cut-off answers. "
          "Each retry waits retry-backoff, doubling up to retry-backoff-max",
          1, 100, DEFAULT_MAX_ATTEMPTS, playing));

  g_object_class_install_property (gobject_class, PROP_RATE_LIMIT_ATTEMPTS,
      g_param_spec_uint ("rate-limit-attempts", "Rate-limit attempts",
          "Attempts per image when Gemini answers 429 (quota), a budget of its own. "
          "Each wait is at least the server's RetryInfo.retryDelay or Retry-After. "
          "Per-day quotas and a quota limit of 0 are not retried",
          1, 100, DEFAULT_RATE_LIMIT_ATTEMPTS, playing));

  g_object_class_install_property (gobject_class, PROP_CONTENT_RETRIES,
      g_param_spec_uint ("content-retries", "Content retries",
          "Extra attempts when the model answered without a usable image (text only, "
          "NO_IMAGE, IMAGE_OTHER, unreadable image data). Each attempt is billed. "
          "Safety and policy blocks are never retried",
          0, 100, DEFAULT_CONTENT_RETRIES, playing));

  g_object_class_install_property (gobject_class, PROP_RETRY_BACKOFF,
      g_param_spec_double ("retry-backoff", "Retry backoff",
          "Seconds to wait before the first retry; doubles with each retry, plus up "
          "to 10% random jitter", 0.0, 3600.0, DEFAULT_RETRY_BACKOFF, playing));

  g_object_class_install_property (gobject_class, PROP_RETRY_BACKOFF_MAX,
      g_param_spec_double ("retry-backoff-max", "Maximum retry backoff",
          "Longest wait between retries in seconds (a longer server-requested delay "
          "is still honoured)", 0.0, 3600.0, DEFAULT_RETRY_BACKOFF_MAX, playing));

  g_object_class_install_property (gobject_class, PROP_DEADLINE,
      g_param_spec_uint ("deadline", "Deadline",
          "Seconds one image may take in all, retries and waits included. A retry "
          "that would end after it is not started, and a server that asks to wait "
          "beyond it fails the image at once", 1, 7 * 24 * 3600,
          DEFAULT_DEADLINE, playing));

  g_object_class_install_property (gobject_class, PROP_ON_ERROR,
      g_param_spec_enum ("on-error", "On error",
          "What to do when an image cannot be had after the retries: stop with an "
          "error, or post a warning and skip it or repeat the last image",
          GST_TYPE_GEMINI_ERROR_POLICY, DEFAULT_ON_ERROR, playing));

  g_object_class_install_property (gobject_class, PROP_TLS_DATABASE,
      g_param_spec_object ("tls-database", "TLS database",
          "Certificates to trust for HTTPS; NULL = the system's CA store (or "
          "ssl-ca-file). For applications; on a launch line use ssl-ca-file",
          G_TYPE_TLS_DATABASE, ready));

  g_object_class_install_property (gobject_class, PROP_SSL_CA_FILE,
      g_param_spec_string ("ssl-ca-file", "SSL CA file",
          "PEM file of the certificate authorities to trust for HTTPS instead of the "
          "system's store, as souphttpsrc's ssl-ca-file: for a self-hosted gateway or a "
          "test server. Ignored when tls-database is set", nullptr, ready));

  g_object_class_install_property (gobject_class, PROP_PROXY,
      g_param_spec_string ("proxy", "Proxy",
          "HTTP(S) or SOCKS proxy URI, e.g. http://proxy:3128; when not set, GIO's "
          "default resolver (the http_proxy/https_proxy/no_proxy environment "
          "variables or the desktop settings). A loopback api-endpoint is never proxied",
          nullptr, ready));

  g_object_class_install_property (gobject_class, PROP_ALLOW_INSECURE_HTTP,
      g_param_spec_boolean ("allow-insecure-http", "Allow insecure HTTP",
          "Allow a plain http:// api-endpoint on a host that is not loopback. The key "
          "would travel unencrypted; http://127.0.0.1 and http://localhost are always "
          "allowed, and never go through a proxy", DEFAULT_ALLOW_INSECURE_HTTP, ready));

  g_object_class_install_property (gobject_class, PROP_CONNECT_TIMEOUT,
      g_param_spec_uint ("connect-timeout", "Connect timeout",
          "Seconds to resolve the host, connect and finish the TLS handshake, apart from "
          "request-timeout (a generation may send no byte for minutes, a handshake does "
          "not). An https endpoint that does not speak TLS fails after this long; "
          "0 = no bound of its own", 0, 3600, DEFAULT_CONNECT_TIMEOUT, ready));

  g_object_class_install_property (gobject_class, PROP_USER_AGENT,
      g_param_spec_string ("user-agent", "User-Agent",
          "Value of the User-Agent header, as souphttpsrc's user-agent; when not set "
          "\"gst-gemini/VERSION GStreamer/VERSION\"", nullptr, ready));

  g_object_class_install_property (gobject_class, PROP_HTTP_LOG_LEVEL,
      g_param_spec_enum ("http-log-level", "HTTP log level",
          "libsoup's HTTP log, written to the GStreamer debug log (geminiimagesrc:5). "
          "The x-goog-api-key and Authorization headers are shown as [REDACTED]; bodies are cut "
          "at 4 KiB",
          SOUP_TYPE_LOGGER_LOG_LEVEL, DEFAULT_HTTP_LOG_LEVEL, ready));

  /**
   * GstGeminiImageSrc:prompt-file:
   *
   * A batch: one prompt per line, or JSON Lines with per-image overrides.
   * num-images images are made per prompt. Read at READY->PAUSED; a
   * malformed line fails the state change naming the file and line.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_PROMPT_FILE,
      g_param_spec_string ("prompt-file", "Prompt file",
          "File of prompts: one per line (UTF-8; blank lines and # comments skipped), or JSON "
          "Lines ({\"prompt\": ..., and optional \"model\", \"aspect-ratio\", \"image-size\", "
          "\"seed\", \"reference-images\", \"system-instruction\", \"temperature\"}). "
          "num-images images per prompt, in file order, then EOS. Overrides prompt",
          nullptr, ready));

  g_object_class_install_property (gobject_class, PROP_MAX_IN_FLIGHT,
      g_param_spec_uint ("max-in-flight", "Max in flight",
          "Images requested at once. Frames still go out in input order (see "
          "output-order); at most max(4, max-in-flight) decoded images, and no more than "
          "32 MiB of them, wait for an earlier, slower one. Memory grows with it: a 4K RGBA "
          "frame is 64 MiB, and max-in-flight + 2 frames' memory is kept for reuse. 1: one "
          "at a time, the next "
          "requested once the previous went out", 1, 64, DEFAULT_MAX_IN_FLIGHT, ready));

  g_object_class_install_property (gobject_class, PROP_OUTPUT_ORDER,
      g_param_spec_enum ("output-order", "Output order",
          "Frames in input order, or as their images complete",
          GST_TYPE_GEMINI_OUTPUT_ORDER, DEFAULT_OUTPUT_ORDER, ready));

  g_object_class_install_property (gobject_class, PROP_HEDGE_AFTER,
      g_param_spec_double ("hedge-after", "Hedge after",
          "Seconds after which an unanswered image gets a second, identical request; the "
          "first good answer wins, the other is cancelled (both may be billed). 0 = off; "
          "-1 = adaptive (the 90th percentile of the latencies seen, once 4 are known)",
          -1, 3600, DEFAULT_HEDGE_AFTER, ready));

  g_object_class_install_property (gobject_class, PROP_HEDGE_BUDGET,
      g_param_spec_double ("hedge-budget", "Hedge budget",
          "Share of images that may be hedged, with a floor of 2 so that a small batch can "
          "still hedge its stuck image", 0, 1, DEFAULT_HEDGE_BUDGET, ready));

  g_object_class_install_property (gobject_class, PROP_REQUESTS_PER_MINUTE,
      g_param_spec_double ("requests-per-minute", "Requests per minute",
          "Rate limit shared by every geminiimagesrc of the process (or of the application's "
          "GstContext \"" GEMINI_RATE_LIMIT_CONTEXT_TYPE "\") with the same endpoint, key and "
          "model; the strictest setting wins. A 429 halves the shared rate, which then "
          "recovers. 0 = no limit until a 429", 0, 1e6, DEFAULT_REQUESTS_PER_MINUTE, ready));

  g_object_class_install_property (gobject_class, PROP_MAX_CONCURRENT_REQUESTS,
      g_param_spec_uint ("max-concurrent-requests", "Max concurrent requests",
          "Cap on requests at once, shared like requests-per-minute; 0 = none",
          0, 1024, DEFAULT_MAX_CONCURRENT_REQUESTS, ready));

  g_object_class_install_property (gobject_class, PROP_CACHE_DIR,
      g_param_spec_string ("cache-dir", "Cache directory",
          "Directory of answers kept by request (endpoint, model, prompt, configuration and "
          "reference bytes; never the key): an identical request costs nothing and gives "
          "the same frame. Safe to share between processes. Not set: no cache",
          nullptr, ready));

  g_object_class_install_property (gobject_class, PROP_CACHE_MAX_SIZE,
      g_param_spec_uint64 ("cache-max-size", "Cache max size",
          "Bytes the cache may hold; the least recently used answers go first. 0 = no bound",
          0, G_MAXUINT64, DEFAULT_CACHE_MAX_SIZE, ready));

  /**
   * GstGeminiImageSrc:stale-policy:
   *
   * What a new prompt (a prompt_sink buffer, a sampled reference frame, a
   * prompt property set while running) does to those still waiting.
   *
   * Since: 0.3
   */
  g_object_class_install_property (gobject_class, PROP_STALE_POLICY,
      g_param_spec_enum ("stale-policy", "Stale policy",
          "queue: every prompt is generated in order, and upstream waits while one is already "
          "waiting for a free request slot. latest: a new prompt drops those not yet sent and "
          "cancels those in flight, so a live input shows its newest prompt soonest. Dropped and "
          "cancelled images are counted in gemini-image messages",
          GST_TYPE_GEMINI_STALE_POLICY, DEFAULT_STALE_POLICY, playing));

  /**
   * GstGeminiImageSrc:is-live:
   *
   * Since: 0.3
   */
  g_object_class_install_property (gobject_class, PROP_IS_LIVE,
      g_param_spec_boolean ("is-live", "Is live",
          "A live stream at framerate: frames timestamped with the running time, the last image "
          "repeated until the next arrives, no preroll, and the stream runs until EOS (or "
          "num-buffers). Needs framerate. Off: one frame per image (still images)",
          DEFAULT_IS_LIVE, ready));

  g_object_class_install_property (gobject_class, PROP_FRAMERATE,
      gst_param_spec_fraction ("framerate", "Framerate",
          "Frames per second of the live stream (is-live=true), for example 30/1. 0/1: still "
          "images (is-live=false only)", 0, 1, G_MAXINT, 1, 0, 1, ready));

  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_uint64 ("latency", "Latency",
          "Live: the generation time you accept, in nanoseconds. Reported in the LATENCY query, "
          "so an image that comes within it is shown from its prompt's own time; one that "
          "comes later is shown at the next frame and logged with how late. 0: every image "
          "shows as soon as it arrives", 0, G_MAXINT64, DEFAULT_LATENCY, ready));

  g_object_class_install_property (gobject_class, PROP_PLACEHOLDER,
      g_param_spec_string ("placeholder", "Placeholder",
          "Live: what to show before the first image: \"black\", a colour (\"#RRGGBB\" or "
          "\"0xRRGGBB\"), or an image file (PNG, JPEG, WebP), at the size the model is expected "
          "to answer with. Not set: no frames until the first image, which starts the stream",
          nullptr, ready));

  g_object_class_install_property (gobject_class, PROP_NUM_BUFFERS,
      g_param_spec_int ("num-buffers", "Number of buffers",
          "Frames to push before EOS; -1 = no limit. Ends a live stream (framerate x seconds)",
          -1, G_MAXINT, DEFAULT_NUM_BUFFERS, ready));

  g_object_class_install_property (gobject_class, PROP_REFERENCE_MAX_SIZE,
      g_param_spec_uint ("reference-max-size", "Reference max size",
          "Frames from reference_sink pads are scaled down so that their longest side is at "
          "most this many pixels, then encoded (JPEG, or PNG with alpha), so requests stay "
          "small. PNG/JPEG/WebP input within it is sent as it is. 0 = no scaling",
          0, 32767, DEFAULT_REFERENCE_MAX_SIZE, playing));

  g_object_class_install_property (gobject_class, PROP_REFERENCE_INTERVAL,
      g_param_spec_uint64 ("reference-interval", "Reference interval",
          "Without a prompt pad, each frame of the first reference pad that is taken makes a "
          "request with the prompt property: at most one per this many nanoseconds of running "
          "time (3000000000: a camera restyled every 3 s). 0 = no time limit",
          0, G_MAXINT64, DEFAULT_REFERENCE_INTERVAL, playing));

  g_object_class_install_property (gobject_class, PROP_REFERENCE_EVERY,
      g_param_spec_uint ("reference-every", "Reference every",
          "Without a prompt pad: only every N-th frame of the first reference pad can make a "
          "request (with reference-interval, both apply)",
          1, G_MAXUINT, DEFAULT_REFERENCE_EVERY, playing));

  /**
   * GstGeminiImageSrc:edit-mode:
   *
   * Multi-turn editing. The history is reset by a flush, a new stream on
   * prompt_sink, or a "gemini-reset-history" custom event sent downstream
   * into a sink pad or upstream into the src pad.
   *
   * Since: 0.3
   */
  g_object_class_install_property (gobject_class, PROP_EDIT_MODE,
      g_param_spec_boolean ("edit-mode", "Edit mode",
          "Each new prompt edits the previous image: the conversation so far (prompts and the "
          "model's answers, sent back verbatim with their thought signatures) goes with each "
          "request, so images are made one after another. Reset by a flush, a new prompt "
          "stream, or the custom event \"gemini-reset-history\"",
          DEFAULT_EDIT_MODE, ready));

  g_object_class_install_property (gobject_class, PROP_HISTORY_MAX_TURNS,
      g_param_spec_uint ("history-max-turns", "History max turns",
          "edit-mode: earlier prompt-and-image turns sent with each request; older ones are "
          "dropped. Each turn carries its image, so requests grow with it",
          1, 64, DEFAULT_HISTORY_MAX_TURNS, ready));

  /**
   * GstGeminiImageSrc:scale-mode:
   *
   * How an image meets a size that downstream fixed (a capsfilter with
   * width and height, an encoder that takes only some sizes). When
   * downstream leaves the size open, the model's own size is used and
   * nothing is scaled.
   *
   * Since: 0.4
   */
  g_object_class_install_property (gobject_class, PROP_SCALE_MODE,
      g_param_spec_enum ("scale-mode", "Scale mode",
          "When downstream fixes the frame size: letterbox keeps the whole image and its aspect "
          "ratio, with bars of letterbox-color; crop fills the frame and cuts the overflow from "
          "both sides; stretch fills the frame and changes the aspect ratio. Applies from the "
          "next image",
          GST_TYPE_GEMINI_SCALE_MODE, DEFAULT_SCALE_MODE, playing));

  g_object_class_install_property (gobject_class, PROP_LETTERBOX_COLOR,
      g_param_spec_uint ("letterbox-color", "Letterbox color",
          "Colour of the bars with scale-mode=letterbox, as 0xAARRGGBB (0xff000000 is opaque "
          "black; alpha matters only in formats that have it). Applies from the next image",
          0, G_MAXUINT32, DEFAULT_LETTERBOX_COLOR, playing));

  /**
   * GstGeminiImageSrc:previews:
   *
   * Requests go to streamGenerateContent (Server-Sent Events) with
   * thinkingConfig.includeThoughts, and the model's draft images arrive
   * while it thinks. The final image is the same. READY-only: it changes
   * the endpoint method and the request body (and so the cache key).
   *
   * Since: 0.4
   */
  g_object_class_install_property (gobject_class, PROP_PREVIEWS,
      g_param_spec_boolean ("previews", "Previews",
          "Stream each request (streamGenerateContent?alt=sse) with includeThoughts, so that "
          "the draft images a thinking model (Pro) makes arrive before the final image. The final "
          "image does not change",
          DEFAULT_PREVIEWS, ready));

  g_object_class_install_property (gobject_class, PROP_PRICE_PER_IMAGE,
      g_param_spec_double ("price-per-image", "Price per image",
          "US dollars one image costs, for estimated-cost and max-cost. -1 = the list price "
          "of the model and image size from the model catalogue (docs/models.md); set it "
          "for a model or tier the catalogue does not price, or for your own rates. "
          "Images answered from cache-dir cost nothing",
          -1, 1e6, DEFAULT_PRICE_PER_IMAGE, playing));

  g_object_class_install_property (gobject_class, PROP_MAX_COST,
      g_param_spec_double ("max-cost", "Max cost",
          "Spend cap in US dollars for the stream (since READY->PAUSED): an image is "
          "requested only if what was spent, plus the price of the images in flight, plus "
          "its own price stays within it. Then max-cost-action applies. An estimate, a price "
          "per image: hedges, retries and answers without an image add nothing. 0 = no cap",
          0, 1e9, DEFAULT_MAX_COST, playing));

  g_object_class_install_property (gobject_class, PROP_MAX_COST_ACTION,
      g_param_spec_enum ("max-cost-action", "Max cost action",
          "What happens when max-cost stops the requests: an error, or a warning and EOS "
          "after the images in flight",
          GST_TYPE_GEMINI_COST_ACTION, DEFAULT_MAX_COST_ACTION, playing));
}

void
gemini_settings_install_status (GObjectClass * gobject_class)
{
  auto status = (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_property (gobject_class, PROP_ESTIMATED_COST,
      g_param_spec_double ("estimated-cost", "Estimated cost",
          "US dollars spent by this stream so far (since READY->PAUSED), at price-per-image "
          "or the catalogue's list prices; images from the cache cost nothing",
          0, G_MAXDOUBLE, 0, status));

  g_object_class_install_property (gobject_class, PROP_TOTAL_TOKENS,
      g_param_spec_int64 ("total-tokens", "Total tokens",
          "Tokens billed to this stream so far (totalTokenCount of every answer from the "
          "network, since READY->PAUSED)",
          0, G_MAXINT64, 0, status));
}

std::string
string_or_empty (const GValue * value)
{
  const gchar *s = g_value_get_string (value);
  return s ? s : "";
}

bool
settings_set (Settings & s, guint prop_id, const GValue * value)
{
  switch (prop_id) {
    case PROP_PROMPT:
      s.prompt = string_or_empty (value);
      break;
    case PROP_MODEL:
      s.model = g_value_get_string (value) ? g_value_get_string (value) : DEFAULT_MODEL;
      break;
    case PROP_API_KEY:
      s.api_key = string_or_empty (value);
      break;
    case PROP_API_ENDPOINT:
      if (g_value_get_string (value) && *g_value_get_string (value))
        s.endpoint = g_value_get_string (value);
      else
        s.endpoint.reset ();
      break;
    case PROP_API:
      s.api = (GstGeminiApi) g_value_get_enum (value);
      break;
    case PROP_PROJECT:
      if (g_value_get_string (value) && *g_value_get_string (value))
        s.project = g_value_get_string (value);
      else
        s.project.reset ();
      break;
    case PROP_LOCATION:
      if (g_value_get_string (value) && *g_value_get_string (value))
        s.location = g_value_get_string (value);
      else
        s.location.reset ();
      break;
    case PROP_ACCESS_TOKEN:
      s.access_token = string_or_empty (value);
      break;
    case PROP_ASPECT_RATIO:
      s.aspect_ratio = (GstGeminiAspectRatio) g_value_get_enum (value);
      break;
    case PROP_IMAGE_SIZE:
      s.image_size = (GstGeminiImageSize) g_value_get_enum (value);
      break;
    case PROP_THINKING_LEVEL:
      s.thinking_level = (GstGeminiThinkingLevel) g_value_get_enum (value);
      break;
    case PROP_GOOGLE_SEARCH:
      s.google_search = g_value_get_boolean (value);
      break;
    case PROP_RESPONSE_MODALITIES:
      s.modalities = (GstGeminiResponseModalities) g_value_get_enum (value);
      break;
    case PROP_TEMPERATURE:
      s.temperature = g_value_get_double (value);
      break;
    case PROP_SEED:
      s.seed = g_value_get_int64 (value);
      break;
    case PROP_SYSTEM_INSTRUCTION:
      s.system_instruction = string_or_empty (value);
      break;
    case PROP_REFERENCE_IMAGES:
      s.reference_images = string_or_empty (value);
      break;
    case PROP_NUM_IMAGES:
      s.num_images = g_value_get_uint (value);
      break;
    case PROP_IMAGE_DURATION:
      s.image_duration = g_value_get_uint64 (value);
      break;
    case PROP_REQUEST_TIMEOUT:
      s.request_timeout = g_value_get_uint (value);
      break;
    case PROP_MAX_IMAGE_PIXELS:
      s.max_image_pixels = g_value_get_uint64 (value);
      break;
    case PROP_MAX_RESPONSE_SIZE:
      s.max_response_size = g_value_get_uint64 (value);
      break;
    case PROP_MAX_ATTEMPTS:
      s.max_attempts = g_value_get_uint (value);
      break;
    case PROP_RATE_LIMIT_ATTEMPTS:
      s.rate_limit_attempts = g_value_get_uint (value);
      break;
    case PROP_CONTENT_RETRIES:
      s.content_retries = g_value_get_uint (value);
      break;
    case PROP_RETRY_BACKOFF:
      s.retry_backoff = g_value_get_double (value);
      break;
    case PROP_RETRY_BACKOFF_MAX:
      s.retry_backoff_max = g_value_get_double (value);
      break;
    case PROP_DEADLINE:
      s.deadline = g_value_get_uint (value);
      break;
    case PROP_ON_ERROR:
      s.on_error = (GstGeminiErrorPolicy) g_value_get_enum (value);
      break;
    case PROP_TLS_DATABASE:
      s.tls_database = GObjectRef<GTlsDatabase>::ref (static_cast<GTlsDatabase *> (g_value_get_object (value)));
      break;
    case PROP_PROXY:
      s.proxy = string_or_empty (value);
      break;
    case PROP_ALLOW_INSECURE_HTTP:
      s.allow_insecure_http = g_value_get_boolean (value);
      break;
    case PROP_HTTP_LOG_LEVEL:
      s.http_log_level = (SoupLoggerLogLevel) g_value_get_enum (value);
      break;
    case PROP_CONNECT_TIMEOUT:
      s.connect_timeout = g_value_get_uint (value);
      break;
    case PROP_SSL_CA_FILE:
      s.ssl_ca_file = string_or_empty (value);
      break;
    case PROP_USER_AGENT:
      s.user_agent = string_or_empty (value);
      break;
    case PROP_PROMPT_FILE:
      s.prompt_file = string_or_empty (value);
      break;
    case PROP_MAX_IN_FLIGHT:
      s.max_in_flight = g_value_get_uint (value);
      break;
    case PROP_OUTPUT_ORDER:
      s.output_order = (GstGeminiOutputOrder) g_value_get_enum (value);
      break;
    case PROP_HEDGE_AFTER:
      s.hedge_after = g_value_get_double (value);
      break;
    case PROP_HEDGE_BUDGET:
      s.hedge_budget = g_value_get_double (value);
      break;
    case PROP_REQUESTS_PER_MINUTE:
      s.requests_per_minute = g_value_get_double (value);
      break;
    case PROP_MAX_CONCURRENT_REQUESTS:
      s.max_concurrent_requests = g_value_get_uint (value);
      break;
    case PROP_CACHE_DIR:
      s.cache_dir = string_or_empty (value);
      break;
    case PROP_STALE_POLICY:
      s.stale_policy = (GstGeminiStalePolicy) g_value_get_enum (value);
      break;
    case PROP_IS_LIVE:
      s.is_live = g_value_get_boolean (value);
      break;
    case PROP_FRAMERATE:
      s.fps_n = gst_value_get_fraction_numerator (value);
      s.fps_d = gst_value_get_fraction_denominator (value);
      break;
    case PROP_LATENCY:
      s.latency = g_value_get_uint64 (value);
      break;
    case PROP_PLACEHOLDER:
      s.placeholder = string_or_empty (value);
      break;
    case PROP_NUM_BUFFERS:
      s.num_buffers = g_value_get_int (value);
      break;
    case PROP_REFERENCE_MAX_SIZE:
      s.reference_max_size = g_value_get_uint (value);
      break;
    case PROP_REFERENCE_INTERVAL:
      s.reference_interval = g_value_get_uint64 (value);
      break;
    case PROP_REFERENCE_EVERY:
      s.reference_every = g_value_get_uint (value);
      break;
    case PROP_EDIT_MODE:
      s.edit_mode = g_value_get_boolean (value);
      break;
    case PROP_HISTORY_MAX_TURNS:
      s.history_max_turns = g_value_get_uint (value);
      break;
    case PROP_SCALE_MODE:
      s.scale_mode = (GstGeminiScaleMode) g_value_get_enum (value);
      break;
    case PROP_LETTERBOX_COLOR:
      s.letterbox_color = g_value_get_uint (value);
      break;
    case PROP_PREVIEWS:
      s.previews = g_value_get_boolean (value);
      break;
    case PROP_PRICE_PER_IMAGE:
      s.price_per_image = g_value_get_double (value);
      break;
    case PROP_MAX_COST:
      s.max_cost = g_value_get_double (value);
      break;
    case PROP_MAX_COST_ACTION:
      s.max_cost_action = (GstGeminiCostAction) g_value_get_enum (value);
      break;
    case PROP_CACHE_MAX_SIZE:
      s.cache_max_size = g_value_get_uint64 (value);
      break;
    default:
      return false;
  }
  return true;
}

std::string
default_user_agent (const Settings & s)
{
  if (!s.user_agent.empty ())
    return s.user_agent;
  GCharPtr gst_version (gst_version_string ());
  return "gst-gemini/" VERSION " GStreamer/" + std::string (gst_version.get () + strlen ("GStreamer "));
}

GstGeminiApi
effective_api (const Settings & s)
{
  if (s.api)
    return *s.api;
  const gchar *env = g_getenv ("GOOGLE_GENAI_USE_VERTEXAI");
  if (env && (g_ascii_strcasecmp (env, "true") == 0 || strcmp (env, "1") == 0))
    return GST_GEMINI_API_VERTEX;
  return DEFAULT_API;
}

std::string
effective_project (const Settings & s)
{
  if (s.project)
    return *s.project;
  const gchar *env = g_getenv ("GOOGLE_CLOUD_PROJECT");
  return env ? env : "";
}

std::string
effective_location (const Settings & s)
{
  if (s.location)
    return *s.location;
  const gchar *env = g_getenv ("GOOGLE_CLOUD_LOCATION");
  return env && *env ? env : DEFAULT_LOCATION;
}

std::string
effective_endpoint (const Settings & s)
{
  if (s.endpoint)
    return *s.endpoint;
  const bool vertex = effective_api (s) == GST_GEMINI_API_VERTEX;
  for (const char *name : {vertex ? "GOOGLE_VERTEX_BASE_URL" : nullptr, "GOOGLE_GEMINI_BASE_URL"}) {
    const gchar *env = name ? g_getenv (name) : nullptr;
    if (env && *env)
      return env;
  }
  if (!vertex)
    return DEFAULT_ENDPOINT;
  /* Express mode (no project) is served on the global host only. */
  return vertex_default_endpoint (effective_project (s).empty () ? kVertexDefaultLocation : effective_location (s));
}

bool
settings_get (const Settings & s, guint prop_id, GValue * value)
{
  switch (prop_id) {
    case PROP_PROMPT:
      g_value_set_string (value, s.prompt.empty () ? nullptr : s.prompt.c_str ());
      break;
    case PROP_MODEL:
      g_value_set_string (value, s.model.c_str ());
      break;
    case PROP_API_ENDPOINT:
      /* Read back without a password: pipeline dumps and -v print it. */
      g_value_set_string (value, redact_url (effective_endpoint (s)).c_str ());
      break;
    case PROP_API:
      g_value_set_enum (value, effective_api (s));
      break;
    case PROP_PROJECT: {
      const std::string project = effective_project (s);
      g_value_set_string (value, project.empty () ? nullptr : project.c_str ());
      break;
    }
    case PROP_LOCATION:
      g_value_set_string (value, effective_location (s).c_str ());
      break;
    case PROP_ASPECT_RATIO:
      g_value_set_enum (value, s.aspect_ratio);
      break;
    case PROP_IMAGE_SIZE:
      g_value_set_enum (value, s.image_size);
      break;
    case PROP_THINKING_LEVEL:
      g_value_set_enum (value, s.thinking_level);
      break;
    case PROP_GOOGLE_SEARCH:
      g_value_set_boolean (value, s.google_search);
      break;
    case PROP_RESPONSE_MODALITIES:
      g_value_set_enum (value, s.modalities);
      break;
    case PROP_TEMPERATURE:
      g_value_set_double (value, s.temperature);
      break;
    case PROP_SEED:
      g_value_set_int64 (value, s.seed);
      break;
    case PROP_SYSTEM_INSTRUCTION:
      g_value_set_string (value, s.system_instruction.empty () ? nullptr :
          s.system_instruction.c_str ());
      break;
    case PROP_REFERENCE_IMAGES:
      g_value_set_string (value, s.reference_images.empty () ? nullptr :
          s.reference_images.c_str ());
      break;
    case PROP_NUM_IMAGES:
      g_value_set_uint (value, s.num_images);
      break;
    case PROP_IMAGE_DURATION:
      g_value_set_uint64 (value, s.image_duration);
      break;
    case PROP_REQUEST_TIMEOUT:
      g_value_set_uint (value, s.request_timeout);
      break;
    case PROP_MAX_IMAGE_PIXELS:
      g_value_set_uint64 (value, s.max_image_pixels);
      break;
    case PROP_MAX_RESPONSE_SIZE:
      g_value_set_uint64 (value, s.max_response_size);
      break;
    case PROP_MAX_ATTEMPTS:
      g_value_set_uint (value, s.max_attempts);
      break;
    case PROP_RATE_LIMIT_ATTEMPTS:
      g_value_set_uint (value, s.rate_limit_attempts);
      break;
    case PROP_CONTENT_RETRIES:
      g_value_set_uint (value, s.content_retries);
      break;
    case PROP_RETRY_BACKOFF:
      g_value_set_double (value, s.retry_backoff);
      break;
    case PROP_RETRY_BACKOFF_MAX:
      g_value_set_double (value, s.retry_backoff_max);
      break;
    case PROP_DEADLINE:
      g_value_set_uint (value, s.deadline);
      break;
    case PROP_ON_ERROR:
      g_value_set_enum (value, s.on_error);
      break;
    case PROP_TLS_DATABASE:
      g_value_set_object (value, s.tls_database.get ());
      break;
    case PROP_PROXY:
      g_value_set_string (value, s.proxy.empty () ? nullptr : redact_url (s.proxy).c_str ());
      break;
    case PROP_ALLOW_INSECURE_HTTP:
      g_value_set_boolean (value, s.allow_insecure_http);
      break;
    case PROP_HTTP_LOG_LEVEL:
      g_value_set_enum (value, s.http_log_level);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, s.connect_timeout);
      break;
    case PROP_SSL_CA_FILE:
      g_value_set_string (value, s.ssl_ca_file.empty () ? nullptr : s.ssl_ca_file.c_str ());
      break;
    case PROP_USER_AGENT:
      g_value_set_string (value, default_user_agent (s).c_str ());
      break;
    case PROP_PROMPT_FILE:
      g_value_set_string (value, s.prompt_file.empty () ? nullptr : s.prompt_file.c_str ());
      break;
    case PROP_MAX_IN_FLIGHT:
      g_value_set_uint (value, s.max_in_flight);
      break;
    case PROP_OUTPUT_ORDER:
      g_value_set_enum (value, s.output_order);
      break;
    case PROP_HEDGE_AFTER:
      g_value_set_double (value, s.hedge_after);
      break;
    case PROP_HEDGE_BUDGET:
      g_value_set_double (value, s.hedge_budget);
      break;
    case PROP_REQUESTS_PER_MINUTE:
      g_value_set_double (value, s.requests_per_minute);
      break;
    case PROP_MAX_CONCURRENT_REQUESTS:
      g_value_set_uint (value, s.max_concurrent_requests);
      break;
    case PROP_CACHE_DIR:
      g_value_set_string (value, s.cache_dir.empty () ? nullptr : s.cache_dir.c_str ());
      break;
    case PROP_CACHE_MAX_SIZE:
      g_value_set_uint64 (value, s.cache_max_size);
      break;
    case PROP_STALE_POLICY:
      g_value_set_enum (value, s.stale_policy);
      break;
    case PROP_IS_LIVE:
      g_value_set_boolean (value, s.is_live);
      break;
    case PROP_FRAMERATE:
      gst_value_set_fraction (value, s.fps_n, s.fps_d);
      break;
    case PROP_LATENCY:
      g_value_set_uint64 (value, s.latency);
      break;
    case PROP_PLACEHOLDER:
      g_value_set_string (value, s.placeholder.empty () ? nullptr : s.placeholder.c_str ());
      break;
    case PROP_NUM_BUFFERS:
      g_value_set_int (value, s.num_buffers);
      break;
    case PROP_REFERENCE_MAX_SIZE:
      g_value_set_uint (value, s.reference_max_size);
      break;
    case PROP_REFERENCE_INTERVAL:
      g_value_set_uint64 (value, s.reference_interval);
      break;
    case PROP_REFERENCE_EVERY:
      g_value_set_uint (value, s.reference_every);
      break;
    case PROP_EDIT_MODE:
      g_value_set_boolean (value, s.edit_mode);
      break;
    case PROP_HISTORY_MAX_TURNS:
      g_value_set_uint (value, s.history_max_turns);
      break;
    case PROP_SCALE_MODE:
      g_value_set_enum (value, s.scale_mode);
      break;
    case PROP_LETTERBOX_COLOR:
      g_value_set_uint (value, s.letterbox_color);
      break;
    case PROP_PREVIEWS:
      g_value_set_boolean (value, s.previews);
      break;
    case PROP_PRICE_PER_IMAGE:
      g_value_set_double (value, s.price_per_image);
      break;
    case PROP_MAX_COST:
      g_value_set_double (value, s.max_cost);
      break;
    case PROP_MAX_COST_ACTION:
      g_value_set_enum (value, s.max_cost_action);
      break;
    default:
      return false;
  }
  return true;
}

}  // namespace gemini
