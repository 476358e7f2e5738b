/* gst-gemini emulator: a generateContent request read into an Exchange
 * (key, model, body and its validation, as Google's front end does), and
 * the Google error bodies the emulator answers with.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cassette.h"
#include "emulator-image.h"

namespace gemini::emulator {

inline constexpr char kTroubleshooting[] =
    "Please retry or report in https://developers.generativeai.google/guide/troubleshooting";

/* --------------------------------------------------------- Google errors */

struct ApiError {
  guint code = 400;
  std::string status = "INVALID_ARGUMENT";
  std::string message;
  std::vector<JsonNodePtr> details;
};

JsonNodePtr detail_node (const char * type, std::function<void (JsonObject *)> fill);
JsonNodePtr error_info_detail (const char * reason, const char * service = "generativelanguage.googleapis.com");
JsonNodePtr bad_request_detail (const std::string & description);
JsonNode *error_body (const ApiError & e);
ApiError invalid_argument (std::string message);
ApiError image_input_error ();

/* Default gRPC status and message for an HTTP code (gemini-api.md §4.2). */
std::pair<const char *, const char *> grpc_defaults (guint code);

/* What Google's load balancer sends for a 502: HTML, not JSON. */
std::string load_balancer_html (guint code, const std::string & message);

/* -------------------------------------------------------- the request */

struct InlineImage {
  std::string mime;
  std::string bytes;
  bool thought = false;
};

struct GenerateRequest {
  std::string prompt;
  std::vector<InlineImage> images;
  std::vector<std::string> modalities;  /* as sent, upper-cased */
  bool want_text = true;
  bool want_image = true;
  std::string aspect_ratio;  /* as sent */
  std::string image_size;    /* as sent */
  bool include_thoughts = false;
  bool has_image_config = false;
  std::string thinking_level;  /* thinkingConfig.thinkingLevel, upper-cased */
  bool google_search = false;  /* tools holds {"googleSearch": {}} */
};

/* Everything a step needs to build its answer. */
struct Exchange {
  guint64 index = 0;
  std::string method;
  std::string path;           /* without the query: it may hold a key */
  std::string model_name;     /* as in the path */
  const ModelSpec *model = nullptr;   /* its catalogue row (Retired too), or nullptr */
  std::string host;           /* the request URI's host: Host header, or an absolute-form target's */
  gint64 received_us = 0;     /* g_get_monotonic_time () when the request had been read */
  std::string key;            /* never logged */
  bool header_key = false;
  bool query_key = false;
  /* Vertex AI: the path's form, project ("" in express mode) and location,
   * and the Authorization: Bearer token (never logged). */
  bool vertex = false;
  std::string project;
  std::string location;
  std::string bearer;
  std::string body_text;      /* raw request body */
  JsonNodePtr body;           /* parsed, or nullptr */
  std::string body_error;     /* why it did not parse */
  GenerateRequest req;
  std::optional<ApiError> invalid;
  bool stream = false;        /* :streamGenerateContent?alt=sse */
};

/* Where a generateContent path points. */
struct GeneratePath {
  bool vertex = false;
  bool stream = false;    /* :streamGenerateContent */
  std::string model, project, location;   /* project "": Vertex express mode */
};

/* /v1beta/models/M:generateContent (Gemini), or :streamGenerateContent
 * (stream set) in each form,
 * /v1/projects/P/locations/L/publishers/google/models/M:generateContent and
 * /v1beta1/publishers/google/models/M:generateContent (Vertex AI; either
 * version takes either form). nullopt for any other path. */
std::optional<GeneratePath> parse_generate_path (const std::string & path);

/* Reads what the request carries; nothing is judged yet. */
Exchange read_exchange (SoupServerMessage * msg, guint64 index, const std::string & path, const std::string & model,
    GHashTable * query);

/* "bearer", "header", "query" or "none": how the request authenticated. */
const char *auth_kind (const Exchange & ex);

/* The credential check (Google's front end does it before anything else):
 * a Bearer token against `access_token` (401 UNAUTHENTICATED, as Vertex AI
 * answers), else the key against `api_key`. */
std::optional<ApiError> check_auth (const Exchange & ex, const std::optional<std::string> & api_key,
    const std::optional<std::string> & access_token = std::nullopt);

}  // namespace gemini::emulator
