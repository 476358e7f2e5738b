/* gst-gemini tests: gemini-emulator and the model catalogue, over HTTP:
 * the formats and sizes each served model answers with, the options each
 * model takes, retired ids (gone, but still replayable), and ListModels /
 * models.get.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <set>
#include <string>
#include <vector>

#include "emulator-fixture.h"
#include "emulator-image.h"
#include "emulator-models.h"
#include "emulator-process.h"
#include "gemini-image.h"
#include "gemini-models.h"
#include "http-client.h"
#include "image-check.h"
#include "json-check.h"

/* Last: gstcheck.h defines a `fail` macro that breaks C++ headers. */
#include <gst/check/gstcheck.h>

using namespace gemini;
using namespace gemini::emulator;
using namespace gemini::test;

/* ------------------------------------------------------------ helpers */

static HttpReply
send (const std::string & method, const std::string & url, const std::string * body, const char *key = "test-key")
{
  HttpOptions options;
  if (key)
    options.headers.emplace_back ("x-goog-api-key", key);
  return http_request (method, url, body, options);
}

static HttpReply
generate (const std::string & model, const std::string & generation_config, const std::string & extra = "")
{
  const std::string body = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"catalogue\"}]}]" + extra +
      (generation_config.empty () ? "" : ",\"generationConfig\":" + generation_config) + "}";
  return send ("POST", emu->base_url () + "/v1beta/models/" + model + ":generateContent", &body);
}

static std::string
image_config (const char *ratio, const char *size)
{
  std::string c = "{\"responseModalities\":[\"IMAGE\"],\"imageConfig\":{";
  if (*ratio)
    c += std::string ("\"aspectRatio\":\"") + ratio + "\"";
  if (*size)
    c += std::string (*ratio ? "," : "") + "\"imageSize\":\"" + size + "\"";
  return c + "}}";
}

static void
expect_google_error (const HttpReply & r, guint code, const char *status, const char *message_part)
{
  fail_unless (!r.error, "transport error: %s", r.error ? r.error->message : "");
  fail_unless_equals_int (r.status, code);
  fail_unless (r.json != nullptr, "not JSON: %s", r.body.c_str ());
  fail_unless_equals_int (int_at (r.json.get (), "error.code"), code);
  fail_unless_equals_string (str_at (r.json.get (), "error.status"), status);
  const char *msg = str_at (r.json.get (), "error.message");
  fail_unless (strstr (msg, message_part) != nullptr, "message \"%s\" lacks \"%s\"", msg, message_part);
}

/* The image part of an IMAGE-only answer: its bytes are of the model's
 * format (magic and mimeType) and of the catalogue's size. */
static void
expect_image (const HttpReply & r, const ModelSpec & spec, const char *ratio, const char *size)
{
  fail_unless (!r.error, "%s %s %s: %s", spec.id, ratio, size, r.error ? r.error->message : "");
  fail_unless (r.status == 200, "%s %s %s: HTTP %u %s", spec.id, ratio, size, r.status, r.body.c_str ());
  const auto want = output_pixels (spec, ratio, size);
  fail_unless (want.has_value (), "%s %s %s: no size in the catalogue", spec.id, ratio, size);
  fail_unless_equals_string (str_at (r.json.get (), "candidates.0.content.parts.0.inlineData.mimeType"),
      spec.output_mime);
  const char *b64 = str_at (r.json.get (), "candidates.0.content.parts.0.inlineData.data");
  gsize len = 0;
  GCharPtr bytes (reinterpret_cast<gchar *> (g_base64_decode (b64, &len)));
  const ImageFormat format = sniff_image_format (reinterpret_cast<const guint8 *> (bytes.get ()), len);
  fail_unless (format == output_format (spec), "%s: answered %s", spec.id, image_format_name (format));
  fail_unless (std::string_view (image_format_mime_type (format)) == spec.output_mime);
  DecodedImage img = decode_or_fail (reinterpret_cast<const guint8 *> (bytes.get ()), len, spec.id);
  fail_unless (img.width == want->width && img.height == want->height, "%s %s %s: %dx%d, catalogue %ux%u",
      spec.id, ratio, size, img.width, img.height, want->width, want->height);
}

static JsonNodePtr
request_log ()
{
  return JsonNodePtr (emu->requests ());
}

static JsonNode *
last_entry (JsonNode * log)
{
  JsonArray *a = json_node_get_array (log);
  fail_unless (json_array_get_length (a) > 0);
  return json_array_get_element (a, json_array_get_length (a) - 1);
}

static std::string
retired_text (const std::string & id)
{
  return "models/" + id + " is not found for API version v1beta, or is not supported for generateContent. Call "
      "ListModels to see the list of available models and their supported methods.";
}

/* ------------------------------------------------------ sizes, formats */

/* Every served (or deprecated) catalogue row answers in its format and at
 * its catalogue size: every ratio it takes at its smallest size, and every
 * size it takes (at a ratio that changes with the size). test-emulator-image
 * checks every ratio x size combination of output_size () itself. */
GST_START_TEST (test_size_table_matches_catalogue)
{
  int models = 0;
  for (const ModelSpec & spec : model_catalogue ()) {
    if (!serves (spec))
      continue;
    models++;
    int smallest = -1;
    for (int z = 0; z < int (kImageSizes.size ()) && smallest < 0; z++)
      if (spec.takes_size (z))
        smallest = z;
    fail_unless (smallest >= 0, "%s takes no size", spec.id);
    for (int r = 0; r < int (kAspectRatios.size ()); r++) {
      if (!spec.takes_ratio (r))
        continue;
      expect_image (generate (spec.id, image_config (kAspectRatios[r], kImageSizes[smallest])), spec,
          kAspectRatios[r], kImageSizes[smallest]);
    }
    for (int z = 0; z < int (kImageSizes.size ()); z++) {
      if (!spec.takes_size (z) || z == smallest)
        continue;
      /* 1:1 at 2K, 2:3 at 4K: some variety without rendering every 4K. */
      const char *ratio = kAspectRatios[z - 2 >= 0 && spec.takes_ratio (z - 2) ? z - 2 : 0];
      expect_image (generate (spec.id, image_config (ratio, kImageSizes[z])), spec, ratio, kImageSizes[z]);
    }
    /* Neither ratio nor size: 1:1 at the model's default. */
    expect_image (generate (spec.id, image_config ("", "")), spec, "", "");
  }
  fail_unless (models >= 3);
}
GST_END_TEST;

/* -------------------------------------------------- per-model options */

GST_START_TEST (test_model_options)
{
  /* 512 and the extreme ratios: Nano Banana 2 only. */
  const ModelSpec & flash = *find_model_spec ("gemini-3.1-flash-image");
  const ModelSpec & pro = *find_model_spec ("gemini-3-pro-image");
  HttpReply r = generate (flash.id, image_config ("1:1", "512"));
  expect_image (r, flash, "1:1", "512");
  fail_unless_equals_int (decode_base64_image (str_at (r.json.get (), "candidates.0.content.parts.0.inlineData.data"),
      ImageFormat::Jpeg).width, 512);
  r = generate (flash.id, image_config ("1:8", ""));
  DecodedImage tall = decode_base64_image (str_at (r.json.get (), "candidates.0.content.parts.0.inlineData.data"),
      ImageFormat::Jpeg);
  fail_unless_equals_int (tall.width, 384);
  fail_unless_equals_int (tall.height, 3072);

  r = generate (pro.id, image_config ("1:1", "512"));
  expect_google_error (r, 400, "INVALID_ARGUMENT", "image_config.image_size: Unsupported image size \"512\". "
      "Supported values are 1K, 2K, 4K.");
  r = generate (pro.id, image_config ("1:8", ""));
  expect_google_error (r, 400, "INVALID_ARGUMENT", "image_config.aspect_ratio: Unsupported aspect ratio \"1:8\".");
  r = generate (pro.id, image_config ("", "1k"));
  expect_google_error (r, 400, "INVALID_ARGUMENT", "Unsupported image size \"1k\"");
  /* A 1K-only model refuses the others (docs/emulator.md). */
  r = generate ("gemini-3.1-flash-lite-image", image_config ("", "2K"));
  expect_google_error (r, 400, "INVALID_ARGUMENT", "Unsupported image size \"2K\". Supported values are 1K.");
  r = generate ("gemini-nano-banana-2.1", image_config ("", "512"));
  expect_google_error (r, 400, "INVALID_ARGUMENT", "Unsupported image size \"512\"");

  /* Thinking levels: what the row lists, upper or lower case. */
  r = generate (flash.id, "{\"responseModalities\":[\"TEXT\"],\"thinkingConfig\":{\"thinkingLevel\":\"HIGH\"}}");
  fail_unless_equals_int (r.status, 200);
  r = generate (flash.id, "{\"responseModalities\":[\"TEXT\"],\"thinking_config\":{\"thinking_level\":\"minimal\"}}");
  fail_unless_equals_int (r.status, 200);
  r = generate (flash.id, "{\"thinkingConfig\":{\"thinkingLevel\":\"LOW\"}}");
  expect_google_error (r, 400, "INVALID_ARGUMENT", "Thinking level LOW is not supported for this model. "
      "Supported values are MINIMAL, HIGH.");
  r = generate ("gemini-nano-banana-2.1", "{\"responseModalities\":[\"TEXT\"],"
      "\"thinkingConfig\":{\"thinkingLevel\":\"MEDIUM\"}}");
  fail_unless_equals_int (r.status, 200);
  r = generate (flash.id, "{\"thinkingConfig\":{\"thinkingLevel\":\"ULTRA\"}}");
  expect_google_error (r, 400, "INVALID_ARGUMENT", "Invalid value at 'generation_config.thinking_config."
      "thinking_level'");
  r = generate (pro.id, "{\"thinkingConfig\":{\"thinkingLevel\":\"HIGH\"}}");
  expect_google_error (r, 400, "INVALID_ARGUMENT", "Thinking level is not supported for this model.");

  /* Google Search grounding is taken, and the log says so. */
  r = generate (flash.id, "{\"responseModalities\":[\"TEXT\",\"IMAGE\"],\"imageConfig\":{\"aspectRatio\":\"4:1\","
      "\"imageSize\":\"512\"},\"thinkingConfig\":{\"thinkingLevel\":\"high\"}}", ",\"tools\":[{\"googleSearch\":{}}]");
  fail_unless_equals_int (r.status, 200);
  JsonNodePtr log = request_log ();
  JsonNode *e = last_entry (log.get ());
  fail_unless (bool_at (e, "google_search"));
  fail_unless_equals_string (str_at (e, "thinking_level"), "HIGH");
  fail_unless_equals_string (str_at (e, "aspect_ratio"), "4:1");
  fail_unless_equals_string (str_at (e, "image_size"), "512");
  fail_unless (json_at (e, "body.tools.0.googleSearch"));

  /* Without: false and empty. */
  r = generate (pro.id, "{\"responseModalities\":[\"TEXT\"]}", ",\"tools\":[{\"codeExecution\":{}}]");
  fail_unless_equals_int (r.status, 200);
  log = request_log ();
  e = last_entry (log.get ());
  fail_if (bool_at (e, "google_search"));
  fail_unless_equals_string (str_at (e, "thinking_level"), "");
  fail_unless_equals_string (str_at (e, "image_size"), "");
}
GST_END_TEST;

/* -------------------------------------------------------- retired ids */

GST_START_TEST (test_retired_ids)
{
  int retired = 0;
  for (const ModelSpec & spec : model_catalogue ()) {
    if (spec.status != ModelStatus::Retired)
      continue;
    retired++;
    HttpReply r = generate (spec.id, "");
    expect_google_error (r, 404, "NOT_FOUND", "");
    const std::string text = retired_text (spec.id);
    fail_unless_equals_string (str_at (r.json.get (), "error.message"), text.c_str ());
  }
  fail_unless (retired >= 1);
  /* Unknown ids as well. */
  HttpReply r = generate ("gemini-9-ultra-image", "");
  const std::string unknown = retired_text ("gemini-9-ultra-image");
  fail_unless_equals_string (str_at (r.json.get (), "error.message"), unknown.c_str ());

  /* A retired id takes no step but a replay: an image step stays for the
   * next request to a served model. */
  emu->set_script ("[{\"do\":\"text-only\",\"text\":\"kept\"}]");
  r = generate ("gemini-2.5-flash-image", "");
  fail_unless_equals_int (r.status, 404);
  JsonNodePtr st (emu->status ());
  fail_unless_equals_int (int_at (st.get (), "next_step"), 0);
  r = generate ("gemini-3-pro-image", "");
  fail_unless_equals_string (str_at (r.json.get (), "candidates.0.content.parts.0.text"), "kept");

  /* Recordings of retired models still replay: the PNG of gemini-2.5-flash-
   * image and the signed JPEG of gemini-3-pro-image-preview. */
  emu->set_script ("[{\"do\":\"replay\",\"file\":\"test_google_image_or_text_output.yaml\",\"interaction\":1},"
      "{\"do\":\"replay\",\"file\":\"test_google_image_generation_with_text.yaml\"}]");
  r = generate ("gemini-2.5-flash-image", "");
  fail_unless_equals_int (r.status, 200);
  DecodedImage png = decode_base64_image (str_at (r.json.get (), "candidates.0.content.parts.1.inlineData.data"),
      ImageFormat::Png);
  fail_unless_equals_int (png.width, 1024);
  /* An unknown id is refused even then, and takes no step. */
  r = generate ("gemini-9-ultra-image", "");
  fail_unless_equals_int (r.status, 404);
  r = generate ("gemini-3-pro-image-preview", "");
  fail_unless_equals_int (r.status, 200);
  fail_unless_equals_string (str_at (r.json.get (), "modelVersion"), "gemini-3-pro-image-preview");
  /* Steps used up: gone again. */
  r = generate ("gemini-3-pro-image-preview", "");
  fail_unless_equals_int (r.status, 404);

  JsonNodePtr log = request_log ();
  JsonArray *a = json_node_get_array (log.get ());
  const guint n = json_array_get_length (a);
  fail_unless_equals_string (str_at (json_array_get_element (a, n - 4), "answer"), "replay");
  fail_unless_equals_string (str_at (json_array_get_element (a, n - 3), "answer"), "error");
  fail_unless_equals_string (str_at (json_array_get_element (a, n - 2), "answer"), "replay");
  fail_unless_equals_int (int_at (json_array_get_element (a, n - 1), "status"), 404);
}
GST_END_TEST;

/* ---------------------------------------------------------- ListModels */

static HttpReply
list_page (EmulatorProcess & e, const std::string & query, const char *key = "test-key")
{
  return send ("GET", e.base_url () + "/v1beta/models" + query, nullptr, key);
}

static std::string
escaped (const char *token)
{
  GCharPtr e (g_uri_escape_string (token, nullptr, FALSE));
  return e.get ();
}

/* Follows nextPageToken from the first page; the names in order. */
static std::vector<std::string>
walk (EmulatorProcess & e, const std::string & size_query, int & pages)
{
  std::vector<std::string> names;
  std::string token;
  pages = 0;
  do {
    std::string q = size_query;
    if (!token.empty ())
      q += (q.empty () ? "?" : "&") + std::string ("pageToken=") + escaped (token.c_str ());
    HttpReply r = list_page (e, q);
    fail_unless (r.status == 200, "page %d: HTTP %u %s", pages, r.status, r.body.c_str ());
    pages++;
    fail_unless (pages < 100);
    JsonArray *models = json_node_get_array (must_at (r.json.get (), "models"));
    for (guint i = 0; i < json_array_get_length (models); i++)
      names.emplace_back (str_at (json_array_get_element (models, i), "name"));
    JsonNode *next = json_at (r.json.get (), "nextPageToken");
    token = next ? json_node_get_string (next) : "";
  } while (!token.empty ());
  return names;
}

static bool
is_catalogue_image (const std::string & name)
{
  return name.starts_with ("models/") && find_model_spec (name.substr (7)) != nullptr;
}

GST_START_TEST (test_list_models)
{
  const gsize total = listed_models ().size ();
  fail_unless (total > 20 && total < kDefaultListPageSize);

  /* Default page: everything, no token. */
  HttpReply r = list_page (*emu, "");
  fail_unless_equals_int (r.status, 200);
  fail_unless_equals_string (r.content_type.c_str (), "application/json; charset=UTF-8");
  fail_if (json_at (r.json.get (), "nextPageToken"));
  JsonArray *models = json_node_get_array (must_at (r.json.get (), "models"));
  fail_unless_equals_int (json_array_get_length (models), total);
  std::set<std::string> listed;
  guint first_image = G_MAXUINT, last_other = 0;
  for (guint i = 0; i < json_array_get_length (models); i++) {
    JsonNode *m = json_array_get_element (models, i);
    const std::string name = str_at (m, "name");
    fail_unless (listed.insert (name).second, "%s twice", name.c_str ());
    fail_unless_equals_string (str_at (m, "version"), "001");
    const std::string id = name.substr (7);
    fail_unless_equals_string (str_at (m, "baseModelId"), id.c_str ());
    fail_unless (int_at (m, "inputTokenLimit") > 0 && int_at (m, "outputTokenLimit") > 0);
    fail_unless (length_at (m, "supportedGenerationMethods") > 0);
    fail_unless (*str_at (m, "displayName"));
    if (is_catalogue_image (name)) {
      const ModelSpec & spec = *find_model_spec (name.substr (7));
      first_image = std::min (first_image, i);
      fail_unless_equals_string (str_at (m, "displayName"), spec.name);
      fail_unless_equals_string (str_at (m, "supportedGenerationMethods.0"), "generateContent");
      fail_unless_equals_string (str_at (m, "supportedGenerationMethods.1"), "countTokens");
      fail_unless_equals_int (length_at (m, "supportedGenerationMethods"), 2);
      fail_unless (bool_at (m, "thinking") == spec.thinks);
    } else {
      last_other = i;
    }
  }
  fail_unless (first_image > last_other, "image models from #%u, other models up to #%u", first_image, last_other);
  for (const ModelSpec & spec : model_catalogue ())
    fail_unless ((listed.count (std::string ("models/") + spec.id) == 1) == serves (spec), "%s", spec.id);
  for (const char *other : {"models/gemini-2.5-flash", "models/gemini-embedding-001", "models/imagen-4.0-generate-001",
           "models/veo-3.1-generate-preview", "models/aqa"})
    fail_unless (listed.count (other), "%s not listed", other);

  /* pageSize=5: the image models are not on page 1, and walking the
   * tokens gives the same list. */
  r = list_page (*emu, "?pageSize=5");
  models = json_node_get_array (must_at (r.json.get (), "models"));
  fail_unless_equals_int (json_array_get_length (models), 5);
  for (guint i = 0; i < 5; i++)
    fail_if (is_catalogue_image (str_at (json_array_get_element (models, i), "name")));
  const std::string token = str_at (r.json.get (), "nextPageToken");
  fail_unless (!token.empty ());
  int pages = 0;
  std::vector<std::string> walked = walk (*emu, "?pageSize=5", pages);
  fail_unless_equals_int (pages, int ((total + 4) / 5));
  fail_unless_equals_int (walked.size (), total);
  fail_unless (std::set<std::string> (walked.begin (), walked.end ()) == listed);

  /* Every ListModels call is logged, with its token. */
  JsonNodePtr log = request_log ();
  JsonArray *a = json_node_get_array (log.get ());
  int list_calls = 0, with_token = 0;
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (strcmp (str_at (e, "path"), "/v1beta/models") != 0)
      continue;
    list_calls++;
    fail_unless_equals_string (str_at (e, "method"), "GET");
    fail_unless_equals_string (str_at (e, "answer"), "list-models");
    with_token += *str_at (e, "page_token") != '\0';
  }
  fail_unless_equals_int (list_calls, 2 + pages);
  fail_unless_equals_int (with_token, pages - 1);
  JsonNodePtr st (emu->status ());
  fail_unless_equals_int (int_at (st.get (), "requests"), 2 + pages);

  /* Above 1000: 1000. Zero or negative: the default. */
  r = list_page (*emu, "?pageSize=5000");
  fail_unless_equals_int (length_at (r.json.get (), "models"), total);
  r = list_page (*emu, "?pageSize=0");
  fail_unless_equals_int (length_at (r.json.get (), "models"), total);

  /* Tokens are opaque and checked. */
  r = list_page (*emu, "?pageToken=bm90LWEtdG9rZW4=");
  expect_google_error (r, 400, "INVALID_ARGUMENT", "Invalid page token.");
  r = list_page (*emu, "?pageSize=5&pageToken=" + escaped (token.c_str ()));
  fail_unless_equals_int (r.status, 200);
  r = list_page (*emu, "?pageSize=5&pageToken=" + escaped ((token + "A").c_str ()));
  expect_google_error (r, 400, "INVALID_ARGUMENT", "Invalid page token.");
  r = list_page (*emu, "?pageSize=abc");
  expect_google_error (r, 400, "INVALID_ARGUMENT", "page_size");

  /* The key, as for generateContent. */
  r = list_page (*emu, "", nullptr);
  expect_google_error (r, 403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers");
  r = send ("GET", emu->base_url () + "/v1beta/models/gemini-3-pro-image", nullptr, nullptr);
  fail_unless_equals_int (r.status, 403);

  /* GET only. */
  const std::string body = "{}";
  r = send ("POST", emu->base_url () + "/v1beta/models", &body);
  fail_unless_equals_int (r.status, 405);
  fail_unless_equals_string (r.header ("Allow"), "GET");
  r = send ("DELETE", emu->base_url () + "/v1beta/models/gemini-3-pro-image", nullptr);
  fail_unless_equals_int (r.status, 405);
  /* And generateContent stays POST only. */
  r = send ("GET", emu->base_url () + "/v1beta/models/gemini-3-pro-image:generateContent", nullptr);
  fail_unless_equals_int (r.status, 405);
  fail_unless_equals_string (r.header ("Allow"), "POST");
}
GST_END_TEST;

GST_START_TEST (test_get_model)
{
  HttpReply r = send ("GET", emu->base_url () + "/v1beta/models/gemini-3-pro-image", nullptr);
  fail_unless_equals_int (r.status, 200);
  fail_unless_equals_string (str_at (r.json.get (), "name"), "models/gemini-3-pro-image");
  fail_unless_equals_string (str_at (r.json.get (), "displayName"), "Nano Banana Pro");
  fail_unless (bool_at (r.json.get (), "thinking"));
  r = send ("GET", emu->base_url () + "/v1beta/models/gemini-embedding-001", nullptr);
  fail_unless_equals_int (r.status, 200);
  fail_unless_equals_string (str_at (r.json.get (), "supportedGenerationMethods.0"), "embedContent");
  for (const char *gone : {"gemini-2.5-flash-image", "gemini-3-pro-image-preview", "no-such-model"}) {
    r = send ("GET", emu->base_url () + "/v1beta/models/" + gone, nullptr);
    const std::string text = std::string ("models/") + gone + " is not found for API version v1beta.";
    expect_google_error (r, 404, "NOT_FOUND", "");
    fail_unless_equals_string (str_at (r.json.get (), "error.message"), text.c_str ());
  }
  JsonNodePtr log = request_log ();
  JsonNode *e = last_entry (log.get ());
  fail_unless_equals_string (str_at (e, "path"), "/v1beta/models/no-such-model");
  fail_unless_equals_string (str_at (e, "model"), "no-such-model");
  fail_unless_equals_int (int_at (e, "status"), 404);
}
GST_END_TEST;

/* --list-page-size, and the script's list_page_size, cap every page. */
GST_START_TEST (test_list_page_size_cap)
{
  const gsize total = listed_models ().size ();
  EmulatorProcess capped ({"--list-page-size", "4"});
  HttpReply r = list_page (capped, "");
  fail_unless_equals_int (length_at (r.json.get (), "models"), 4);
  fail_unless (json_at (r.json.get (), "nextPageToken"));
  r = list_page (capped, "?pageSize=2");
  fail_unless_equals_int (length_at (r.json.get (), "models"), 2);
  int pages = 0;
  fail_unless_equals_int (walk (capped, "", pages).size (), total);
  fail_unless_equals_int (pages, int ((total + 3) / 4));

  /* The script's cap overrides it until a reset. */
  capped.set_script ("{\"steps\":[],\"list_page_size\":7}");
  r = list_page (capped, "?pageSize=1000");
  fail_unless_equals_int (length_at (r.json.get (), "models"), 7);
  capped.reset ();
  r = list_page (capped, "?pageSize=1000");
  fail_unless_equals_int (length_at (r.json.get (), "models"), 4);

  /* ListModels takes no script step. */
  capped.set_script ("[{\"do\":\"error\",\"status\":503}]");
  fail_unless_equals_int (list_page (capped, "").status, 200);
  const std::string body = "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}]}";
  r = send ("POST", capped.base_url () + "/v1beta/models/gemini-3-pro-image:generateContent", &body);
  fail_unless_equals_int (r.status, 503);
}
GST_END_TEST;

static Suite *
emulator_models_suite (void)
{
  Suite *s = suite_create ("emulator-models");
  TCase *tc = add_emulator_tcase (s, "models", 120, EmulatorPer::Test);
  tcase_add_test (tc, test_size_table_matches_catalogue);
  tcase_add_test (tc, test_model_options);
  tcase_add_test (tc, test_retired_ids);
  tcase_add_test (tc, test_list_models);
  tcase_add_test (tc, test_get_model);
  tcase_add_test (tc, test_list_page_size_cap);
  return s;
}

GST_CHECK_MAIN (emulator_models);
