/* gst-gemini: the element's settings — its properties.
 *
 * What geminiimagesrc's properties hold (Settings, with the DEFAULT_*
 * values), their ids (PROP_*), their GParamSpecs with blurbs and docs, and
 * the copy between a GValue and Settings. No element state: the element
 * holds its Settings under its lock, refuses READY-only properties while
 * started, and applies runtime changes after settings_set.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

#include <optional>
#include <string>

#include "gemini-enums.h"
#include "gemini-protocol.h"
#include "glib-raii.h"

#define DEFAULT_MODEL gemini::kDefaultModel
#define DEFAULT_ENDPOINT gemini::kDefaultEndpoint
#define DEFAULT_ASPECT_RATIO GST_GEMINI_ASPECT_RATIO_AUTO
#define DEFAULT_IMAGE_SIZE GST_GEMINI_IMAGE_SIZE_AUTO
#define DEFAULT_THINKING_LEVEL GST_GEMINI_THINKING_LEVEL_AUTO
#define DEFAULT_GOOGLE_SEARCH FALSE
#define DEFAULT_RESPONSE_MODALITIES GST_GEMINI_RESPONSE_MODALITIES_IMAGE
#define DEFAULT_TEMPERATURE (-1.0)
#define DEFAULT_SEED (-1)
#define DEFAULT_NUM_IMAGES 1
#define DEFAULT_IMAGE_DURATION GST_SECOND
#define DEFAULT_REQUEST_TIMEOUT 600
#define DEFAULT_MAX_IMAGE_PIXELS (8192u * 8192u)
#define DEFAULT_MAX_RESPONSE_SIZE (128u * 1024u * 1024u)
#define DEFAULT_MAX_ATTEMPTS 5
#define DEFAULT_RATE_LIMIT_ATTEMPTS 8
#define DEFAULT_CONTENT_RETRIES 2
#define DEFAULT_RETRY_BACKOFF 1.0
#define DEFAULT_RETRY_BACKOFF_MAX 60.0
#define DEFAULT_DEADLINE 1800
#define DEFAULT_ON_ERROR GST_GEMINI_ERROR_POLICY_ERROR
#define DEFAULT_ALLOW_INSECURE_HTTP FALSE
#define DEFAULT_HTTP_LOG_LEVEL SOUP_LOGGER_LOG_NONE
#define DEFAULT_CONNECT_TIMEOUT 30
#define DEFAULT_MAX_IN_FLIGHT 4
#define DEFAULT_OUTPUT_ORDER GST_GEMINI_OUTPUT_ORDER_INPUT
#define DEFAULT_HEDGE_AFTER 0.0
#define DEFAULT_HEDGE_BUDGET 0.1
#define DEFAULT_REQUESTS_PER_MINUTE 0.0
#define DEFAULT_MAX_CONCURRENT_REQUESTS 0
#define DEFAULT_CACHE_MAX_SIZE (1024ull * 1024ull * 1024ull)
#define DEFAULT_STALE_POLICY GST_GEMINI_STALE_POLICY_QUEUE
#define DEFAULT_IS_LIVE FALSE
#define DEFAULT_LATENCY 0
#define DEFAULT_NUM_BUFFERS (-1)
#define DEFAULT_REFERENCE_MAX_SIZE 1024
#define DEFAULT_REFERENCE_INTERVAL 0
#define DEFAULT_REFERENCE_EVERY 1
#define DEFAULT_EDIT_MODE FALSE
#define DEFAULT_SCALE_MODE GST_GEMINI_SCALE_MODE_LETTERBOX
#define DEFAULT_LETTERBOX_COLOR 0xff000000u
#define DEFAULT_HISTORY_MAX_TURNS 4
#define DEFAULT_PREVIEWS FALSE
#define DEFAULT_PRICE_PER_IMAGE (-1.0)
#define DEFAULT_MAX_COST 0.0
#define DEFAULT_MAX_COST_ACTION GST_GEMINI_COST_ACTION_ERROR
#define DEFAULT_API GST_GEMINI_API_GEMINI
#define DEFAULT_LOCATION gemini::kVertexDefaultLocation

enum
{
  PROP_0,
  PROP_PROMPT,
  PROP_MODEL,
  PROP_API_KEY,
  PROP_API_ENDPOINT,
  PROP_ASPECT_RATIO,
  PROP_IMAGE_SIZE,
  PROP_THINKING_LEVEL,
  PROP_GOOGLE_SEARCH,
  PROP_RESPONSE_MODALITIES,
  PROP_TEMPERATURE,
  PROP_SEED,
  PROP_SYSTEM_INSTRUCTION,
  PROP_REFERENCE_IMAGES,
  PROP_NUM_IMAGES,
  PROP_IMAGE_DURATION,
  PROP_REQUEST_TIMEOUT,
  PROP_MAX_IMAGE_PIXELS,
  PROP_MAX_RESPONSE_SIZE,
  PROP_MAX_ATTEMPTS,
  PROP_RATE_LIMIT_ATTEMPTS,
  PROP_CONTENT_RETRIES,
  PROP_RETRY_BACKOFF,
  PROP_RETRY_BACKOFF_MAX,
  PROP_DEADLINE,
  PROP_ON_ERROR,
  PROP_TLS_DATABASE,
  PROP_PROXY,
  PROP_ALLOW_INSECURE_HTTP,
  PROP_HTTP_LOG_LEVEL,
  PROP_CONNECT_TIMEOUT,
  PROP_SSL_CA_FILE,
  PROP_USER_AGENT,
  PROP_PROMPT_FILE,
  PROP_MAX_IN_FLIGHT,
  PROP_OUTPUT_ORDER,
  PROP_HEDGE_AFTER,
  PROP_HEDGE_BUDGET,
  PROP_REQUESTS_PER_MINUTE,
  PROP_MAX_CONCURRENT_REQUESTS,
  PROP_CACHE_DIR,
  PROP_CACHE_MAX_SIZE,
  PROP_STALE_POLICY,
  PROP_IS_LIVE,
  PROP_FRAMERATE,
  PROP_LATENCY,
  PROP_PLACEHOLDER,
  PROP_NUM_BUFFERS,
  PROP_REFERENCE_MAX_SIZE,
  PROP_REFERENCE_INTERVAL,
  PROP_REFERENCE_EVERY,
  PROP_EDIT_MODE,
  PROP_HISTORY_MAX_TURNS,
  PROP_SCALE_MODE,
  PROP_LETTERBOX_COLOR,
  PROP_PREVIEWS,
  PROP_PRICE_PER_IMAGE,
  PROP_MAX_COST,
  PROP_MAX_COST_ACTION,
  PROP_API,
  PROP_PROJECT,
  PROP_LOCATION,
  PROP_ACCESS_TOKEN,
  /* Read-only state of the element, not settings
   * (gemini_settings_install_status). */
  PROP_ESTIMATED_COST,
  PROP_TOTAL_TOKENS,
};
/* The last setting. */
#define PROP_LAST_SETTING PROP_ACCESS_TOKEN

namespace gemini {

/* *INDENT-OFF* */
struct Settings {
  std::string prompt;
  std::string model = DEFAULT_MODEL;
  std::string api_key;
  std::optional<std::string> endpoint;
  GstGeminiAspectRatio aspect_ratio = DEFAULT_ASPECT_RATIO;
  GstGeminiImageSize image_size = DEFAULT_IMAGE_SIZE;
  GstGeminiThinkingLevel thinking_level = DEFAULT_THINKING_LEVEL;
  gboolean google_search = DEFAULT_GOOGLE_SEARCH;
  GstGeminiResponseModalities modalities = DEFAULT_RESPONSE_MODALITIES;
  gdouble temperature = DEFAULT_TEMPERATURE;
  gint64 seed = DEFAULT_SEED;
  std::string system_instruction;
  std::string reference_images;
  guint num_images = DEFAULT_NUM_IMAGES;
  GstClockTime image_duration = DEFAULT_IMAGE_DURATION;
  guint request_timeout = DEFAULT_REQUEST_TIMEOUT;
  guint64 max_image_pixels = DEFAULT_MAX_IMAGE_PIXELS;
  guint64 max_response_size = DEFAULT_MAX_RESPONSE_SIZE;
  guint max_attempts = DEFAULT_MAX_ATTEMPTS;
  guint rate_limit_attempts = DEFAULT_RATE_LIMIT_ATTEMPTS;
  guint content_retries = DEFAULT_CONTENT_RETRIES;
  gdouble retry_backoff = DEFAULT_RETRY_BACKOFF;
  gdouble retry_backoff_max = DEFAULT_RETRY_BACKOFF_MAX;
  guint deadline = DEFAULT_DEADLINE;
  GstGeminiErrorPolicy on_error = DEFAULT_ON_ERROR;
  GObjectRef<GTlsDatabase> tls_database;
  std::string proxy;
  gboolean allow_insecure_http = DEFAULT_ALLOW_INSECURE_HTTP;
  SoupLoggerLogLevel http_log_level = DEFAULT_HTTP_LOG_LEVEL;
  guint connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  std::string ssl_ca_file;
  std::string user_agent;   /* "" = gst-gemini/VERSION GStreamer/VERSION */
  std::string prompt_file;
  guint max_in_flight = DEFAULT_MAX_IN_FLIGHT;
  GstGeminiOutputOrder output_order = DEFAULT_OUTPUT_ORDER;
  gdouble hedge_after = DEFAULT_HEDGE_AFTER;
  gdouble hedge_budget = DEFAULT_HEDGE_BUDGET;
  gdouble requests_per_minute = DEFAULT_REQUESTS_PER_MINUTE;
  guint max_concurrent_requests = DEFAULT_MAX_CONCURRENT_REQUESTS;
  std::string cache_dir;
  guint64 cache_max_size = DEFAULT_CACHE_MAX_SIZE;
  GstGeminiStalePolicy stale_policy = DEFAULT_STALE_POLICY;
  gboolean is_live = DEFAULT_IS_LIVE;
  gint fps_n = 0, fps_d = 1;
  GstClockTime latency = DEFAULT_LATENCY;
  std::string placeholder;
  gint num_buffers = DEFAULT_NUM_BUFFERS;
  guint reference_max_size = DEFAULT_REFERENCE_MAX_SIZE;
  GstClockTime reference_interval = DEFAULT_REFERENCE_INTERVAL;
  guint reference_every = DEFAULT_REFERENCE_EVERY;
  gboolean edit_mode = DEFAULT_EDIT_MODE;
  guint history_max_turns = DEFAULT_HISTORY_MAX_TURNS;
  GstGeminiScaleMode scale_mode = DEFAULT_SCALE_MODE;
  guint letterbox_color = DEFAULT_LETTERBOX_COLOR;   /* ARGB */
  gboolean previews = DEFAULT_PREVIEWS;
  gdouble price_per_image = DEFAULT_PRICE_PER_IMAGE;
  gdouble max_cost = DEFAULT_MAX_COST;
  GstGeminiCostAction max_cost_action = DEFAULT_MAX_COST_ACTION;
  /* Unset: the environment decides (GOOGLE_GENAI_USE_VERTEXAI,
   * GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION), as Google's SDKs do. */
  std::optional<GstGeminiApi> api;
  std::optional<std::string> project;
  std::optional<std::string> location;
  std::string access_token;
};
/* *INDENT-ON* */

/* Installs every property of the element on `gobject_class`, with the ids
 * above (class_init). */
void gemini_settings_install (GObjectClass * gobject_class);
/* The read-only properties that report the element's state
 * (estimated-cost, total-tokens); the element reads them itself. */
void gemini_settings_install_status (GObjectClass * gobject_class);

/* Copies `value` into the setting `prop_id` (set_property's switch). False
 * for an id that is not a setting: the caller warns with its object. */
bool settings_set (Settings & s, guint prop_id, const GValue * value);

/* Reads the setting `prop_id` into `value` (get_property's switch): the
 * endpoint and proxy without a password, the user agent in effect. False
 * for an id that is not readable (api-key is write-only) or not a setting. */
bool settings_get (const Settings & s, guint prop_id, GValue * value);

/* A string GValue, NULL as "". */
std::string string_or_empty (const GValue * value);

/* The User-Agent header: user-agent, else gst-gemini/VERSION
 * GStreamer/VERSION. */
std::string default_user_agent (const Settings & s);

/* The API: the api property, else vertex when GOOGLE_GENAI_USE_VERTEXAI is
 * "true" or "1" (any case), else gemini. */
GstGeminiApi effective_api (const Settings & s);
/* Vertex AI's project: the property, else GOOGLE_CLOUD_PROJECT, else "". */
std::string effective_project (const Settings & s);
/* Vertex AI's location: the property, else GOOGLE_CLOUD_LOCATION, else
 * global. */
std::string effective_location (const Settings & s);

/* The API base URL: api-endpoint, else GOOGLE_GEMINI_BASE_URL (for Vertex
 * AI GOOGLE_VERTEX_BASE_URL first), else Google's for the API (and, for
 * Vertex with a project, the location's; express mode's is global). */
std::string effective_endpoint (const Settings & s);

}  // namespace gemini
