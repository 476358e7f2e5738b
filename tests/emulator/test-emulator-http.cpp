/* gst-gemini tests: gemini-emulator over real HTTP (EmulatorProcess +
 * SoupSession): the generateContent emulation, every scripted action, the
 * control endpoints and the command line.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>

#include <algorithm>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "bytes.h"
#include "cassette.h"
#include "emulator-fixture.h"
#include "emulator-image.h"
#include "emulator-process.h"
#include "gemini-image.h"
#include "http-client.h"
#include "image-check.h"
#include "image-encode.h"
#include "json-check.h"
#include "self-signed-cert.h"

/* Last: gstcheck.h defines a `fail` macro that breaks C++ headers. */
#include <gst/check/gstcheck.h>

using namespace gemini;
using namespace gemini::emulator;
using namespace gemini::test;

/* ------------------------------------------------------------ helpers */

/* What new sessions use; each test runs in its own process, so a test may
 * set them without affecting the others. */
static std::string session_proxy;             /* "" = direct */
static GTlsDatabase *session_tls_db = nullptr; /* nullptr = the system's CAs */

static HttpReply
send (const std::string & method, const std::string & url, const std::string * body, const Headers & headers = {},
    guint timeout_s = 60)
{
  HttpOptions options;
  options.proxy = session_proxy;
  options.tls_db = session_tls_db;
  options.timeout_s = timeout_s;
  options.headers = headers;
  return http_request (method, url, body, options);
}

static std::string
generate_url (const std::string & model, const std::string & query = "")
{
  return emu->base_url () + "/v1beta/models/" + model + ":generateContent" + query;
}

static HttpReply
generate (const std::string & body, const std::string & model = "gemini-3-pro-image",
    const char *key = "test-key", guint timeout_s = 60)
{
  Headers h;
  if (key)
    h.emplace_back ("x-goog-api-key", key);
  return send ("POST", generate_url (model), &body, h, timeout_s);
}

static std::string
prompt_body (const std::string & prompt, const std::string & generation_config = "")
{
  GCharPtr quoted (g_strescape (prompt.c_str (), nullptr));
  std::string body = std::string ("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"") + quoted.get () + "\"}]}]";
  if (!generation_config.empty ())
    body += ",\"generationConfig\":" + generation_config;
  return body + "}";
}

static HttpReply
post_script (const std::string & script)
{
  return send ("POST", emu->base_url () + "/emulator/script", &script);
}

/* The Google error's message holds `part`. */
static void
expect_error_message (const HttpReply & r, const char *part)
{
  const char *msg = str_at (r.json.get (), "error.message");
  fail_unless (strstr (msg, part) != nullptr, "message \"%s\" lacks \"%s\"", msg, part);
}

static void
expect_google_error (const HttpReply & r, guint code, const char *status, const char *message_part)
{
  fail_unless (!r.error, "transport error: %s", r.error ? r.error->message : "");
  fail_unless_equals_int (r.status, code);
  fail_unless_equals_string (r.content_type.c_str (), "application/json; charset=UTF-8");
  fail_unless (r.json != nullptr, "not JSON: %s", r.body.c_str ());
  fail_unless_equals_int (int_at (r.json.get (), "error.code"), code);
  fail_unless_equals_string (str_at (r.json.get (), "error.status"), status);
  expect_error_message (r, message_part);
}

static std::string
inline_part (const std::string & mime, const std::string & bytes)
{
  GCharPtr b64 (g_base64_encode (reinterpret_cast<const guchar *> (bytes.data ()), bytes.size ()));
  return "{\"inlineData\":{\"mimeType\":\"" + mime + "\",\"data\":\"" + b64.get () + "\"}}";
}

/* The image of part `index` of the first candidate. */
static DecodedImage
image_part (const HttpReply & r, int index, ImageFormat expected)
{
  std::string path = "candidates.0.content.parts." + std::to_string (index) + ".inlineData.data";
  return decode_base64_image (str_at (r.json.get (), path.c_str ()), expected);
}

static JsonNodePtr
status_json ()
{
  HttpReply r = send ("GET", emu->base_url () + "/emulator/status", nullptr);
  fail_unless_equals_int (r.status, 200);
  return std::move (r.json);
}

/* Polls /emulator/status until no hung/streaming connection is open. */
static bool
wait_connections_closed (double seconds)
{
  const gint64 deadline = g_get_monotonic_time () + gint64 (seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < deadline) {
    if (int_at (status_json ().get (), "open_connections") == 0)
      return true;
    g_usleep (20 * 1000);
  }
  return false;
}

/* ---------------------------------------------------------- API tests */

/* A served model's image: JPEG, with thought signatures (every served
 * model thinks; gemini-2.5-flash-image, the PNG one without signatures, is
 * retired). */
GST_START_TEST (test_image)
{
  const std::string prompt = "A watercolour fox in the snow";
  HttpReply r = generate (prompt_body (prompt, "{\"imageConfig\":{\"aspectRatio\":\"16:9\"}}"));
  fail_unless_equals_int (r.status, 200);
  fail_unless_equals_string (r.content_type.c_str (), "application/json; charset=UTF-8");
  JsonNode *j = r.json.get ();
  fail_unless_equals_int (length_at (j, "candidates"), 1);
  fail_unless_equals_string (str_at (j, "candidates.0.finishReason"), "STOP");
  fail_unless_equals_int (int_at (j, "candidates.0.index"), 0);
  fail_unless_equals_string (str_at (j, "candidates.0.content.role"), "model");
  fail_unless_equals_int (length_at (j, "candidates.0.content.parts"), 2);
  const std::string expected_text = "Here is an emulated image of: " + prompt;
  fail_unless_equals_string (str_at (j, "candidates.0.content.parts.0.text"), expected_text.c_str ());
  fail_unless_equals_string (str_at (j, "candidates.0.content.parts.1.inlineData.mimeType"), "image/jpeg");
  fail_unless (json_at (j, "candidates.0.content.parts.0.thoughtSignature"));
  fail_unless (json_at (j, "candidates.0.content.parts.1.thoughtSignature"));
  fail_unless_equals_string (str_at (j, "modelVersion"), "gemini-3-pro-image");
  fail_unless (strlen (str_at (j, "responseId")) > 10);
  fail_unless_equals_int (int_at (j, "usageMetadata.candidatesTokensDetails.0.tokenCount"), 1120);
  fail_unless_equals_string (str_at (j, "usageMetadata.candidatesTokensDetails.0.modality"), "IMAGE");
  fail_unless (int_at (j, "usageMetadata.candidatesTokenCount") > 1120);
  fail_unless_equals_int (int_at (j, "usageMetadata.totalTokenCount"),
      int_at (j, "usageMetadata.promptTokenCount") + int_at (j, "usageMetadata.candidatesTokenCount") +
      int_at (j, "usageMetadata.thoughtsTokenCount"));
  fail_unless_equals_string (str_at (j, "usageMetadata.promptTokensDetails.0.modality"), "TEXT");

  DecodedImage img = image_part (r, 1, ImageFormat::Jpeg);
  fail_unless_equals_int (img.width, 1376);
  fail_unless_equals_int (img.height, 768);
  expect_color (pixel_at (img, 4, 4), prompt_color (prompt), 6, "top-left");
  expect_color (pixel_at (img, 59, 59), prompt_color (prompt), 6, "top-left square corner");

  /* Deterministic: the same request gives the same bytes. */
  HttpReply again = generate (prompt_body (prompt, "{\"imageConfig\":{\"aspectRatio\":\"16:9\"}}"));
  fail_unless (again.body == r.body);
}
GST_END_TEST;

GST_START_TEST (test_pro_4k)
{
  const std::string prompt = "a 4K test";
  HttpReply r = generate (prompt_body (prompt, "{\"responseModalities\":[\"TEXT\",\"IMAGE\"],"
      "\"imageConfig\":{\"aspectRatio\":\"1:1\",\"imageSize\":\"4K\"}}"), "gemini-3-pro-image");
  fail_unless_equals_int (r.status, 200);
  fail_unless (r.seconds < 5.0, "Pro 4K took %.1f s", r.seconds);
  JsonNode *j = r.json.get ();
  fail_unless_equals_string (str_at (j, "candidates.0.content.parts.1.inlineData.mimeType"), "image/jpeg");
  /* Gemini 3: the text and the image part are signed, with a few KB. */
  const char *sig_text = str_at (j, "candidates.0.content.parts.0.thoughtSignature");
  const char *sig_image = str_at (j, "candidates.0.content.parts.1.thoughtSignature");
  fail_unless (strlen (sig_text) >= 2048 && strlen (sig_image) >= 2048);
  fail_unless (strcmp (sig_text, sig_image) != 0);
  gsize n = 0;
  g_free (g_base64_decode (sig_image, &n));
  fail_unless (n > 1000);
  fail_unless_equals_int (int_at (j, "usageMetadata.candidatesTokensDetails.0.tokenCount"), 2000);
  fail_unless (int_at (j, "usageMetadata.thoughtsTokenCount") > 0);
  DecodedImage img = image_part (r, 1, ImageFormat::Jpeg);
  fail_unless_equals_int (img.width, 4096);
  fail_unless_equals_int (img.height, 4096);
  expect_color (pixel_at (img, 10, 10), prompt_color (prompt), 6, "top-left (JPEG)");

  /* Pro without imageSize: 1K, 1120 tokens. */
  HttpReply one = generate (prompt_body ("pro 1k", "{\"imageConfig\":{\"aspectRatio\":\"16:9\"}}"), "gemini-3-pro-image");
  fail_unless_equals_int (one.status, 200);
  fail_unless_equals_int (int_at (one.json.get (), "usageMetadata.candidatesTokensDetails.0.tokenCount"), 1120);
  DecodedImage small = image_part (one, 1, ImageFormat::Jpeg);
  fail_unless_equals_int (small.width, 1376);
  fail_unless_equals_int (small.height, 768);
}
GST_END_TEST;

GST_START_TEST (test_reference_images)
{
  /* A red/blue RGBA PNG (2:1, so 16:9 is chosen) and a green lossless WebP. */
  DecodedImage ref0 = allocate_image (100, 50, true);
  for (int y = 0; y < 50; y++)
    for (int x = 0; x < 100; x++) {
      guint8 *p = ref0.pixels.get () + y * ref0.stride + x * 4;
      p[0] = x < 30 ? 240 : 20;
      p[2] = x < 30 ? 20 : 230;
      p[3] = 255;
    }
  DecodedImage ref1 = allocate_image (40, 40, false);
  for (int y = 0; y < 40; y++)
    for (int x = 0; x < 40; x++)
      ref1.pixels.get ()[y * ref1.stride + x * 3 + 1] = 200;
  std::string png, webp, error;
  fail_unless (encode_png (ref0, png, error) && encode_webp (ref1, true, 100, webp, error), "%s", error.c_str ());

  const std::string prompt = "blend these";
  std::string body = "{\"contents\":[{\"parts\":[{\"text\":\"blend\"}," + inline_part ("image/png", png) + "," +
      inline_part ("image/webp", webp) + ",{\"text\":\"these\"}]}]}";
  HttpReply r = generate (body);
  fail_unless_equals_int (r.status, 200);
  DecodedImage img = image_part (r, 1, ImageFormat::Jpeg);
  fail_unless_equals_int (img.width, 1376);
  fail_unless_equals_int (img.height, 768);
  /* The text parts are joined with a newline to make the prompt. */
  expect_color (pixel_at (img, 5, 5), prompt_color ("blend\nthese"), 6, "prompt colour");
  expect_color (pixel_at (img, swatch_x (0) + 32, swatch_y (768) + 32), mean_color (ref0), 6, "swatch 0");
  expect_color (pixel_at (img, swatch_x (1) + 32, swatch_y (768) + 32), mean_color (ref1), 6, "swatch 1");
  fail_unless_equals_int (int_at (r.json.get (), "usageMetadata.promptTokensDetails.1.tokenCount"), 2 * 258);

  /* An explicit aspectRatio wins over the reference's shape. */
  body = "{\"contents\":[{\"parts\":[{\"text\":\"x\"}," + inline_part ("image/png", png) +
      "]}],\"generationConfig\":{\"imageConfig\":{\"aspectRatio\":\"1:1\"}}}";
  r = generate (body);
  fail_unless_equals_int (image_part (r, 1, ImageFormat::Jpeg).width, 1024);
}
GST_END_TEST;

GST_START_TEST (test_modalities_and_snake_case)
{
  HttpReply r = generate (prompt_body ("image only", "{\"responseModalities\":[\"IMAGE\"]}"));
  fail_unless_equals_int (length_at (r.json.get (), "candidates.0.content.parts"), 1);
  fail_unless (json_at (r.json.get (), "candidates.0.content.parts.0.inlineData"));

  r = generate (prompt_body ("text only", "{\"responseModalities\":[\"TEXT\"]}"));
  fail_unless_equals_int (length_at (r.json.get (), "candidates.0.content.parts"), 1);
  fail_unless (strstr (str_at (r.json.get (), "candidates.0.content.parts.0.text"), "text only"));
  fail_if (json_at (r.json.get (), "usageMetadata.candidatesTokensDetails"));

  /* The proto-JSON parser accepts the original field names too. */
  std::string png, error;
  DecodedImage ref = allocate_image (8, 8, false);
  fail_unless (encode_png (ref, png, error));
  GCharPtr b64 (g_base64_encode (reinterpret_cast<const guchar *> (png.data ()), png.size ()));
  std::string body = std::string ("{\"contents\":[{\"parts\":[{\"text\":\"snake\"},{\"inline_data\":{\"mime_type\":"
      "\"image/png\",\"data\":\"") + b64.get () + "\"}}]}],\"system_instruction\":{\"parts\":[{\"text\":\"draw\"}]},"
      "\"generation_config\":{\"response_modalities\":[\"IMAGE\"],\"image_config\":{\"aspect_ratio\":\"9:16\"},"
      "\"unknownField\":1}}";
  r = generate (body);
  fail_unless_equals_int (r.status, 200);
  DecodedImage img = image_part (r, 0, ImageFormat::Jpeg);
  fail_unless_equals_int (img.width, 768);
  fail_unless_equals_int (img.height, 1376);
  expect_color (pixel_at (img, swatch_x (0) + 32, swatch_y (1376) + 32), Rgb {0, 0, 0}, 6, "black reference swatch");
}
GST_END_TEST;

GST_START_TEST (test_thought_parts)
{
  const std::string prompt = "think first";
  HttpReply r = generate (prompt_body (prompt, "{\"thinkingConfig\":{\"includeThoughts\":true},"
      "\"imageConfig\":{\"aspectRatio\":\"4:3\"}}"), "gemini-3-pro-image");
  fail_unless_equals_int (r.status, 200);
  JsonNode *j = r.json.get ();
  fail_unless_equals_int (length_at (j, "candidates.0.content.parts"), 4);
  fail_unless (bool_at (j, "candidates.0.content.parts.0.thought"));
  fail_unless (g_str_has_prefix (str_at (j, "candidates.0.content.parts.0.text"), "**Composing"));
  fail_unless (bool_at (j, "candidates.0.content.parts.1.thought"));
  fail_if (json_at (j, "candidates.0.content.parts.0.thoughtSignature"));
  fail_if (json_at (j, "candidates.0.content.parts.2.thought"));
  fail_unless (json_at (j, "candidates.0.content.parts.2.thoughtSignature"));
  fail_unless (json_at (j, "candidates.0.content.parts.3.thoughtSignature"));
  DecodedImage draft = image_part (r, 1, ImageFormat::Jpeg);
  DecodedImage final_img = image_part (r, 3, ImageFormat::Jpeg);
  fail_unless_equals_int (final_img.width, 1200);
  fail_unless_equals_int (final_img.height, 896);
  fail_unless_equals_int (draft.width, 600);
  fail_unless_equals_int (draft.height, 448);
  expect_color (pixel_at (draft, 8, 8), inverse_color (prompt_color (prompt)), 6, "draft background");
  expect_color (pixel_at (final_img, 8, 8), prompt_color (prompt), 6, "final background");

  /* Without includeThoughts: no thought parts. */
  r = generate (prompt_body (prompt, "{\"imageConfig\":{\"aspectRatio\":\"4:3\"}}"));
  fail_unless_equals_int (length_at (r.json.get (), "candidates.0.content.parts"), 2);
}
GST_END_TEST;

GST_START_TEST (test_auth)
{
  HttpReply r = generate (prompt_body ("x"), "gemini-3-pro-image", nullptr);
  expect_google_error (r, 403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers");
  r = generate (prompt_body ("x"), "gemini-3-pro-image", "");
  fail_unless_equals_int (r.status, 403);

  /* Any non-empty key is fine without --api-key, also in the query. */
  const std::string body = prompt_body ("query key", "{\"responseModalities\":[\"TEXT\"]}");
  r = send ("POST", generate_url ("gemini-3-pro-image", "?key=secret-query-key"), &body);
  fail_unless_equals_int (r.status, 200);
  JsonNode *log = emu->requests ();
  JsonNodePtr owner (log);
  const guint n = json_array_get_length (json_node_get_array (log));
  JsonNode *last = json_array_get_element (json_node_get_array (log), n - 1);
  fail_unless (bool_at (last, "query_key_present"));
  fail_unless (bool_at (last, "api_key_present"));
  /* The path is logged without its query: the key must not leak. */
  fail_unless_equals_string (str_at (last, "path"), "/v1beta/models/gemini-3-pro-image:generateContent");
  HttpReply raw_log = send ("GET", emu->base_url () + "/emulator/requests", nullptr);
  fail_unless (raw_log.body.find ("secret-query-key") == std::string::npos);
  fail_unless (raw_log.body.find ("test-key") == std::string::npos);

  EmulatorProcess strict ({"--api-key", "right-key"});
  Headers good {{"x-goog-api-key", "right-key"}}, bad {{"x-goog-api-key", "wrong-key"}};
  std::string url = strict.base_url () + "/v1beta/models/gemini-3-pro-image:generateContent";
  r = send ("POST", url, &body, bad);
  expect_google_error (r, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.");
  fail_unless_equals_string (str_at (r.json.get (), "error.details.0.@type"), "type.googleapis.com/google.rpc.ErrorInfo");
  fail_unless_equals_string (str_at (r.json.get (), "error.details.0.reason"), "API_KEY_INVALID");
  fail_unless_equals_string (str_at (r.json.get (), "error.details.0.domain"), "googleapis.com");
  fail_unless_equals_string (str_at (r.json.get (), "error.details.0.metadata.service"),
      "generativelanguage.googleapis.com");
  r = send ("POST", url, &body, good);
  fail_unless_equals_int (r.status, 200);
  r = send ("POST", url + "?key=right-key", &body);
  fail_unless_equals_int (r.status, 200);
}
GST_END_TEST;

GST_START_TEST (test_routing)
{
  HttpReply r = generate (prompt_body ("x"), "gemini-2.5-flash-image-preview");
  expect_google_error (r, 404, "NOT_FOUND", "models/gemini-2.5-flash-image-preview is not found for API version "
      "v1beta, or is not supported for generateContent. Call ListModels");
  r = send ("POST", emu->base_url () + "/v1beta/models/gemini-3-pro-image:countTokens", nullptr,
      {{"x-goog-api-key", "k"}});
  expect_google_error (r, 404, "NOT_FOUND", "");
  r = send ("GET", emu->base_url () + "/", nullptr);
  expect_google_error (r, 404, "NOT_FOUND", "");
  r = send ("GET", generate_url ("gemini-3-pro-image"), nullptr, {{"x-goog-api-key", "k"}});
  fail_unless_equals_int (r.status, 405);
  /* Every catalogue model that Google serves answers; retired ones are
   * gone, with the API's words. */
  for (const ModelSpec & spec : model_catalogue ()) {
    r = generate (prompt_body ("m", "{\"responseModalities\":[\"TEXT\"]}"), spec.id);
    if (spec.status == ModelStatus::Retired) {
      expect_google_error (r, 404, "NOT_FOUND", "");
      const std::string text = std::string ("models/") + spec.id + " is not found for API version v1beta, or is not "
          "supported for generateContent. Call ListModels to see the list of available models and their supported "
          "methods.";
      fail_unless_equals_string (str_at (r.json.get (), "error.message"), text.c_str ());
      continue;
    }
    fail_unless_equals_int (r.status, 200);
    fail_unless_equals_string (str_at (r.json.get (), "modelVersion"), spec.id);
  }
}
GST_END_TEST;

/* Vertex AI's paths: which ones route (v1 and v1beta1, with or without a
 * project), which are unknown. */
GST_START_TEST (test_vertex_paths)
{
  const std::string body = prompt_body ("paths", "{\"responseModalities\":[\"TEXT\"]}");
  const Headers key {{"x-goog-api-key", "k"}};
  for (const char *good : {"/v1/projects/p/locations/us-central1/publishers/google/models/gemini-3-pro-image",
           "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-3-pro-image",
           "/v1beta1/publishers/google/models/gemini-3-pro-image", "/v1/publishers/google/models/gemini-3-pro-image"}) {
    HttpReply r = send ("POST", emu->base_url () + good + ":generateContent", &body, key);
    fail_unless_equals_int (r.status, 200);
  }
  for (const char *bad : {"/v1/publishers/google/models/gemini-3-pro-image:countTokens",
           "/v2/publishers/google/models/gemini-3-pro-image:generateContent",
           "/v1/projects/p/locations//publishers/google/models/gemini-3-pro-image:generateContent",
           "/v1/projects/p/publishers/google/models/gemini-3-pro-image:generateContent",
           "/v1/publishers/openai/models/gemini-3-pro-image:generateContent",
           "/v1beta/models/a/gemini-3-pro-image:generateContent"}) {
    HttpReply r = send ("POST", emu->base_url () + bad, &body, key);
    expect_google_error (r, 404, "NOT_FOUND", "Method not found.");
  }
  JsonNode *log = emu->requests ();
  JsonNodePtr owner (log);
  JsonArray *a = json_node_get_array (log);
  fail_unless_equals_int (json_array_get_length (a), 4);
  fail_unless_equals_string (str_at (json_array_get_element (a, 1), "project"), "p");
  fail_unless_equals_string (str_at (json_array_get_element (a, 1), "location"), "global");
  fail_unless_equals_string (str_at (json_array_get_element (a, 3), "api"), "vertex");
}
GST_END_TEST;

/* Authorization: Bearer against --access-token, Vertex's 401 bodies, and
 * the request log's api, project, location and auth fields. */
GST_START_TEST (test_vertex_auth)
{
  EmulatorProcess vtx ({"--access-token", "right-token"});
  const std::string body = prompt_body ("vertex", "{\"responseModalities\":[\"TEXT\"]}");
  const std::string url = vtx.base_url ()
      + "/v1/projects/my-proj/locations/europe-west4/publishers/google/models/gemini-3-pro-image:generateContent";
  HttpReply r = send ("POST", url, &body, {{"Authorization", "Bearer wrong-token"}});
  expect_google_error (r, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials");
  fail_unless_equals_string (str_at (r.json.get (), "error.details.0.metadata.service"), "aiplatform.googleapis.com");
  r = send ("POST", url, &body);
  expect_google_error (r, 401, "UNAUTHENTICATED", "Request is missing required authentication credential");
  fail_unless_equals_string (str_at (r.json.get (), "error.details.0.reason"), "CREDENTIALS_MISSING");
  r = send ("POST", url, &body, {{"Authorization", "Bearer right-token"}});
  fail_unless_equals_int (r.status, 200);
  /* Express mode: a key, no project. */
  r = send ("POST", vtx.base_url () + "/v1beta1/publishers/google/models/gemini-3-pro-image:generateContent", &body,
      {{"x-goog-api-key", "k"}});
  fail_unless_equals_int (r.status, 200);
  r = send ("POST", vtx.base_url () + "/v1beta1/publishers/google/models/no-such-model:generateContent", &body,
      {{"x-goog-api-key", "k"}});
  expect_google_error (r, 404, "NOT_FOUND", "Publisher Model `publishers/google/models/no-such-model` was not found");

  JsonNode *log = vtx.requests ();
  JsonNodePtr owner (log);
  JsonArray *a = json_node_get_array (log);
  fail_unless_equals_int (json_array_get_length (a), 5);
  JsonNode *ok = json_array_get_element (a, 2);
  fail_unless_equals_string (str_at (ok, "api"), "vertex");
  fail_unless_equals_string (str_at (ok, "project"), "my-proj");
  fail_unless_equals_string (str_at (ok, "location"), "europe-west4");
  fail_unless_equals_string (str_at (ok, "auth"), "bearer");
  fail_unless_equals_string (str_at (json_array_get_element (a, 1), "auth"), "none");
  JsonNode *express = json_array_get_element (a, 3);
  fail_unless_equals_string (str_at (express, "auth"), "header");
  fail_unless_equals_string (str_at (express, "project"), "");
  HttpReply raw_log = send ("GET", vtx.base_url () + "/emulator/requests", nullptr);
  fail_unless (raw_log.body.find ("right-token") == std::string::npos);
  fail_unless (raw_log.body.find ("wrong-token") == std::string::npos);
}
GST_END_TEST;

GST_START_TEST (test_validation)
{
  struct {
    std::string body;
    const char *model;
    guint code;
    const char *message;
  } cases[] = {
    {"{\"contents\": [", "gemini-3-pro-image", 400, "Invalid JSON payload received."},
    {"[1,2]", "gemini-3-pro-image", 400, "Invalid JSON payload received."},
    {"{}", "gemini-3-pro-image", 400, "contents is not specified"},
    {"{\"contents\":[]}", "gemini-3-pro-image", 400, "contents is not specified"},
    {"{\"contents\":[{\"parts\":[]}]}", "gemini-3-pro-image", 400, "must not be empty"},
    {prompt_body ("x", "{\"imageConfig\":{\"aspectRatio\":\"7:3\"}}"), "gemini-3-pro-image", 400, "aspect"},
    {prompt_body ("x", "{\"imageConfig\":{\"imageSize\":\"1k\"}}"), "gemini-3-pro-image", 400, "1k"},
    {prompt_body ("x", "{\"candidateCount\":2}"), "gemini-3-pro-image", 400,
        "Multiple candidates is not enabled for models/gemini-3-pro-image"},
    {prompt_body ("x", "{\"responseModalities\":[\"VIDEO\"]}"), "gemini-3-pro-image", 400, "VIDEO"},
    {prompt_body ("x", "{\"thinkingConfig\":{\"thinkingBudget\":10,\"thinkingLevel\":\"LOW\"}}"),
        "gemini-3-pro-image", 400, "only one of thinking budget and thinking level"},
    {"{\"contents\":[{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"not base64!\"}}]}]}",
        "gemini-3-pro-image", 400, "Unable to process input image. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting"},
    {"{\"contents\":[{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/gif\",\"data\":\"R0lGODlh\"}}]}]}",
        "gemini-3-pro-image", 400, "Unable to process input image."},
    {"{\"contents\":[{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"aGVsbG8=\"}}]}]}",
        "gemini-3-pro-image", 400, "Unable to process input image."},
    {"{\"contents\":[{\"parts\":[{\"fileData\":{\"mimeType\":\"image/png\",\"fileUri\":"
        "\"https://generativelanguage.googleapis.com/v1beta/files/abc\"}}]}]}",
        "gemini-3-pro-image", 403, "File abc"},
    /* Gemini 3: a model turn's image must carry its thought signature. */
    {"{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"a\"}]},{\"role\":\"model\",\"parts\":[{\"inlineData\":"
        "{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}}]},{\"role\":\"user\",\"parts\":[{\"text\":\"b\"}]}]}",
        "gemini-3-pro-image", 400, "Image part is missing a thought_signature in content position 2, "
        "part position 1."},
  };
  for (const auto & c : cases) {
    HttpReply r = generate (c.body, c.model);
    expect_google_error (r, c.code, c.code == 403 ? "PERMISSION_DENIED" : "INVALID_ARGUMENT", c.message);
  }
  /* Rejected requests are logged with their answer. */
  JsonNodePtr log (emu->requests ());
  JsonArray *a = json_node_get_array (log.get ());
  fail_unless_equals_int (json_array_get_length (a), G_N_ELEMENTS (cases));
  fail_unless_equals_string (str_at (json_array_get_element (a, 0), "answer"), "error");
  fail_unless_equals_int (int_at (json_array_get_element (a, 0), "status"), 400);
  fail_unless (JSON_NODE_HOLDS_NULL (must_at (json_array_get_element (a, 0), "body")));
}
GST_END_TEST;

/* json-glib's parser is recursive: ~80,000 nested '[' overflow its stack.
 * The emulator parses requests and scripts with gemini::parse_json, which
 * refuses anything nested deeper than the plugin's limit with a 400 whose
 * message says so, and stays up. */
GST_START_TEST (test_too_deep)
{
  const std::string deep_message = "nested deeper than " + std::to_string (kMaxJsonDepth) + " levels";
  std::string object_nest;
  for (int i = 0; i < 100000; i++)
    object_nest += "{\"a\":";
  for (const std::string & body : {std::string (100000, '['), object_nest}) {
    HttpReply r = generate (body);
    expect_google_error (r, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    expect_error_message (r, deep_message.c_str ());

    r = post_script (body);
    expect_google_error (r, 400, "INVALID_ARGUMENT", "the script is not JSON");
    expect_error_message (r, deep_message.c_str ());
  }
  /* Still alive: it answers, and logged the refused requests. */
  JsonNodePtr st = status_json ();
  fail_unless_equals_int (int_at (st.get (), "requests"), 2);
  JsonNodePtr log (emu->requests ());
  JsonArray *a = json_node_get_array (log.get ());
  fail_unless_equals_int (json_array_get_length (a), 2);
  for (guint i = 0; i < 2; i++) {
    fail_unless_equals_string (str_at (json_array_get_element (a, i), "answer"), "error");
    fail_unless_equals_int (int_at (json_array_get_element (a, i), "status"), 400);
    fail_unless (JSON_NODE_HOLDS_NULL (must_at (json_array_get_element (a, i), "body")));
  }

  /* Just at the limit is still JSON: a request the validator refuses, and a
   * script that is not a list of steps. (Not followed by a look at the log:
   * the log puts a body two levels down, too deep for parse_json.) */
  const std::string at_limit = std::string (kMaxJsonDepth, '[') + std::string (kMaxJsonDepth, ']');
  HttpReply r = generate (at_limit);
  expect_google_error (r, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
  expect_error_message (r, "Root element must be a message");
  r = post_script (at_limit);
  expect_google_error (r, 400, "INVALID_ARGUMENT", "a step is an object");

  /* And still draws. */
  r = generate (prompt_body ("after the deep ones"));
  fail_unless_equals_int (r.status, 200);
  image_part (r, 1, ImageFormat::Jpeg);
}
GST_END_TEST;

/* -------------------------------------------------------- script tests */

GST_START_TEST (test_script_content_actions)
{
  emu->set_script ("{\"steps\":[{\"do\":\"text-only\"},{\"do\":\"text-only\",\"text\":\"A poem.\"},"
      "{\"do\":\"finish\",\"reason\":\"NO_IMAGE\"},"
      "{\"do\":\"finish\",\"reason\":\"IMAGE_SAFETY\",\"message\":\"Support code: 42.\",\"text\":\"Sorry\"},"
      "{\"do\":\"prompt-blocked\",\"reason\":\"PROHIBITED_CONTENT\",\"message\":\"blocked\"},"
      "{\"do\":\"image\"}]}");
  const std::string body = prompt_body ("scripted");
  HttpReply r = generate (body);
  fail_unless_equals_int (r.status, 200);
  fail_unless_equals_string (str_at (r.json.get (), "candidates.0.finishReason"), "STOP");
  fail_unless_equals_int (length_at (r.json.get (), "candidates.0.content.parts"), 1);
  fail_unless (g_str_has_prefix (str_at (r.json.get (), "candidates.0.content.parts.0.text"), "I can't draw that"));

  r = generate (body);
  fail_unless_equals_string (str_at (r.json.get (), "candidates.0.content.parts.0.text"), "A poem.");

  r = generate (body);
  fail_unless_equals_string (str_at (r.json.get (), "candidates.0.finishReason"), "NO_IMAGE");
  fail_unless_equals_int (length_at (r.json.get (), "candidates.0.content"), 0);
  fail_if (json_at (r.json.get (), "candidates.0.finishMessage"));

  r = generate (body);
  fail_unless_equals_string (str_at (r.json.get (), "candidates.0.finishReason"), "IMAGE_SAFETY");
  fail_unless_equals_string (str_at (r.json.get (), "candidates.0.finishMessage"), "Support code: 42.");
  fail_unless_equals_string (str_at (r.json.get (), "candidates.0.content.parts.0.text"), "Sorry");

  r = generate (body);
  fail_unless_equals_int (r.status, 200);
  fail_if (json_at (r.json.get (), "candidates"));
  fail_unless_equals_string (str_at (r.json.get (), "promptFeedback.blockReason"), "PROHIBITED_CONTENT");
  fail_unless_equals_string (str_at (r.json.get (), "promptFeedback.blockReasonMessage"), "blocked");
  fail_unless (int_at (r.json.get (), "usageMetadata.promptTokenCount") > 0);

  r = generate (body);
  fail_unless (json_at (r.json.get (), "candidates.0.content.parts.1.inlineData"));
  /* Steps used up, "then" defaults to normal generation. */
  r = generate (body);
  fail_unless (json_at (r.json.get (), "candidates.0.content.parts.1.inlineData"));

  JsonNodePtr log (emu->requests ());
  JsonArray *a = json_node_get_array (log.get ());
  const char *expected[] = {"text-only", "text-only", "finish:NO_IMAGE", "finish:IMAGE_SAFETY",
      "prompt-blocked:PROHIBITED_CONTENT", "image", "image"};
  fail_unless_equals_int (json_array_get_length (a), G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    fail_unless_equals_string (str_at (json_array_get_element (a, i), "answer"), expected[i]);
}
GST_END_TEST;

GST_START_TEST (test_script_errors)
{
  emu->set_script ("[{\"do\":\"error\",\"status\":503},"
      "{\"do\":\"error\",\"status\":429,\"retry_delay\":\"0.4s\",\"quota_id\":\"GenerateRequestsPerDayPerProjectPerModel-FreeTier\","
      "\"limit_zero\":true,\"retry_after\":\"7\"},"
      "{\"do\":\"error\",\"status\":500,\"message\":\"custom\"},"
      "{\"do\":\"error\",\"status\":502},"
      "{\"do\":\"error-in-200\",\"status\":503},"
      "{\"do\":\"error\",\"status\":504},{\"do\":\"error\",\"status\":401},{\"do\":\"error\",\"status\":408}]");
  const std::string body = prompt_body ("errors");
  HttpReply r = generate (body);
  expect_google_error (r, 503, "UNAVAILABLE", "The model is overloaded. Please try again later.");

  r = generate (body);
  expect_google_error (r, 429, "RESOURCE_EXHAUSTED", "limit: 0");
  fail_unless_equals_string (r.header ("Retry-After"), "7");
  bool quota = false, retry = false;
  JsonArray *details = json_node_get_array (must_at (r.json.get (), "error.details"));
  for (guint i = 0; i < json_array_get_length (details); i++) {
    JsonNode *d = json_array_get_element (details, i);
    const char *type = str_at (d, "@type");
    if (!strcmp (type, "type.googleapis.com/google.rpc.QuotaFailure")) {
      quota = true;
      fail_unless_equals_string (str_at (d, "violations.0.quotaId"), "GenerateRequestsPerDayPerProjectPerModel-FreeTier");
    } else if (!strcmp (type, "type.googleapis.com/google.rpc.RetryInfo")) {
      retry = true;
      fail_unless_equals_string (str_at (d, "retryDelay"), "0.4s");
    }
  }
  fail_unless (quota && retry);

  r = generate (body);
  expect_google_error (r, 500, "INTERNAL", "custom");

  r = generate (body);
  fail_unless_equals_int (r.status, 502);
  fail_unless (g_str_has_prefix (r.content_type.c_str (), "text/html"));
  fail_unless (r.body.find ("<html") != std::string::npos);

  r = generate (body);
  fail_unless_equals_int (r.status, 200);
  fail_unless_equals_int (int_at (r.json.get (), "error.code"), 503);
  fail_unless_equals_string (str_at (r.json.get (), "error.status"), "UNAVAILABLE");

  expect_google_error (generate (body), 504, "DEADLINE_EXCEEDED", "");
  expect_google_error (generate (body), 401, "UNAUTHENTICATED", "");
  fail_unless_equals_int (generate (body).status, 408);
}
GST_END_TEST;

GST_START_TEST (test_script_replay_and_raw)
{
  emu->set_script ("[{\"do\":\"replay\",\"file\":\"test_google_image_or_text_output.yaml\",\"interaction\":1},"
      "{\"do\":\"replay\",\"file\":\"test_google_image_or_text_output.yaml\"},"
      "{\"do\":\"raw\",\"status\":418,\"content_type\":\"text/plain\",\"body\":\"teapot\",\"headers\":{\"X-Extra\":\"1\"}}]");
  HttpReply r = generate (prompt_body ("replay"));
  fail_unless_equals_int (r.status, 200);
  fail_unless_equals_string (r.content_type.c_str (), "application/json; charset=UTF-8");
  DecodedImage img = image_part (r, 1, ImageFormat::Png);
  fail_unless_equals_int (img.width, 1024);
  fail_unless_equals_string (str_at (r.json.get (), "responseId"), "vIfdaKSMD96ez7IPpr73qAM");

  r = generate (prompt_body ("replay"));
  fail_unless_equals_int (length_at (r.json.get (), "candidates.0.content.parts"), 1);

  r = generate (prompt_body ("raw"));
  fail_unless_equals_int (r.status, 418);
  fail_unless_equals_string (r.content_type.c_str (), "text/plain");
  fail_unless_equals_string (r.body.c_str (), "teapot");
  fail_unless_equals_string (r.header ("X-Extra"), "1");
}
GST_END_TEST;

GST_START_TEST (test_script_broken_bodies)
{
  emu->set_script ("[{\"do\":\"malformed-json\"},{\"do\":\"bad-base64\"},{\"do\":\"bad-image\"},{\"do\":\"bomb\"},"
      "{\"do\":\"bomb\",\"width\":70000,\"height\":3}]");
  const std::string body = prompt_body ("broken");
  HttpReply r = generate (body);
  fail_unless_equals_int (r.status, 200);
  fail_unless (r.json == nullptr, "malformed-json gave valid JSON");
  fail_unless (r.body.size () > 1000 && r.body[0] == '{');

  r = generate (body);
  const char *data = str_at (r.json.get (), "candidates.0.content.parts.1.inlineData.data");
  gsize len = 0;
  fail_unless (strpbrk (data, "!*@#") != nullptr);

  r = generate (body);
  data = str_at (r.json.get (), "candidates.0.content.parts.1.inlineData.data");
  GCharPtr garbage (reinterpret_cast<gchar *> (g_base64_decode (data, &len)));
  fail_unless (len > 8 && memcmp (garbage.get (), "\x89PNG\r\n\x1a\n", 8) == 0);
  DecodedImage img;
  std::string error;
  fail_if (decode_image (reinterpret_cast<const guint8 *> (garbage.get ()), len, DecodeLimits {}, img, error));

  for (guint32 want_w : {100000u, 70000u}) {
    r = generate (body);
    data = str_at (r.json.get (), "candidates.0.content.parts.1.inlineData.data");
    GCharPtr bomb (reinterpret_cast<gchar *> (g_base64_decode (data, &len)));
    fail_unless (len < 200, "bomb is %zu bytes", len);
    const guint8 *p = reinterpret_cast<const guint8 *> (bomb.get ());
    fail_unless (memcmp (p + 12, "IHDR", 4) == 0);
    fail_unless_equals_int (guint32 (p[16] << 24 | p[17] << 16 | p[18] << 8 | p[19]), want_w);
    fail_if (decode_image (p, len, DecodeLimits {}, img, error));
  }
}
GST_END_TEST;

GST_START_TEST (test_script_transport_failures)
{
  emu->set_script ("[{\"do\":\"reset\"},{\"do\":\"truncate\"},{\"do\":\"truncate\",\"bytes\":10,\"delay_ms\":50}]");
  const std::string body = prompt_body ("transport");
  HttpReply r = generate (body);
  fail_unless (r.error != nullptr, "reset gave HTTP %u", r.status);
  GST_INFO ("reset: %s", r.error->message);
  r = generate (body);
  fail_unless (r.error != nullptr, "truncate gave HTTP %u", r.status);
  GST_INFO ("truncate: %s", r.error->message);
  r = generate (body);
  fail_unless (r.error != nullptr, "truncate gave HTTP %u", r.status);

  JsonNodePtr log (emu->requests ());
  JsonArray *a = json_node_get_array (log.get ());
  fail_unless_equals_string (str_at (json_array_get_element (a, 0), "answer"), "reset");
  fail_unless_equals_int (int_at (json_array_get_element (a, 0), "status"), 0);
  fail_unless_equals_string (str_at (json_array_get_element (a, 1), "answer"), "truncate");
  fail_unless_equals_int (int_at (json_array_get_element (a, 1), "status"), 200);
  fail_unless (wait_connections_closed (5));
}
GST_END_TEST;

GST_START_TEST (test_script_hang)
{
  emu->set_script ("[{\"do\":\"hang\"}]");
  HttpReply r = generate (prompt_body ("hang"), "gemini-3-pro-image", "k", 1);
  fail_unless (r.error != nullptr);
  fail_unless (r.seconds >= 0.9, "gave up after %.2f s", r.seconds);
  /* The emulator releases the connection once the client has gone. */
  fail_unless (wait_connections_closed (5));
}
GST_END_TEST;

GST_START_TEST (test_script_endless)
{
  emu->set_script ("[{\"do\":\"endless\",\"chunk_bytes\":16384,\"interval_ms\":5}]");
  GObjectPtr<SoupSession> session (http_session ());
  GObjectPtr<SoupMessage> msg (soup_message_new ("POST", generate_url ("gemini-3-pro-image").c_str ()));
  soup_message_headers_append (soup_message_get_request_headers (msg.get ()), "x-goog-api-key", "k");
  GBytesPtr b (bytes_of (prompt_body ("endless")));
  soup_message_set_request_body_from_bytes (msg.get (), "application/json", b.get ());
  GErrorPtr err;
  GObjectPtr<GInputStream> in (soup_session_send (session.get (), msg.get (), nullptr, out_error (err)));
  fail_unless (in != nullptr, "%s", err ? err->message : "");
  fail_unless_equals_int (soup_message_get_status (msg.get ()), 200);
  fail_unless (soup_message_headers_get_encoding (soup_message_get_response_headers (msg.get ())) ==
      SOUP_ENCODING_CHUNKED);
  std::string buf (256 * 1024, '\0');
  gsize got = 0;
  fail_unless (g_input_stream_read_all (in.get (), buf.data (), buf.size (), &got, nullptr, nullptr));
  fail_unless_equals_int (got, buf.size ());
  fail_unless (buf.starts_with ("{"));
  fail_unless_equals_int (int_at (status_json ().get (), "open_connections"), 1);
  /* The client gives up: the stream must stop. */
  g_input_stream_close (in.get (), nullptr, nullptr);
  in.reset ();
  msg.reset ();
  session.reset ();
  fail_unless (wait_connections_closed (5));
}
GST_END_TEST;

GST_START_TEST (test_script_delay_and_headers)
{
  emu->set_script ("[{\"do\":\"text-only\",\"delay_ms\":1500,\"headers\":{\"X-Scripted\":\"yes\"}}]");
  HttpReply slow;
  std::thread client ([&slow] { slow = generate (prompt_body ("slow")); });
  /* The delay is not a blocking sleep: the emulator keeps answering. */
  g_usleep (200 * 1000);
  const gint64 start = g_get_monotonic_time ();
  JsonNodePtr st = status_json ();
  fail_unless ((g_get_monotonic_time () - start) / 1000 < 500);
  fail_unless_equals_int (int_at (st.get (), "pending_replies"), 1);
  client.join ();
  fail_unless_equals_int (slow.status, 200);
  fail_unless (slow.seconds >= 1.4, "answered after %.2f s", slow.seconds);
  fail_unless_equals_string (slow.header ("X-Scripted"), "yes");
}
GST_END_TEST;

GST_START_TEST (test_script_then)
{
  const std::string body = prompt_body ("then", "{\"responseModalities\":[\"TEXT\"]}");
  emu->set_script ("{\"steps\":[{\"do\":\"error\",\"status\":503}],\"then\":\"repeat\"}");
  for (int i = 0; i < 3; i++)
    fail_unless_equals_int (generate (body).status, 503);
  emu->set_script ("{\"steps\":[{\"do\":\"error\",\"status\":503}],\"then\":\"default\"}");
  fail_unless_equals_int (generate (body).status, 503);
  fail_unless_equals_int (generate (body).status, 200);
  /* A new script starts from its first step. */
  emu->set_script ("[{\"do\":\"error\",\"status\":500},{\"do\":\"error\",\"status\":504}]");
  fail_unless_equals_int (generate (body).status, 500);
  emu->set_script ("[{\"do\":\"error\",\"status\":500},{\"do\":\"error\",\"status\":504}]");
  fail_unless_equals_int (generate (body).status, 500);
  fail_unless_equals_int (generate (body).status, 504);
  /* Auth failures do not consume steps. */
  emu->set_script ("[{\"do\":\"error\",\"status\":500}]");
  fail_unless_equals_int (generate (body, "gemini-3-pro-image", nullptr).status, 403);
  fail_unless_equals_int (generate (body).status, 500);
}
GST_END_TEST;

GST_START_TEST (test_bad_scripts)
{
  struct {
    const char *script;
    const char *message;
  } cases[] = {
    {"{", "not JSON"},
    {"42", "a script is"},
    {"[{\"do\":\"explode\"}]", "unknown action \"explode\""},
    {"[{\"action\":\"image\"}]", "\"do\""},
    {"[{\"do\":\"error\"}]", "\"status\""},
    {"[{\"do\":\"error\",\"status\":503,\"retry_delay\":\"soon\"}]", "retry_delay"},
    {"[{\"do\":\"image\",\"delay\":5}]", "unknown parameter \"delay\""},
    {"[{\"do\":\"image\",\"delay_ms\":-1}]", "delay_ms"},
    {"[{\"do\":\"replay\",\"file\":\"nope.yaml\"}]", "nope.yaml"},
    {"[{\"do\":\"replay\",\"file\":\"test_google_image_or_text_output.yaml\",\"interaction\":5}]", "no index 5"},
    {"{\"steps\":[],\"then\":\"forever\"}", "\"then\""},
    {"[{\"do\":\"image\",\"headers\":{\"X\":1}}]", "header"},
  };
  for (const auto & c : cases) {
    HttpReply r = post_script (c.script);
    fail_unless_equals_int (r.status, 400);
    const char *msg = str_at (r.json.get (), "error.message");
    fail_unless (strstr (msg, c.message) != nullptr, "%s: message \"%s\"", c.script, msg);
  }
}
GST_END_TEST;


/* "then": "cycle" starts again at the first step (soak tests). */
GST_START_TEST (test_script_cycle)
{
  const std::string body = prompt_body ("cycle", "{\"responseModalities\":[\"TEXT\"]}");
  std::string script = "{\"steps\":[{\"do\":\"error\",\"status\":503,\"retry_delay\":\"0s\"},{\"do\":\"image\"},"
      "{\"do\":\"image\"}],\"then\":\"cycle\"}";
  HttpReply r = post_script (script);
  fail_unless_equals_int (r.status, 200);
  fail_unless_equals_string (str_at (r.json.get (), "then"), "cycle");
  fail_unless_equals_int (int_at (r.json.get (), "steps"), 3);
  const guint expected[] = {503, 200, 200, 503, 200, 200, 503, 200};
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++) {
    HttpReply g = generate (body);
    fail_unless_equals_int (g.status, expected[i]);
    if (expected[i] == 503)
      expect_error_message (g, "Please retry in 0s.");
  }
  JsonNodePtr st = status_json ();
  fail_unless_equals_string (str_at (st.get (), "then"), "cycle");
  fail_unless_equals_int (int_at (st.get (), "requests"), 8);
  fail_unless_equals_int (int_at (st.get (), "next_step"), 2);
  /* The log numbers the step of each request: 1 2 3 1 2 3 ... */
  JsonNodePtr log (emu->requests ());
  JsonArray *a = json_node_get_array (log.get ());
  fail_unless_equals_int (json_array_get_length (a), 8);
  fail_unless_equals_string (str_at (json_array_get_element (a, 3), "answer"), "error");
  fail_unless_equals_string (str_at (json_array_get_element (a, 4), "answer"), "text-only");

  /* An empty cycling script is normal generation. */
  emu->set_script ("{\"steps\":[],\"then\":\"cycle\"}");
  fail_unless_equals_int (generate (body).status, 200);
  /* A bad "then" names the three choices. */
  r = post_script ("{\"steps\":[],\"then\":\"loop\"}");
  fail_unless_equals_int (r.status, 400);
  expect_error_message (r, "\"cycle\"");
}
GST_END_TEST;

/* Each log entry has the host the request was addressed to and when it
 * arrived (the emulator's g_get_monotonic_time (): on Linux the same
 * CLOCK_MONOTONIC as the test's). */
GST_START_TEST (test_requests_log_host_and_time)
{
  const std::string body = prompt_body ("timed", "{\"responseModalities\":[\"TEXT\"]}");
  const gint64 before = g_get_monotonic_time ();
  fail_unless_equals_int (generate (body).status, 200);
  g_usleep (300 * 1000);
  fail_unless_equals_int (generate (body).status, 200);
  const gint64 after = g_get_monotonic_time ();
  JsonNodePtr log (emu->requests ());
  JsonArray *a = json_node_get_array (log.get ());
  JsonNode *e1 = json_array_get_element (a, 0), *e2 = json_array_get_element (a, 1);
  fail_unless_equals_string (str_at (e1, "host"), "127.0.0.1");
  const gint64 t1 = int_at (e1, "received_us"), t2 = int_at (e2, "received_us");
  fail_unless (t1 >= before && t2 <= after, "%" G_GINT64_FORMAT " %" G_GINT64_FORMAT " not in [%"
      G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]", t1, t2, before, after);
  fail_unless (t2 - t1 >= 300 * 1000, "%" G_GINT64_FORMAT " us apart", t2 - t1);
}
GST_END_TEST;

/* Through an HTTP proxy a client sends the absolute-form target
 * "POST http://gemini.test/v1beta/...": the emulator routes it by path and
 * logs the host, so a test can prove a request came through a proxy. */
GST_START_TEST (test_proxy_absolute_form)
{
  session_proxy = emu->base_url ();
  const std::string body = prompt_body ("proxied");
  HttpReply r = send ("POST", "http://gemini.test/v1beta/models/gemini-3-pro-image:generateContent", &body,
      {{"x-goog-api-key", "k"}});
  fail_unless (!r.error, "%s", r.error ? r.error->message : "");
  fail_unless_equals_int (r.status, 200);
  fail_unless (json_at (r.json.get (), "candidates.0.content.parts.1.inlineData"));
  /* Unknown paths are still 404, whatever the host. */
  r = send ("POST", "http://gemini.test/v1beta/models/x:countTokens", &body, {{"x-goog-api-key", "k"}});
  fail_unless_equals_int (r.status, 404);
  session_proxy.clear ();

  JsonNodePtr log (emu->requests ());
  JsonArray *a = json_node_get_array (log.get ());
  fail_unless_equals_int (json_array_get_length (a), 1);
  JsonNode *e = json_array_get_element (a, 0);
  fail_unless_equals_string (str_at (e, "host"), "gemini.test");
  fail_unless_equals_string (str_at (e, "headers.host"), "gemini.test");
  fail_unless_equals_string (str_at (e, "path"), "/v1beta/models/gemini-3-pro-image:generateContent");
  fail_unless_equals_string (str_at (e, "answer"), "image");
}
GST_END_TEST;

/* --tls-cert/--tls-key: HTTPS with a self-signed certificate made here. */
GST_START_TEST (test_tls)
{
  std::string cert, key, why;
  if (!make_self_signed_cert (tmp_dir (), cert, key, why)) {
    g_printerr ("test_tls skipped: %s\n", why.c_str ());
    return;
  }
  {
    EmulatorProcess tls ({"--tls-cert", cert, "--tls-key", key});
    fail_unless (g_str_has_prefix (tls.base_url ().c_str (), "https://127.0.0.1:"), "%s", tls.base_url ().c_str ());
    /* The control calls go over HTTPS too (EmulatorProcess trusts the cert). */
    tls.set_script ("[{\"do\":\"image\"},{\"do\":\"hang\"}]");
    const std::string url = tls.base_url () + "/v1beta/models/gemini-3-pro-image:generateContent";
    const std::string body = prompt_body ("over tls");

    /* Not trusted: a certificate error, and no request reached the API. */
    HttpReply r = send ("POST", url, &body, {{"x-goog-api-key", "k"}});
    fail_unless (r.error != nullptr, "an untrusted certificate was accepted");
    fail_unless (r.error->domain == G_TLS_ERROR, "%s", r.error->message);
    JsonNodePtr log (tls.requests ());
    fail_unless_equals_int (json_array_get_length (json_node_get_array (log.get ())), 0);

    /* Trusted: the normal answer. */
    GErrorPtr err;
    GObjectPtr<GTlsDatabase> db (g_tls_file_database_new (cert.c_str (), out_error (err)));
    fail_unless (db != nullptr, "%s", err ? err->message : "");
    session_tls_db = db.get ();
    r = send ("POST", url, &body, {{"x-goog-api-key", "k"}});
    fail_unless (!r.error, "%s", r.error ? r.error->message : "");
    fail_unless_equals_int (r.status, 200);
    image_part (r, 1, ImageFormat::Jpeg);
    /* Raw actions work over TLS too: hang, then the client gives up. */
    r = send ("POST", url, &body, {{"x-goog-api-key", "k"}}, 1);
    fail_unless (r.error != nullptr);
    session_tls_db = nullptr;
    log.reset (tls.requests ());
    JsonArray *a = json_node_get_array (log.get ());
    fail_unless_equals_int (json_array_get_length (a), 2);
    fail_unless_equals_string (str_at (json_array_get_element (a, 0), "host"), "127.0.0.1");
    fail_unless_equals_string (str_at (json_array_get_element (a, 1), "answer"), "hang");
  }
}
GST_END_TEST;

/* ------------------------------------------------------- control tests */

GST_START_TEST (test_requests_log)
{
  std::string body = prompt_body ("logged", "{\"responseModalities\":[\"TEXT\"]}");
  HttpReply r = send ("POST", generate_url ("gemini-3-pro-image"), &body,
      {{"x-goog-api-key", "secret-header-key"}, {"Authorization", "Bearer tok"}, {"X-Custom", "v"}});
  fail_unless_equals_int (r.status, 200);
  JsonNodePtr log (emu->requests ());
  JsonNode *e = json_array_get_element (json_node_get_array (log.get ()), 0);
  fail_unless_equals_int (int_at (e, "index"), 1);
  fail_unless_equals_string (str_at (e, "path"), "/v1beta/models/gemini-3-pro-image:generateContent");
  fail_unless_equals_string (str_at (e, "model"), "gemini-3-pro-image");
  fail_unless (bool_at (e, "api_key_present"));
  fail_if (bool_at (e, "query_key_present"));
  fail_unless_equals_string (str_at (e, "headers.x-custom"), "v");
  fail_if (json_at (e, "headers.x-goog-api-key"));
  fail_if (json_at (e, "headers.authorization"));
  fail_unless_equals_string (str_at (e, "body.contents.0.parts.0.text"), "logged");
  fail_unless_equals_string (str_at (e, "answer"), "text-only");
  fail_unless_equals_int (int_at (e, "status"), 200);

  /* The log keeps the last 64 requests, oldest first. */
  emu->set_script ("{\"steps\":[{\"do\":\"raw\",\"body\":\"{}\"}],\"then\":\"repeat\"}");
  for (int i = 0; i < 70; i++)
    fail_unless_equals_int (generate (body).status, 200);
  log.reset (emu->requests ());
  JsonArray *a = json_node_get_array (log.get ());
  fail_unless_equals_int (json_array_get_length (a), 64);
  fail_unless_equals_int (int_at (json_array_get_element (a, 0), "index"), 71 - 63);
  fail_unless_equals_int (int_at (json_array_get_element (a, 63), "index"), 71);

  emu->reset ();
  log.reset (emu->requests ());
  fail_unless_equals_int (json_array_get_length (json_node_get_array (log.get ())), 0);
  /* Reset also dropped the script: back to images. */
  r = generate (prompt_body ("after reset"));
  fail_unless (json_at (r.json.get (), "candidates.0.content.parts.1.inlineData"));
  JsonNodePtr st = status_json ();
  fail_unless_equals_int (int_at (st.get (), "requests"), 1);
  fail_unless_equals_int (int_at (st.get (), "script_steps"), 0);

  r = send ("GET", emu->base_url () + "/emulator/script", nullptr);
  fail_unless_equals_int (r.status, 405);
  r = send ("GET", emu->base_url () + "/emulator/nothing", nullptr);
  fail_unless_equals_int (r.status, 404);
}
GST_END_TEST;

/* ---------------------------------------------------- command line */

struct Run {
  int status = -1;
  std::string out, err;
};

/* Runs the emulator with `args`; if it starts, sends one request with
 * `key`, then SIGTERM, and collects both output streams. */
static Run
run_emulator (const std::vector<std::string> & args, const char *key = nullptr)
{
  std::vector<const char *> argv {g_getenv ("GEMINI_EMULATOR")};
  for (const auto & a : args)
    argv.push_back (a.c_str ());
  argv.push_back (nullptr);
  GErrorPtr err;
  GObjectPtr<GSubprocess> proc (g_subprocess_newv (argv.data (),
      GSubprocessFlags (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE), out_error (err)));
  fail_unless (proc != nullptr);
  GObjectPtr<GDataInputStream> out (g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc.get ())));
  Run run;
  GCharPtr line (g_data_input_stream_read_line_utf8 (out.get (), nullptr, nullptr, nullptr));
  if (line) {
    run.out = line.get ();
    const std::string prefix = "gemini-emulator listening on ";
    fail_unless (run.out.starts_with (prefix), "%s", run.out.c_str ());
    if (key) {
      const std::string body = prompt_body ("cli", "{\"responseModalities\":[\"TEXT\"]}");
      HttpReply r = send ("POST", run.out.substr (prefix.size ()) + "/v1beta/models/gemini-3-pro-image:generateContent",
          &body, {{"x-goog-api-key", key}});
      fail_unless_equals_int (r.status, 200);
    }
    g_subprocess_send_signal (proc.get (), SIGTERM);
  }
  GCharPtr rest_out, rest_err;
  gchar *o = nullptr, *e = nullptr;
  g_subprocess_communicate_utf8 (proc.get (), nullptr, nullptr, &o, &e, nullptr);
  rest_out.reset (o);
  rest_err.reset (e);
  run.out += rest_out ? rest_out.get () : "";
  run.err = e ? e : "";
  fail_unless (g_subprocess_get_if_exited (proc.get ()), "the emulator did not exit by itself");
  run.status = g_subprocess_get_exit_status (proc.get ());
  return run;
}

GST_START_TEST (test_command_line)
{
  Run run = run_emulator ({"--latency-ms", "10"}, "very-secret-key-42");
  fail_unless_equals_int (run.status, 0);
  /* Exactly one line on stdout. */
  fail_unless (g_str_has_prefix (run.out.c_str (), "gemini-emulator listening on http://127.0.0.1:"));
  fail_unless_equals_int (std::count (run.out.begin (), run.out.end (), '\n'), 0);
  /* One log line for the request, without the key. */
  fail_unless (run.err.find ("#1 POST /v1beta/models/gemini-3-pro-image:generateContent") != std::string::npos,
      "%s", run.err.c_str ());
  fail_unless (run.err.find ("key=header") != std::string::npos);
  fail_unless (run.err.find ("prompt=\"cli\"") != std::string::npos);
  fail_unless (run.err.find ("delay=10ms") != std::string::npos);
  fail_unless (run.err.find ("very-secret-key-42") == std::string::npos);

  run = run_emulator ({"--quiet"}, "k");
  fail_unless_equals_int (run.status, 0);
  fail_unless (run.err.find ("#1") == std::string::npos, "%s", run.err.c_str ());

  run = run_emulator ({"--host", "0.0.0.0"});
  fail_unless_equals_int (run.status, 1);
  fail_unless (run.err.find ("--allow-remote") != std::string::npos, "%s", run.err.c_str ());

  const std::string bad = tmp_path ("bad.json"), good = tmp_path ("good.json");
  fail_unless (g_file_set_contents (bad.c_str (), "[{\"do\":\"nope\"}]", -1, nullptr));
  fail_unless (g_file_set_contents (good.c_str (), "[{\"do\":\"text-only\",\"text\":\"from file\"}]", -1, nullptr));
  run = run_emulator ({"--script", bad});
  fail_unless_equals_int (run.status, 1);
  fail_unless (run.err.find ("unknown action") != std::string::npos, "%s", run.err.c_str ());
  run = run_emulator ({"--script", good}, "k");
  fail_unless_equals_int (run.status, 0);
  fail_unless (run.err.find ("step=1/1") != std::string::npos, "%s", run.err.c_str ());
  fail_unless (run.err.find ("text-only") != std::string::npos, "%s", run.err.c_str ());

  run = run_emulator ({"--no-such-option"});
  fail_unless_equals_int (run.status, 2);
  run = run_emulator ({"--list-page-size", "1001"});
  fail_unless_equals_int (run.status, 2);
  fail_unless (run.err.find ("--list-page-size") != std::string::npos, "%s", run.err.c_str ());
  run = run_emulator ({"--tls-cert", "/nonexistent/cert.pem"});
  fail_unless_equals_int (run.status, 2);
  fail_unless (run.err.find ("--tls-key") != std::string::npos, "%s", run.err.c_str ());
  run = run_emulator ({"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"});
  fail_unless_equals_int (run.status, 1);
  fail_unless (run.err.find ("TLS certificate") != std::string::npos, "%s", run.err.c_str ());
}
GST_END_TEST;

static Suite *
emulator_http_suite (void)
{
  Suite *s = suite_create ("emulator-http");
  TCase *api = add_emulator_tcase (s, "api", 60, EmulatorPer::Test);
  tcase_add_test (api, test_image);
  tcase_add_test (api, test_pro_4k);
  tcase_add_test (api, test_reference_images);
  tcase_add_test (api, test_modalities_and_snake_case);
  tcase_add_test (api, test_thought_parts);
  tcase_add_test (api, test_auth);
  tcase_add_test (api, test_routing);
  tcase_add_test (api, test_vertex_paths);
  tcase_add_test (api, test_vertex_auth);
  tcase_add_test (api, test_validation);
  tcase_add_test (api, test_too_deep);

  TCase *script = add_emulator_tcase (s, "script", 60, EmulatorPer::Test);
  tcase_add_test (script, test_script_content_actions);
  tcase_add_test (script, test_script_errors);
  tcase_add_test (script, test_script_replay_and_raw);
  tcase_add_test (script, test_script_broken_bodies);
  tcase_add_test (script, test_script_transport_failures);
  tcase_add_test (script, test_script_hang);
  tcase_add_test (script, test_script_endless);
  tcase_add_test (script, test_script_delay_and_headers);
  tcase_add_test (script, test_script_then);
  tcase_add_test (script, test_bad_scripts);
  tcase_add_test (script, test_script_cycle);

  TCase *control = add_emulator_tcase (s, "control", 60, EmulatorPer::Test);
  tcase_add_test (control, test_requests_log);
  tcase_add_test (control, test_requests_log_host_and_time);
  tcase_add_test (control, test_proxy_absolute_form);
  tcase_add_test (control, test_tls);
  tcase_add_test (control, test_command_line);
  return s;
}

GST_CHECK_MAIN (emulator_http);
