/* Unit tests of the Gemini protocol: request bodies, response
 * classification, and the real recorded responses.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <cmath>
#include <string>

#include "bytes.h"
#include "cassette.h"
#include "gemini-image.h"
#include "gemini-json.h"
#include "gemini-protocol.h"
#include "image-check.h"
#include "test-files.h"

#include <gst/check/gstcheck.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

using namespace gemini;
using gemini::test::bytes_of;
using gemini::test::decode_as;
using gemini::test::recorded_path;
using gemini::test::string_of;

static Response
classify (guint status, const std::string & body, const char *retry_after = nullptr)
{
  GBytesPtr b (bytes_of (body));
  return classify_http_response (status, retry_after, b.get ());
}

/* Parses a request body built by build_request_body. */
static JsonNode *
parse_body (GBytes * body)
{
  const std::string text = string_of (body);
  std::string message;
  JsonNodePtr root = parse_json (text.data (), text.size (), message);
  fail_unless (root != nullptr, "%s", message.c_str ());
  return root.release ();
}

static std::string
to_json (JsonNode * node)
{
  GObjectPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), node);
  GCharPtr s (json_generator_to_data (gen.get (), nullptr));
  return s.get ();
}

GST_START_TEST (test_request_minimal)
{
  RequestSettings s;
  s.prompt = "a banana astronaut, watercolor";
  GBytesPtr body (build_request_body (s));
  JsonNode *root = parse_body (body.get ());
  std::string json = to_json (root);
  fail_unless_equals_string (json.c_str (),
      "{\"contents\":[{\"parts\":[{\"text\":\"a banana astronaut, watercolor\"}],\"role\":\"user\"}],"
      "\"generationConfig\":{\"responseModalities\":[\"IMAGE\"]}}");
  json_node_unref (root);
}
GST_END_TEST;

GST_START_TEST (test_request_full)
{
  RequestSettings s;
  s.prompt = "make it night";
  s.system_instruction = "Always produce an image.";
  s.aspect_ratio = "16:9";
  s.image_size = "2K";
  s.text_and_image = true;
  s.temperature = 0.5;
  s.seed = 42;
  const guint8 png[] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a };
  s.references.push_back (ReferenceImage {"day.png", "image/png",
          GBytesPtr (g_bytes_new (png, sizeof png))});
  GBytesPtr body (build_request_body (s));
  JsonNode *root = parse_body (body.get ());
  std::string json = to_json (root);
  fail_unless_equals_string (json.c_str (),
      "{\"contents\":[{\"parts\":[{\"text\":\"make it night\"},"
      "{\"inlineData\":{\"data\":\"iVBORw0KGgo=\",\"mimeType\":\"image/png\"}}],\"role\":\"user\"}],"
      "\"systemInstruction\":{\"parts\":[{\"text\":\"Always produce an image.\"}],\"role\":\"user\"},"
      "\"generationConfig\":{\"temperature\":0.5,\"seed\":42,"
      "\"responseModalities\":[\"TEXT\",\"IMAGE\"],"
      "\"imageConfig\":{\"aspectRatio\":\"16:9\",\"imageSize\":\"2K\"}}}");
  json_node_unref (root);
}
GST_END_TEST;

GST_START_TEST (test_request_url)
{
  std::string url = build_request_url ("https://generativelanguage.googleapis.com",
      "gemini-2.5-flash-image");
  fail_unless_equals_string (url.c_str (),
      "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash-image:generateContent");
  url = build_request_url ("http://127.0.0.1:8080/", "m");
  fail_unless_equals_string (url.c_str (), "http://127.0.0.1:8080/v1beta/models/m:generateContent");
  url = build_request_url ("https://proxy.example/gemini/v1", "m");
  fail_unless_equals_string (url.c_str (), "https://proxy.example/gemini/v1/models/m:generateContent");
  fail_unless (model_id_is_valid ("gemini-3-pro-image-preview"));
  fail_if (model_id_is_valid (""));
  fail_if (model_id_is_valid ("../../etc"));
  fail_if (model_id_is_valid ("a b"));
  url = build_api_base ("https://proxy.example/gemini/v1/");
  fail_unless_equals_string (url.c_str (), "https://proxy.example/gemini/v1");
}
GST_END_TEST;

/* A thoughtSignature of `bytes` pseudo-random bytes, base64 ('+' and '/'
 * included), different per `tag`. */
static std::string
fake_signature (gsize bytes, guint32 tag)
{
  std::string raw (bytes, '\0');
  guint32 x = 2463534242u ^ tag;
  for (char & c : raw) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = (char) (x & 0xff);
  }
  GCharPtr b64 (g_base64_encode (reinterpret_cast<const guchar *> (raw.data ()), raw.size ()));
  return b64.get ();
}

/* A model content as Gemini sends it for a thinking image model: a thought
 * text, a thought draft image, a signed text, a signed final image. Compact,
 * members in json-glib's output order: what Response::model_content holds. */
static std::string
model_content_json (const std::string & text_signature, const std::string & image_signature)
{
  return "{\"role\":\"model\",\"parts\":["
         "{\"text\":\"**Composing**\",\"thought\":true},"
         "{\"inlineData\":{\"mimeType\":\"image/jpeg\",\"data\":\"/9j/\"},\"thought\":true},"
         "{\"text\":\"Here you go\",\"thoughtSignature\":\"" + text_signature + "\"},"
         "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgo=\"},\"thoughtSignature\":\""
      + image_signature + "\"}]}";
}

static const char *
role_at (JsonArray * contents, guint i)
{
  return json_object_get_string_member (json_array_get_object_element (contents, i), "role");
}

/* Two earlier turns: each its user content then its model content exactly
 * as received (3 KB signatures byte for byte, thought parts, part order),
 * then the prompt; the settings after `contents` as without history. */
GST_START_TEST (test_request_history)
{
  const std::string sig_a = fake_signature (3072, 1), sig_b = fake_signature (3072, 2);
  const std::string sig_c = fake_signature (3072, 3), sig_d = fake_signature (3072, 4);
  fail_unless (sig_a.size () == 4096 && sig_a.find ('/') != std::string::npos
      && sig_a.find ('+') != std::string::npos);
  const std::string first = model_content_json (sig_a, sig_b);
  const std::string second = model_content_json (sig_c, sig_d);

  RequestSettings s;
  s.prompt = "now make it night";
  s.aspect_ratio = "16:9";
  const guint8 png[] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a };
  Turn t1;
  t1.prompt = "a house by a lake";
  t1.references.push_back (ReferenceImage {"lake.png", "image/png", GBytesPtr (g_bytes_new (png, sizeof png))});
  t1.model_content = first;
  Turn t2;
  t2.prompt = "add a boat";
  /* Whitespace as a server may send it: re-emitted compact, values kept. */
  t2.model_content = "{ \"role\": \"model\",\n  \"parts\": " + second.substr (second.find ('[')) ;
  t2.model_content.pop_back ();
  t2.model_content += "\n}";
  s.history = {t1, t2};

  GBytesPtr body (build_request_body (s));
  const std::string text = string_of (body.get ());
  const std::string expected = "{\"contents\":["
      "{\"parts\":[{\"text\":\"a house by a lake\"},{\"inlineData\":{\"data\":\"iVBORw0KGgo=\",\"mimeType\":"
      "\"image/png\"}}],\"role\":\"user\"},"
      + first + ","
      "{\"parts\":[{\"text\":\"add a boat\"}],\"role\":\"user\"},"
      + second + ","
      "{\"parts\":[{\"text\":\"now make it night\"}],\"role\":\"user\"}],"
      "\"generationConfig\":{\"responseModalities\":[\"IMAGE\"],\"imageConfig\":{\"aspectRatio\":\"16:9\"}}}";
  fail_unless (text == expected, "body:\n%s\nexpected:\n%s", text.substr (0, 600).c_str (),
      expected.substr (0, 600).c_str ());

  /* The same, read as JSON: five contents alternating, signatures intact. */
  JsonNode *root = parse_body (body.get ());
  JsonArray *contents = json_object_get_array_member (json_node_get_object (root), "contents");
  fail_unless_equals_int (json_array_get_length (contents), 5);
  const char *roles[] = { "user", "model", "user", "model", "user" };
  for (guint i = 0; i < 5; i++)
    fail_unless_equals_string (role_at (contents, i), roles[i]);
  JsonArray *parts = json_object_get_array_member (json_array_get_object_element (contents, 3), "parts");
  fail_unless_equals_int (json_array_get_length (parts), 4);
  fail_unless (json_object_get_boolean_member (json_array_get_object_element (parts, 0), "thought"));
  fail_unless (json_object_get_boolean_member (json_array_get_object_element (parts, 1), "thought"));
  fail_unless (sig_c == json_object_get_string_member (json_array_get_object_element (parts, 2), "thoughtSignature"));
  fail_unless (sig_d == json_object_get_string_member (json_array_get_object_element (parts, 3), "thoughtSignature"));
  json_node_unref (root);
}
GST_END_TEST;

/* Without history the body is byte for byte what it was before history
 * existed (the genai suite compares it with @google/genai's). */
GST_START_TEST (test_request_empty_history)
{
  RequestSettings s;
  s.prompt = "a banana astronaut, watercolor";
  s.history.clear ();
  GBytesPtr body (build_request_body (s));
  const std::string text = string_of (body.get ());
  fail_unless_equals_string (text.c_str (),
      "{\"contents\":[{\"parts\":[{\"text\":\"a banana astronaut, watercolor\"}],\"role\":\"user\"}],"
      "\"generationConfig\":{\"responseModalities\":[\"IMAGE\"]}}");
}
GST_END_TEST;

/* A turn whose model content @google/genai's Chat would not keep (not JSON,
 * not an object, no parts, an empty part) goes with its prompt. */
GST_START_TEST (test_request_history_invalid_turns)
{
  RequestSettings s;
  s.prompt = "third";
  const char *bad[] = { "", "not json", "[]", "{\"role\":\"model\"}", "{\"role\":\"model\",\"parts\":[]}",
      "{\"role\":\"model\",\"parts\":[{}]}", "{\"role\":\"model\",\"parts\":[1]}" };
  for (const char *b : bad) {
    Turn t;
    t.prompt = std::string ("dropped ") + b;
    t.model_content = b;
    s.history.push_back (t);
  }
  Turn good;
  good.prompt = "kept";
  good.model_content = "{\"role\":\"model\",\"parts\":[{\"text\":\"ok\",\"thoughtSignature\":\"c2ln\"}]}";
  s.history.push_back (good);
  GBytesPtr body (build_request_body (s));
  const std::string text = string_of (body.get ());
  fail_unless (text.find ("dropped") == std::string::npos, "%s", text.c_str ());
  fail_unless (text.starts_with ("{\"contents\":[{\"parts\":[{\"text\":\"kept\"}],\"role\":\"user\"},"
      "{\"role\":\"model\",\"parts\":[{\"text\":\"ok\",\"thoughtSignature\":\"c2ln\"}]},"
      "{\"parts\":[{\"text\":\"third\"}],\"role\":\"user\"}]"), "%s", text.c_str ());
}
GST_END_TEST;

static const char *kImagePart =
    "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}}";

GST_START_TEST (test_classify_image_last_non_thought)
{
  /* A thought draft first, then text, then two final images: the last wins. */
  std::string body = std::string ("{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[")
      + "{\"text\":\"**Composing**\",\"thought\":true},"
      + "{\"inlineData\":{\"mimeType\":\"image/jpeg\",\"data\":\"/9j/\"},\"thought\":true},"
      + "{\"text\":\"Here you go\",\"thoughtSignature\":\"c2ln\"},"
      + "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"AAAA\"}},"
      + kImagePart
      + "]},\"finishReason\":\"STOP\",\"index\":0}],"
      + "\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":1290,\"totalTokenCount\":1297},"
      + "\"modelVersion\":\"gemini-2.5-flash-image\",\"responseId\":\"abc\"}";
  Response r = classify (200, body);
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::Image);
  fail_unless_equals_int ((int) r.action, (int) Action::Deliver);
  fail_unless_equals_int (r.image_parts, 2);
  fail_unless_equals_int (r.thought_image_parts, 1);
  fail_unless_equals_int (g_bytes_get_size (r.image.get ()), 8);
  const guint8 *d = static_cast<const guint8 *> (g_bytes_get_data (r.image.get (), nullptr));
  fail_unless_equals_int (d[0], 0x89);
  fail_unless_equals_string (r.model_text.c_str (), "Here you go");
  fail_unless_equals_string (r.response_id.c_str (), "abc");
  fail_unless_equals_int (r.usage.total_tokens, 1297);
}
GST_END_TEST;

/* ModelContent::Keep: candidates[0].content as text, every part in order,
 * thought parts and signatures as sent; parsed back and sent in a history
 * it is the same text again. Drop (the default): nothing. */
GST_START_TEST (test_classify_model_content)
{
  const std::string content = model_content_json (fake_signature (3072, 5), fake_signature (3072, 6));
  const std::string body = "{\"candidates\":[{\"content\":" + content + ",\"finishReason\":\"STOP\",\"index\":0}],"
      "\"modelVersion\":\"gemini-3-pro-image\"}";
  GBytesPtr b (bytes_of (body));
  Response kept = classify_http_response (200, nullptr, b.get (), nullptr, ModelContent::Keep);
  fail_unless_equals_int ((int) kept.outcome, (int) Outcome::Image);
  fail_unless (kept.model_content == content, "%s", kept.model_content.substr (0, 300).c_str ());
  fail_unless_equals_int (kept.thought_image_parts, 1);

  Response dropped = classify_http_response (200, nullptr, b.get ());
  fail_unless_equals_int ((int) dropped.outcome, (int) Outcome::Image);
  fail_unless (dropped.model_content.empty ());

  /* Round trip: the content of an answer, sent back, is that content. */
  RequestSettings s;
  s.prompt = "again";
  s.history.push_back (Turn {"first", {}, kept.model_content});
  const std::string sent = string_of (GBytesPtr (build_request_body (s)).get ());
  fail_unless (sent.find ("," + content + ",") != std::string::npos);

  /* No content, or not a 2xx: nothing kept. */
  GBytesPtr blocked (bytes_of ("{\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}"));
  fail_unless (classify_http_response (200, nullptr, blocked.get (), nullptr, ModelContent::Keep)
      .model_content.empty ());
  GBytesPtr error (bytes_of ("{\"error\":{\"code\":400,\"message\":\"x\",\"status\":\"INVALID_ARGUMENT\"}}"));
  fail_unless (classify_http_response (400, nullptr, error.get (), nullptr, ModelContent::Keep)
      .model_content.empty ());
  /* A text-only answer has a content too: kept when asked (the attempt
   * layer keeps only an image's). */
  GBytesPtr text (bytes_of ("{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"hi\"}]},"
      "\"finishReason\":\"STOP\"}]}"));
  Response t = classify_http_response (200, nullptr, text.get (), nullptr, ModelContent::Keep);
  fail_unless_equals_int ((int) t.outcome, (int) Outcome::TextOnly);
  fail_unless_equals_string (t.model_content.c_str (), "{\"role\":\"model\",\"parts\":[{\"text\":\"hi\"}]}");
}
GST_END_TEST;

GST_START_TEST (test_classify_text_only)
{
  Response r = classify (200, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"I can't draw that.\"}],"
      "\"role\":\"model\"},\"finishReason\":\"STOP\"}]}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::TextOnly);
  fail_unless_equals_int ((int) r.action, (int) Action::RetryContent);
  std::string msg = r.describe ();
  fail_unless (msg.find ("finishReason=STOP") != std::string::npos, "%s", msg.c_str ());
  fail_unless (msg.find ("I can't draw that.") != std::string::npos, "%s", msg.c_str ());
  fail_if (r.image);
}
GST_END_TEST;

GST_START_TEST (test_classify_finish_reasons)
{
  struct { const char *reason; Outcome outcome; Action action; } cases[] = {
    {"NO_IMAGE", Outcome::NoImage, Action::RetryContent},
    {"IMAGE_OTHER", Outcome::ImageOther, Action::RetryContent},
    {"IMAGE_SAFETY", Outcome::ContentBlocked, Action::Fail},
    {"IMAGE_PROHIBITED_CONTENT", Outcome::ContentBlocked, Action::Fail},
    {"SAFETY", Outcome::ContentBlocked, Action::Fail},
    {"PROHIBITED_CONTENT", Outcome::ContentBlocked, Action::Fail},
    {"RECITATION", Outcome::ContentBlocked, Action::Fail},
    {"IMAGE_RECITATION", Outcome::ContentBlocked, Action::Fail},
    {"BLOCKLIST", Outcome::ContentBlocked, Action::Fail},
    {"SPII", Outcome::ContentBlocked, Action::Fail},
    {"MAX_TOKENS", Outcome::OtherFinish, Action::Fail},
    {"OTHER", Outcome::OtherFinish, Action::Fail},
  };
  for (const auto & c : cases) {
    std::string body = std::string ("{\"candidates\":[{\"content\":{},\"finishReason\":\"") + c.reason
        + "\",\"finishMessage\":\"Support code: 42876398.\"}]}";
    Response r = classify (200, body);
    fail_unless_equals_int ((int) r.outcome, (int) c.outcome);
    fail_unless_equals_int ((int) r.action, (int) c.action);
    std::string msg = r.describe ();
    fail_unless (msg.find (std::string ("finishReason=") + c.reason + ": Support code: 42876398.")
        != std::string::npos, "%s", msg.c_str ());
  }
}
GST_END_TEST;

GST_START_TEST (test_classify_prompt_blocked)
{
  Response r = classify (200, "{\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},"
      "\"usageMetadata\":{\"promptTokenCount\":5,\"totalTokenCount\":5}}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::PromptBlocked);
  fail_unless_equals_int ((int) r.action, (int) Action::Fail);
  fail_unless (r.describe ().find ("blockReason=PROHIBITED_CONTENT") != std::string::npos);
}
GST_END_TEST;

GST_START_TEST (test_classify_http_errors)
{
  Response r = classify (429, "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota. "
      "Please retry in 53.016342224s.\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":["
      "{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaId\":"
      "\"GenerateRequestsPerMinutePerProjectPerModel-FreeTier\"}]},"
      "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"34.4s\"}]}}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::RateLimited);
  fail_unless_equals_int ((int) r.action, (int) Action::Retry);
  fail_unless (r.retry_delay_seconds.has_value ());
  fail_unless (*r.retry_delay_seconds > 34.39 && *r.retry_delay_seconds < 34.41);
  fail_unless_equals_string (r.quota_id.c_str (), "GenerateRequestsPerMinutePerProjectPerModel-FreeTier");
  fail_if (r.quota_exhausted_for_day);

  r = classify (429, "{\"error\":{\"code\":429,\"message\":\"Quota exceeded, limit: 0\","
      "\"status\":\"RESOURCE_EXHAUSTED\"}}", "7");
  fail_unless (r.quota_exhausted_for_day);
  fail_unless_equals_int ((int) *r.retry_delay_seconds, 7);

  r = classify (400, "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key.\","
      "\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
      "\"reason\":\"API_KEY_INVALID\",\"domain\":\"googleapis.com\"}]}}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::BadRequest);
  fail_unless_equals_int ((int) r.action, (int) Action::Fail);
  fail_unless_equals_string (r.error_reason.c_str (), "API_KEY_INVALID");
  fail_unless (r.describe ().find ("API key not valid") != std::string::npos);
  fail_unless (r.describe ().find ("api-key property") != std::string::npos);

  r = classify (404, "{\"error\":{\"code\":404,\"message\":\"models/nope is not found for API version v1beta\","
      "\"status\":\"NOT_FOUND\"}}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::NotFound);

  struct { guint status; Outcome outcome; } statuses[] = {
    {401, Outcome::Unauthenticated}, {403, Outcome::PermissionDenied}, {408, Outcome::ServerError},
    {500, Outcome::ServerError}, {502, Outcome::ServerError}, {503, Outcome::ServerError},
    {504, Outcome::ServerError}, {418, Outcome::HttpError},
  };
  for (const auto & c : statuses) {
    /* HTML bodies from load balancers still classify by status. */
    r = classify (c.status, "<html><body>Bad Gateway</body></html>");
    fail_unless_equals_int ((int) r.outcome, (int) c.outcome);
    fail_unless (!r.error_message.empty ());
  }

  /* Vertex wraps errors in a one-element array. */
  r = classify (503, "[{\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}]");
  fail_unless_equals_string (r.gemini_status.c_str (), "UNAVAILABLE");
}
GST_END_TEST;

GST_START_TEST (test_retry_classes)
{
  /* Per-day quota and "limit: 0" are not worth retrying. */
  Response r = classify (429, "{\"error\":{\"code\":429,\"message\":\"Quota exceeded\",\"status\":"
      "\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\","
      "\"violations\":[{\"quotaId\":\"GenerateRequestsPerDayPerProjectPerModel-FreeTier\"}]}]}}");
  fail_unless (r.quota_exhausted_for_day);
  fail_unless_equals_int ((int) r.action, (int) Action::Fail);
  fail_unless (r.describe ().find ("per day") != std::string::npos, "%s", r.describe ().c_str ());

  /* An error object inside a 200 acts like its own code. */
  r = classify (200, "{\"error\":{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::ErrorInBody);
  fail_unless_equals_int ((int) r.action, (int) Action::Retry);
  r = classify (200, "{\"error\":{\"code\":400,\"message\":\"bad\",\"status\":\"INVALID_ARGUMENT\"}}");
  fail_unless_equals_int ((int) r.action, (int) Action::Fail);

  /* A cut-off body is usually a proxy's doing: transient. */
  r = classify (200, "{\"candidates\": [");
  fail_unless_equals_int ((int) r.action, (int) Action::Retry);

  GErrorPtr err (g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, "Unacceptable TLS certificate"));
  r = classify_transport_error (err.get ());
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::TlsError);
  fail_unless_equals_int ((int) r.action, (int) Action::Fail);
  fail_unless (r.describe ().find ("tls-database") != std::string::npos);

  r = classify (200, std::string ("{\"candidates\":[{\"content\":{\"parts\":[") + kImagePart + "]}}]}");
  mark_undecodable (r, "PNG data is corrupt", false);
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::UndecodableImage);
  fail_unless_equals_int ((int) r.action, (int) Action::RetryContent);
  mark_undecodable (r, "PNG image is 100000x100000, over the limit", true);
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::ImageTooLarge);
  fail_unless_equals_int ((int) r.action, (int) Action::Fail);
}
GST_END_TEST;

GST_START_TEST (test_classify_broken_bodies)
{
  Response r = classify (200, "{\"error\":{\"code\":500,\"message\":\"Internal error\",\"status\":\"INTERNAL\"}}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::ErrorInBody);
  fail_unless_equals_int (r.http_status, 500);

  r = classify (200, "{\"candidates\": [{\"content\": ");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::MalformedResponse);
  r = classify (200, "");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::MalformedResponse);
  r = classify (200, "[1,2]");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::MalformedResponse);
  r = classify (200, "{}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::MalformedResponse);

  r = classify (200, "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\","
      "\"data\":\"!!!not base64###\"}}]},\"finishReason\":\"STOP\"}]}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::CorruptImageData);
  /* A new generation may well come back intact. */
  fail_unless_equals_int ((int) r.action, (int) Action::RetryContent);

  /* Numbers beyond 64 bits are ignored, not cast (undefined behaviour). */
  r = classify (200, "{\"error\":{\"code\":1e19,\"message\":\"x\"},\"usageMetadata\":{\"promptTokenCount\":1e300}}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::ErrorInBody);
  fail_unless_equals_int (r.usage.prompt_tokens, -1);

  /* Wrong JSON types where objects are expected must not crash. */
  r = classify (200, "{\"candidates\":[{\"content\":{\"parts\":[1,\"x\",null,{\"inlineData\":5}]},"
      "\"finishReason\":7}]}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::TextOnly);
}
GST_END_TEST;

GST_START_TEST (test_transport_and_limits)
{
  GErrorPtr err (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "Connection refused"));
  Response r = classify_transport_error (err.get ());
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::Transport);
  fail_unless_equals_int ((int) r.action, (int) Action::Retry);
  fail_unless (r.describe ().find ("Connection refused") != std::string::npos);

  err.reset (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled"));
  r = classify_transport_error (err.get ());
  fail_unless_equals_int ((int) r.action, (int) Action::Stop);

  r = make_timeout_response (30);
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::Timeout);
  fail_unless_equals_int ((int) r.action, (int) Action::Retry);
  r = make_too_large_response (1024);
  fail_unless_equals_int ((int) r.action, (int) Action::Fail);
}
GST_END_TEST;

GST_START_TEST (test_durations)
{
  fail_unless_equals_float (*parse_duration_seconds ("53s"), 53.0);
  fail_unless_equals_float (*parse_duration_seconds ("34.4s"), 34.4);
  fail_if (parse_duration_seconds ("34.4").has_value ());
  fail_if (parse_duration_seconds ("-1s").has_value ());
  fail_if (parse_duration_seconds ("").has_value ());
  fail_unless_equals_float (*parse_retry_after ("120"), 120.0);
  fail_if (parse_retry_after ("soon").has_value ());
  /* An HTTP date in the past means "now". */
  fail_unless_equals_float (*parse_retry_after ("Wed, 21 Oct 2015 07:28:00 GMT"), 0.0);
}
GST_END_TEST;

GST_START_TEST (test_base64_strict)
{
  GBytes *b = decode_base64_strict ("aGVsbG8=", 8);
  fail_unless (b);
  fail_unless_equals_int (g_bytes_get_size (b), 5);
  g_bytes_unref (b);
  b = decode_base64_strict ("aGVs\nbG8=", 9);
  fail_unless (b);
  g_bytes_unref (b);
  /* Padding is optional: unpadded tails decode in full. */
  b = decode_base64_strict ("QUI", 3);
  fail_unless (b);
  fail_unless_equals_int (g_bytes_get_size (b), 2);
  g_bytes_unref (b);
  b = decode_base64_strict ("QUJDRA", 6);
  fail_unless (b);
  fail_unless_equals_int (g_bytes_get_size (b), 4);
  fail_unless (memcmp (g_bytes_get_data (b, nullptr), "ABCD", 4) == 0);
  g_bytes_unref (b);
  fail_if (decode_base64_strict ("aGVsbG8=x", 9));
  fail_if (decode_base64_strict ("a*b=", 4));
  fail_if (decode_base64_strict ("a", 1));
  fail_if (decode_base64_strict ("a===", 4));
}
GST_END_TEST;

/* Issue 6 item 1: about 80,000 nested '[' overflowed the stack inside
 * json-glib's recursive parser (SIGSEGV), whatever the HTTP status. */
GST_START_TEST (test_deep_nesting_refused)
{
  const std::string deep (100000, '[');
  for (guint status : { 200u, 500u }) {
    Response r = classify (status, deep);
    fail_unless_equals_int ((int) r.outcome, (int) (status == 200 ? Outcome::MalformedResponse : Outcome::ServerError));
    if (status == 200)
      fail_unless (r.error_message.find ("nests JSON deeper than 512 levels") != std::string::npos, "%s",
          r.error_message.c_str ());
  }

  /* Objects too, and closed ones: depth is what overflows, not length. */
  std::string objects;
  for (int i = 0; i < 100000; i++)
    objects += "{\"a\":";
  objects += "1" + std::string (100000, '}');
  Response r = classify (200, objects);
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::MalformedResponse);
  fail_unless (r.describe ().find ("nests JSON deeper than 512 levels") != std::string::npos, "%s",
      r.describe ().c_str ());

  /* Brackets inside strings are text, escaped quotes included. */
  r = classify (200, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\\\"" + deep + "\\\\\"}]},"
      "\"finishReason\":\"STOP\"}]}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::TextOnly);
  fail_unless_equals_int (r.model_text.size (), deep.size () + 2);

  /* 512 levels are fine, 513 are not ({"candidates":[]} is two). */
  r = classify (200, std::string (510, '[') + "{\"candidates\":[]}" + std::string (510, ']'));
  fail_if (r.error_message.find ("deeper") != std::string::npos, "%s", r.error_message.c_str ());
  r = classify (200, std::string (511, '[') + "{\"candidates\":[]}" + std::string (511, ']'));
  fail_unless (r.error_message.find ("deeper than 512") != std::string::npos, "%s", r.error_message.c_str ());
}
GST_END_TEST;

/* The linear pre-check must end every string exactly where json-glib does,
 * or brackets it takes for text reach the recursive parser. */
GST_START_TEST (test_json_check)
{
  struct { const char *text; guint limit; JsonError expected; } cases[] = {
    {"[[1]]", 2, JsonError::None},
    {"[[[1]]]", 2, JsonError::TooDeep},
    {"{\"a\":{\"b\":{}}}", 2, JsonError::TooDeep},
    {"[\"[[[[{{{{\"]", 1, JsonError::None},
    {"[\"\\\"[[[[\", \"x\"]", 1, JsonError::None},       /* an escaped quote does not end the string */
    {"[\"\\\\\", [[1]]]", 2, JsonError::TooDeep},        /* an escaped backslash does not escape the quote */
    {"[\"\\ud83d\\ude00 \\u00e9\\n\"]", 1, JsonError::None},
    {"[\"\xc3\xa9t\xc3\xa9\"]", 1, JsonError::None},
    {"[1, ]]]]", 1, JsonError::None},                 /* stray closers are json-glib's to report */
    /* What json-glib reads differently from JSON, so that a '"' would put
     * the count out of step with it: refused before it gets there. */
    {"[/* \" */ [[1]]]", 2, JsonError::Invalid},      /* json-glib skips C comments */
    {"['\"', [[1]]]", 2, JsonError::Invalid},         /* and reads single-quoted strings */
    {"[\"\\u12\", \"[[[[1]]]]\"]", 2, JsonError::Invalid}, /* it swallows 4 chars after \u */
    {"[\"\\q\"]", 1, JsonError::Invalid},
    {"[\"\\ud800\"]", 1, JsonError::Invalid},
    {"[\"\\udc00\\ud800\"]", 1, JsonError::Invalid},
    {"[\"\\ud800\\\"\", [[1]]]", 2, JsonError::Invalid},
    {"[\"a\nb\"]", 1, JsonError::Invalid},
    {"[\"\xc3\"]", 1, JsonError::Invalid},
    {"# [[[\n[1]", 1, JsonError::Invalid},
  };
  for (const auto & c : cases) {
    std::string message;
    JsonError e = check_json (c.text, strlen (c.text), c.limit, message);
    fail_unless_equals_int ((int) e, (int) c.expected);
    if (e != JsonError::None)
      fail_unless (g_ascii_isdigit (message[0]) && message.find (": ") != std::string::npos, "%s", message.c_str ());
  }
  std::string message;
  fail_unless_equals_int ((int) check_json ("[\n [[", 5, 2, message), (int) JsonError::TooDeep);
  fail_unless_equals_string (message.c_str (), "2:3: nested deeper than 2 levels");

  JsonError e = JsonError::None;
  fail_if (parse_json ("", 0, message, &e));
  fail_unless_equals_int ((int) e, (int) JsonError::Empty);
  fail_if (parse_json (" \n", 2, message, &e));
  fail_unless_equals_int ((int) e, (int) JsonError::Empty);
  fail_if (parse_json ("{\"a\":", 5, message, &e));
  fail_unless_equals_int ((int) e, (int) JsonError::Invalid);
  fail_unless (g_str_has_prefix (message.c_str (), "1:"), "%s", message.c_str ());
  JsonNodePtr root = parse_json ("{\"a\":[1]}", 9, message, &e);
  fail_unless (root && JSON_NODE_HOLDS_OBJECT (root.get ()));
  fail_unless_equals_int ((int) e, (int) JsonError::None);
}
GST_END_TEST;

/* Ends with exactly one sentence terminator, and no ".." anywhere. */
static void
check_sentence (const std::string & text, const char *what)
{
  fail_if (text.empty (), "%s: empty", what);
  fail_unless (strchr (".!?", text.back ()) != nullptr, "%s: no full stop at the end: %s", what, text.c_str ());
  fail_if (text.find ("..") != std::string::npos, "%s: \"..\" in: %s", what, text.c_str ());
  fail_if (text.find ("  ") != std::string::npos, "%s: double space in: %s", what, text.c_str ());
}

/* Issue 6 item 15: a finishMessage ending in "." gave "..", and outcomes
 * such as TooLarge, Timeout, Transport ended without a full stop, so that
 * the element's "... refused" + " Gave up after ..." read "refused Gave up".
 * Every outcome, with every text field ending with and without a full stop. */
/* A pathological image (too costly to decode) is within the pixel limit:
 * no "raise max-image-pixels" hint for it, which a bomb keeps. */
GST_START_TEST (test_refused_image_hints)
{
  Response r;
  mark_undecodable (r, "decoding the JPEG took more than 5 s of CPU time (at scan 339): refused as "
      "pathological", true);
  fail_unless (r.outcome == Outcome::ImageTooLarge && r.action == Action::Fail);
  std::string text = r.describe ();
  fail_unless (text.find ("max-image-pixels") == std::string::npos, "%s", text.c_str ());
  mark_undecodable (r, "PNG image is 100000x100000, over the limit of 67108864 pixels", true);
  text = r.describe ();
  fail_unless (text.find ("Raise max-image-pixels") != std::string::npos, "%s", text.c_str ());
}
GST_END_TEST;

GST_START_TEST (test_describe_sentences)
{
  guint outcomes = 0;
  for (int o = 0; strcmp (outcome_name ((Outcome) o), "unknown") != 0; o++, outcomes++) {
    for (const char *end : { "", ".", " ", "?" }) {
      auto text = [end] (const char *s) { return std::string (s) + end; };
      Response r;
      r.outcome = (Outcome) o;
      r.action = action_for (r.outcome);
      r.http_status = 429;
      r.gemini_status = "RESOURCE_EXHAUSTED";
      r.error_message = text ("Resource has been exhausted");
      r.finish_reason = "IMAGE_SAFETY";
      r.finish_message = text ("Unable to show the generated image");
      r.block_reason = "PROHIBITED_CONTENT";
      r.block_reason_message = text ("The prompt was blocked");
      r.model_text = text ("I cannot draw that");
      check_sentence (r.describe (), outcome_name (r.outcome));
      r.quota_exhausted_for_day = true;
      r.error_reason = "API_KEY_INVALID";
      r.model_text.clear ();
      check_sentence (r.describe (), outcome_name (r.outcome));
      r = Response ();
      r.outcome = (Outcome) o;
      check_sentence (r.describe (), outcome_name (r.outcome));
    }
  }
  fail_unless (outcomes >= 24, "%u outcomes", outcomes);

  /* The made-up responses, with the texts they really carry. */
  check_sentence (make_timeout_response (30).describe (), "timeout");
  check_sentence (make_too_large_response (1024).describe (), "too-large");
  check_sentence (make_cancelled_response ().describe (), "cancelled");
  GErrorPtr err (g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "Connection refused"));
  check_sentence (classify_transport_error (err.get ()).describe (), "transport");
  Response r = classify (200, "{\"candidates\":[{\"content\":{\"parts\":[" + std::string (kImagePart) + "]}}]}");
  check_sentence (r.describe (), "image");
  mark_undecodable (r, "PNG data is corrupt.", false);
  check_sentence (r.describe (), "undecodable");
  mark_undecodable (r, "PNG image is 100000x100000, over the limit of 16777216 pixels", true);
  check_sentence (r.describe (), "image-too-large");

  r = classify (200, "{\"candidates\":[{\"finishReason\":\"IMAGE_OTHER\",\"finishMessage\":\"Image generation failed.\"}]}");
  fail_unless (r.describe ().find ("Image generation failed.") != std::string::npos, "%s", r.describe ().c_str ());
  check_sentence (r.describe (), "finishMessage with a full stop");
}
GST_END_TEST;

/* A code inside a 200's error object is not necessarily an HTTP status: a
 * negative one printed as 4294967291. */
GST_START_TEST (test_error_code_out_of_range)
{
  Response r = classify (200, "{\"error\":{\"code\":-5,\"message\":\"Something odd\",\"status\":\"UNKNOWN\"}}");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::ErrorInBody);
  fail_unless_equals_int (r.http_status, 200);
  fail_unless_equals_int ((int) r.action, (int) Action::Fail);
  std::string text = r.describe ();
  fail_unless (text.find ("error code -5") != std::string::npos, "%s", text.c_str ());
  fail_if (text.find ("4294967291") != std::string::npos, "%s", text.c_str ());
  check_sentence (text, "code -5");

  for (const char *code : { "99", "600", "70000", "1e19", "4294967496" }) {
    r = classify (200, std::string ("{\"error\":{\"code\":") + code + ",\"message\":\"x\"}}");
    fail_unless_equals_int (r.http_status, 200);
    check_sentence (r.describe (), code);
  }
  r = classify (200, "{\"error\":{\"code\":503,\"message\":\"overloaded\"}}");
  fail_unless_equals_int (r.http_status, 503);
  fail_unless_equals_int ((int) r.action, (int) Action::Retry);
}
GST_END_TEST;

/* Issue 6 item 12: an https endpoint that does not speak TLS was blamed on
 * the certificate. Only certificate errors get the certificate hint. */
GST_START_TEST (test_tls_hints)
{
  for (GTlsError code : { G_TLS_ERROR_BAD_CERTIFICATE }) {
    GErrorPtr err (g_error_new_literal (G_TLS_ERROR, code, "Unacceptable TLS certificate"));
    Response r = classify_transport_error (err.get ());
    fail_unless_equals_int ((int) r.outcome, (int) Outcome::TlsError);
    fail_unless_equals_int ((int) r.action, (int) Action::Fail);
    std::string text = r.describe ();
    fail_unless (text.find ("certificate") != std::string::npos, "%s", text.c_str ());
    fail_unless (text.find ("ssl-ca-file") != std::string::npos, "%s", text.c_str ());
    fail_unless (text.find ("tls-database") != std::string::npos, "%s", text.c_str ());
    fail_if (text.find ("http rather than https") != std::string::npos, "%s", text.c_str ());
    check_sentence (text, "bad certificate");
  }
  for (GTlsError code : { G_TLS_ERROR_NOT_TLS, G_TLS_ERROR_EOF, G_TLS_ERROR_MISC, G_TLS_ERROR_HANDSHAKE,
           G_TLS_ERROR_INAPPROPRIATE_FALLBACK }) {
    GErrorPtr err (g_error_new_literal (G_TLS_ERROR, code, "Peer sent non-TLS data"));
    Response r = classify_transport_error (err.get (), "https://127.0.0.1:8080");
    fail_unless_equals_int ((int) r.outcome, (int) Outcome::TlsError);
    std::string text = r.describe ();
    fail_unless (text.find ("did not complete a TLS handshake") != std::string::npos, "%d: %s", code, text.c_str ());
    fail_unless (text.find ("http rather than https") != std::string::npos, "%d: %s", code, text.c_str ());
    fail_unless (text.find ("https://127.0.0.1:8080") != std::string::npos, "%d: %s", code, text.c_str ());
    fail_unless (text.find ("Peer sent non-TLS data") != std::string::npos, "%d: %s", code, text.c_str ());
    fail_if (text.find ("certificate") != std::string::npos, "%d: %s", code, text.c_str ());
    check_sentence (text, "handshake");
  }
  /* The server named in the message is never more than scheme://host:port. */
  GErrorPtr err (g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_NOT_TLS, "Peer sent non-TLS data"));
  std::string text = classify_transport_error (err.get (), "https://user:secret@host.example:8443/v1beta?key=k").describe ();
  fail_unless (text.find ("https://host.example:8443") != std::string::npos, "%s", text.c_str ());
  fail_if (text.find ("secret") != std::string::npos || text.find ("key=") != std::string::npos
      || text.find ("v1beta") != std::string::npos, "%s", text.c_str ());
  /* Without a server, the sentence still reads. */
  text = classify_transport_error (err.get ()).describe ();
  fail_unless (text.find ("did not complete a TLS handshake") != std::string::npos, "%s", text.c_str ());
  check_sentence (text, "handshake without server");

  err.reset (g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED, "certificate required"));
  text = classify_transport_error (err.get ()).describe ();
  fail_unless (text.find ("client certificate") != std::string::npos, "%s", text.c_str ());
  err.reset (g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_UNAVAILABLE, "TLS support is not available"));
  text = classify_transport_error (err.get ()).describe ();
  fail_unless (text.find ("glib-networking") != std::string::npos, "%s", text.c_str ());
}
GST_END_TEST;

/* Issue 6 item 2: libsoup followed redirects with the key. The engine no
 * longer does; a 3xx is an error naming the status and the target host. */
GST_START_TEST (test_classify_redirect)
{
  for (guint status : { 301u, 302u, 303u, 307u, 308u }) {
    GBytesPtr body (bytes_of ("<html>Moved</html>"));
    Response r = classify_http_response (status, nullptr, body.get (), "https://other.example");
    fail_unless_equals_int ((int) r.outcome, (int) Outcome::Redirected);
    fail_unless_equals_int ((int) r.action, (int) Action::Fail);
    fail_unless_equals_string (outcome_name (r.outcome), "redirected");
    fail_unless_equals_int (r.http_status, status);
    fail_unless_equals_string (r.redirect_target.c_str (), "https://other.example");
    std::string text = r.describe ();
    GCharPtr head (g_strdup_printf ("HTTP %u %s with a redirect to https://other.example", status,
            soup_status_get_phrase (status)));
    fail_unless (text.find (head.get ()) != std::string::npos, "%s", text.c_str ());
    fail_unless (text.find ("not followed") != std::string::npos, "%s", text.c_str ());
    fail_unless (text.find ("api-endpoint") != std::string::npos, "%s", text.c_str ());
    check_sentence (text, "redirect");
  }

  /* The target is shown as scheme://host[:port] whatever the engine passes. */
  GBytesPtr empty (bytes_of (""));
  Response r = classify_http_response (302, nullptr, empty.get (),
      "http://user:pass@evil.example:8080/steal?key=AIza#x");
  fail_unless_equals_string (r.redirect_target.c_str (), "http://evil.example:8080");
  std::string text = r.describe ();
  fail_if (text.find ("pass") != std::string::npos || text.find ("AIza") != std::string::npos
      || text.find ("steal") != std::string::npos, "%s", text.c_str ());

  /* A target that is no host name is not quoted at all. */
  r = classify_http_response (302, nullptr, empty.get (), "We://d, 21 Oc\r\nSet-Cookie: x");
  fail_unless_equals_string (r.redirect_target.c_str (), "");

  /* No Location: still a redirect, and the sentence still reads. */
  r = classify_http_response (303, nullptr, empty.get ());
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::Redirected);
  text = r.describe ();
  fail_unless (text.find ("HTTP 303 See Other") != std::string::npos, "%s", text.c_str ());
  check_sentence (text, "redirect without target");

  /* A body that would crash a parser is not even read. */
  GBytesPtr deep (bytes_of (std::string (100000, '[')));
  r = classify_http_response (301, nullptr, deep.get (), "https://other.example");
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::Redirected);
}
GST_END_TEST;

/* Issue 6 item 5: absurd delays must stay finite numbers, and the response
 * carries what the server asked for, bounded, so that the element can quote
 * it when the wait is beyond its deadline. */
GST_START_TEST (test_absurd_retry_delays)
{
  const std::string retry_info = "{\"error\":{\"code\":429,\"message\":\"Resource exhausted\",\"status\":"
      "\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\","
      "\"retryDelay\":\"%s\"}]}}";
  auto with_delay = [&] (const char *delay) {
    GCharPtr body (g_strdup_printf (retry_info.c_str (), delay));
    return std::string (body.get ());
  };

  Response r = classify (429, with_delay ("1e10s"));
  fail_unless (r.retry_delay_seconds.has_value ());
  fail_unless_equals_float (*r.retry_delay_seconds, 1e10);
  fail_unless_equals_string (r.retry_delay_source.c_str (), "RetryInfo.retryDelay \"1e10s\"");

  r = classify (429, "<html>Too Many Requests</html>", "99999999999");
  fail_unless_equals_float (*r.retry_delay_seconds, 99999999999.0);
  fail_unless_equals_string (r.retry_delay_source.c_str (), "Retry-After: 99999999999");

  /* Beyond 64 bits: still a finite (saturated) number, not a wrap. */
  r = classify (503, "", "999999999999999999999999999999");
  fail_unless (r.retry_delay_seconds && std::isfinite (*r.retry_delay_seconds) && *r.retry_delay_seconds > 1e18);
  fail_unless (g_str_has_prefix (r.retry_delay_source.c_str (), "Retry-After: 9999"), "%s",
      r.retry_delay_source.c_str ());

  /* The larger of the two is what the server asked for, and is quoted. */
  r = classify (429, with_delay ("30s"), "120");
  fail_unless_equals_float (*r.retry_delay_seconds, 120.0);
  fail_unless_equals_string (r.retry_delay_source.c_str (), "Retry-After: 120");
  r = classify (429, with_delay ("34.5s"), "7");
  fail_unless_equals_float (*r.retry_delay_seconds, 34.5);
  fail_unless_equals_string (r.retry_delay_source.c_str (), "RetryInfo.retryDelay \"34.5s\"");
  r = classify (200, "{\"error\":{\"code\":503,\"message\":\"overloaded\",\"details\":[{\"@type\":"
      "\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"2s\"}]}}", "9");
  fail_unless_equals_float (*r.retry_delay_seconds, 9.0);
  fail_unless_equals_string (r.retry_delay_source.c_str (), "Retry-After: 9");

  /* Too large for a double: saturated, so a deadline still refuses it. */
  r = classify (429, with_delay ("1e400s"));
  fail_unless (r.retry_delay_seconds && *r.retry_delay_seconds == G_MAXDOUBLE);
  fail_unless_equals_string (r.retry_delay_source.c_str (), "RetryInfo.retryDelay \"1e400s\"");

  /* Not numbers at all: no delay, nothing quoted. */
  for (const char *bad : { "infs", "nans", "-5s", "5", "s", "0x10s" }) {
    r = classify (429, with_delay (bad));
    fail_if (r.retry_delay_seconds.has_value (), "%s gave %f", bad, r.retry_delay_seconds.value_or (0));
    fail_unless (r.retry_delay_source.empty (), "%s: %s", bad, r.retry_delay_source.c_str ());
  }
  for (const char *bad : { "-5", "1e3", "soon", "inf", "nan", "5 s" }) {
    r = classify (429, "", bad);
    fail_if (r.retry_delay_seconds.has_value (), "Retry-After %s gave %f", bad, r.retry_delay_seconds.value_or (0));
    fail_unless (r.retry_delay_source.empty ());
  }

  /* Quoted verbatim but bounded, and printable only. */
  std::string long_delay (5000, '1');
  r = classify (429, with_delay ((long_delay.substr (0, 300) + "s").c_str ()));
  fail_unless (r.retry_delay_seconds && std::isfinite (*r.retry_delay_seconds));
  fail_unless (r.retry_delay_source.size () < 80, "%s", r.retry_delay_source.c_str ());
  fail_unless (g_str_has_prefix (r.retry_delay_source.c_str (), "RetryInfo.retryDelay \"1111"));
  r = classify (429, "", (long_delay + "\x01").c_str ());
  fail_if (r.retry_delay_seconds.has_value ());
  r = classify (429, "", long_delay.c_str ());
  fail_unless (r.retry_delay_source.size () < 80, "%s", r.retry_delay_source.c_str ());
  r = classify (429, "", "Fri, 31 Dec 9999 23:59:59 GMT");
  fail_unless (r.retry_delay_seconds && *r.retry_delay_seconds > 2e11 && std::isfinite (*r.retry_delay_seconds));
  fail_unless_equals_string (r.retry_delay_source.c_str (), "Retry-After: Fri, 31 Dec 9999 23:59:59 GMT");
}
GST_END_TEST;

/* The server's words are quoted without control characters: an ESC
 * sequence in finishMessage must not reach a terminal (found in review). */
GST_START_TEST (test_server_text_sanitized)
{
  Response r = classify (200, "{\"candidates\":[{\"finishReason\":\"IMAGE_SAFETY\",\"finishMessage\":"
      "\"blocked\\u001b[2J\\u001b]0;owned\\u0007 now\\nnext\"}]}");
  fail_unless (r.outcome == Outcome::ContentBlocked);
  std::string text = r.describe ();
  for (char c : text)
    fail_if ((guchar) c < 0x20 || c == 0x7f, "control character %d in: %s", c, text.c_str ());
  fail_unless (text.find ("blocked [2J ]0;owned  now next") != std::string::npos, "%s", text.c_str ());
  /* Invalid UTF-8 from the server becomes valid UTF-8. */
  r = classify (400, "{\"error\":{\"code\":400,\"message\":\"bad \xff\xfe bytes\"}}");
  text = r.describe ();
  fail_unless (g_utf8_validate (text.c_str (), -1, nullptr), "%s", text.c_str ());
}
GST_END_TEST;

/* The real recorded responses: the final image, its size and the text. */
static Response
classify_recorded (const char *file, guint index)
{
  std::vector<emulator::Interaction> interactions;
  std::string error;
  fail_unless (emulator::load_cassette (recorded_path (file), interactions, error), "%s", error.c_str ());
  fail_unless (index < interactions.size ());
  const auto & it = interactions[index];
  std::string body = to_json (it.response_body.get ());
  return classify (it.status, body);
}

static void
check_decoded (const Response & r, ImageFormat format, int width, int height)
{
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::Image);
  DecodedImage img = decode_as (string_of (r.image.get ()), format);
  fail_unless_equals_int (img.width, width);
  fail_unless_equals_int (img.height, height);
}

GST_START_TEST (test_recorded_pro_jpeg)
{
  Response r = classify_recorded ("test_google_image_generation_with_text.yaml", 0);
  check_decoded (r, ImageFormat::Jpeg, 1408, 768);
  fail_unless_equals_string (r.image_mime_type.c_str (), "image/jpeg");
  fail_unless_equals_int (r.thought_image_parts, 0);
  fail_unless (!r.model_text.empty ());
  fail_unless_equals_string (r.finish_reason.c_str (), "STOP");
  fail_unless_equals_int (r.usage.thoughts_tokens, 174);
}
GST_END_TEST;

GST_START_TEST (test_recorded_flash)
{
  Response text = classify_recorded ("test_google_image_or_text_output.yaml", 0);
  fail_unless_equals_int ((int) text.outcome, (int) Outcome::TextOnly);
  std::string msg = text.describe ();
  fail_unless (msg.find ("axolotl") != std::string::npos, "%s", msg.c_str ());
  fail_unless (msg.find ("finishReason=STOP") != std::string::npos, "%s", msg.c_str ());

  Response img = classify_recorded ("test_google_image_or_text_output.yaml", 1);
  check_decoded (img, ImageFormat::Png, 1024, 1024);
  fail_unless (!img.model_text.empty ());
}
GST_END_TEST;

/* Taking the body (the element's path) gives the same answer as reading
 * it: the same image bytes, text, tokens and kept content, for the real
 * answers (whose base64 is decoded inside the body) and for broken base64. */
GST_START_TEST (test_in_place_same_answer)
{
  const struct { const char *file; guint index; } recorded[] = {
    {"test_google_image_generation_with_text.yaml", 0},
    {"test_google_image_or_text_output.yaml", 0},
    {"test_google_image_or_text_output.yaml", 1},
    {"test_google_vertexai_image_generation_with_output_format.yaml", 0},
  };
  std::vector<std::string> bodies;
  for (const auto & c : recorded) {
    std::vector<emulator::Interaction> interactions;
    std::string error;
    fail_unless (emulator::load_cassette (recorded_path (c.file), interactions, error), "%s", error.c_str ());
    bodies.push_back (to_json (interactions[c.index].response_body.get ()));
  }
  const std::string junk (6000, 'A');
  bodies.push_back ("{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\","
      "\"data\":\"" + junk + "!" + junk + "\"}}]}}]}");
  bodies.push_back ("{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\","
      "\"data\":\"" + junk + "A\"}}]}}]}");
  for (const std::string & body : bodies) {
    for (ModelContent keep : {ModelContent::Drop, ModelContent::Keep}) {
      GBytesPtr b (bytes_of (body));
      Response read = classify_http_response (200, nullptr, b.get (), nullptr, keep);
      Response taken = classify_http_response_in_place (200, nullptr, GBytesPtr (bytes_of (body)), nullptr, keep);
      fail_unless_equals_int ((int) taken.outcome, (int) read.outcome);
      fail_unless (taken.describe () == read.describe ());
      fail_unless (string_of (taken.image.get ()) == string_of (read.image.get ()));
      fail_unless (taken.model_text == read.model_text);
      fail_unless (taken.model_content == read.model_content);
      fail_unless_equals_int (taken.usage.total_tokens, read.usage.total_tokens);
      if (keep == ModelContent::Keep && read.outcome == Outcome::Image)
        fail_if (read.model_content.empty ());
    }
  }
}
GST_END_TEST;

/* The real Pro answer's content, kept: equal to the recorded one as JSON,
 * its two ~1.1 M-character signatures identical strings, parts in order
 * (signed text, then the signed JPEG); sent back in a history unchanged. */
GST_START_TEST (test_recorded_model_content)
{
  std::vector<gemini::emulator::Interaction> interactions;
  std::string error;
  fail_unless (gemini::emulator::load_cassette (recorded_path ("test_google_image_generation_with_text.yaml"),
          interactions, error), "%s", error.c_str ());
  JsonObject *root = json_node_get_object (interactions[0].response_body.get ());
  JsonObject *cand = json_array_get_object_element (json_object_get_array_member (root, "candidates"), 0);
  JsonNode *recorded = json_object_get_member (cand, "content");
  GBytesPtr body (bytes_of (to_json (interactions[0].response_body.get ())));

  Response r = classify_http_response (200, nullptr, body.get (), nullptr, ModelContent::Keep);
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::Image);
  std::string message;
  JsonNodePtr kept = parse_json (r.model_content.data (), r.model_content.size (), message);
  fail_unless (kept != nullptr, "%s", message.c_str ());
  fail_unless (json_node_equal (kept.get (), recorded));
  JsonObject *k = json_node_get_object (kept.get ());
  fail_unless_equals_string (json_object_get_string_member (k, "role"), "model");
  JsonArray *kp = json_object_get_array_member (k, "parts");
  JsonArray *rp = json_object_get_array_member (json_node_get_object (recorded), "parts");
  fail_unless_equals_int (json_array_get_length (kp), 2);
  fail_unless_equals_int (json_array_get_length (rp), 2);
  fail_unless (json_object_has_member (json_array_get_object_element (kp, 0), "text"));
  fail_unless (json_object_has_member (json_array_get_object_element (kp, 1), "inlineData"));
  for (guint i = 0; i < 2; i++) {
    const std::string ks = json_object_get_string_member (json_array_get_object_element (kp, i), "thoughtSignature");
    const std::string rs = json_object_get_string_member (json_array_get_object_element (rp, i), "thoughtSignature");
    fail_unless (ks.size () > 1000000);
    fail_unless (ks == rs);
  }

  RequestSettings s;
  s.prompt = "now at night";
  s.history.push_back (Turn {"a cat", {}, r.model_content});
  const std::string sent = string_of (GBytesPtr (build_request_body (s)).get ());
  fail_unless (sent.find (r.model_content) != std::string::npos);
}
GST_END_TEST;

GST_START_TEST (test_recorded_vertex_jpeg)
{
  Response r = classify_recorded ("test_google_vertexai_image_generation_with_output_format.yaml", 0);
  check_decoded (r, ImageFormat::Jpeg, 1024, 1024);
}
GST_END_TEST;

/* The streaming request: its URL, and includeThoughts with or without a
 * thinking level. */
GST_START_TEST (test_request_stream)
{
  const std::string url = build_request_url ("http://127.0.0.1:8080/", "m", true);
  fail_unless_equals_string (url.c_str (), "http://127.0.0.1:8080/v1beta/models/m:streamGenerateContent?alt=sse");
  RequestSettings s;
  s.prompt = "p";
  s.include_thoughts = true;
  GBytesPtr body (build_request_body (s));
  JsonNode *root = parse_body (body.get ());
  std::string json = to_json (root);
  json_node_unref (root);
  fail_unless_equals_string (json.c_str (), "{\"contents\":[{\"parts\":[{\"text\":\"p\"}],\"role\":\"user\"}],"
      "\"generationConfig\":{\"responseModalities\":[\"IMAGE\"],\"thinkingConfig\":{\"includeThoughts\":true}}}");
  s.thinking_level = "HIGH";
  body.reset (build_request_body (s));
  root = parse_body (body.get ());
  json = to_json (root);
  json_node_unref (root);
  fail_unless (json.find ("\"thinkingConfig\":{\"thinkingLevel\":\"HIGH\",\"includeThoughts\":true}") !=
      std::string::npos, "%s", json.c_str ());
}
GST_END_TEST;

/* StreamAnswer: the unary answer of test_classify_image_last_non_thought
 * cut into events (text in pieces, each image alone, the finish last)
 * classifies the same; the draft's bytes are handed out; the text pieces
 * join into one part. */
GST_START_TEST (test_stream_answer)
{
  const std::string tail = "],\"role\":\"model\"},\"index\":0}],\"modelVersion\":\"v\",\"responseId\":\"abc\"}";
  const std::string head = "{\"candidates\":[{\"content\":{\"parts\":[";
  StreamAnswer a;
  std::vector<GBytesPtr> drafts;
  for (const std::string & part : {std::string ("{\"text\":\"**Compo\",\"thought\":true}"),
           std::string ("{\"text\":\"sing**\",\"thought\":true}"),
           std::string ("{\"inlineData\":{\"mimeType\":\"image/jpeg\",\"data\":\"/9j/\"},\"thought\":true}"),
           std::string ("{\"text\":\"Here \"}"), std::string ("{\"text\":\"you go\"}"),
           std::string (kImagePart)}) {
    const std::string e = head + part + tail;
    a.add_event (e.data (), e.size (), &drafts);
  }
  const std::string last = "{\"candidates\":[{\"content\":{\"role\":\"model\"},\"finishReason\":\"STOP\"}],"
      "\"usageMetadata\":{\"totalTokenCount\":1297}}";
  a.add_event (last.data (), last.size (), &drafts);
  fail_if (a.settled ());
  Response r = a.result (ModelContent::Keep);
  fail_unless_equals_int ((int) r.outcome, (int) Outcome::Image);
  fail_unless_equals_int ((int) r.action, (int) Action::Deliver);
  fail_unless_equals_int (r.thought_image_parts, 1);
  fail_unless_equals_int (r.image_parts, 1);
  fail_unless_equals_string (r.model_text.c_str (), "Here you go");
  fail_unless_equals_string (r.finish_reason.c_str (), "STOP");
  fail_unless_equals_int (r.usage.total_tokens, 1297);
  fail_unless_equals_string (r.response_id.c_str (), "abc");
  fail_unless_equals_int (drafts.size (), 1);
  fail_unless_equals_int (g_bytes_get_size (drafts[0].get ()), 3);
  fail_unless (r.model_content.find ("\"text\":\"**Composing**\"") != std::string::npos, "%s", r.model_content.c_str ());
}
GST_END_TEST;

/* Hostile or unfinished streams: an error event settles the answer like
 * that status (later events ignored); an event that is not JSON is
 * malformed; no finishReason is a cut (Transport); no event at all is
 * malformed; a prompt block needs no finishReason. */
GST_START_TEST (test_stream_answer_hostile)
{
  const std::string text = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}]}";
  const std::string stop = "{\"candidates\":[{\"finishReason\":\"STOP\"}]}";
  const std::string error = "{\"error\":{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}";
  {
    StreamAnswer a;
    a.add_event (text.data (), text.size ());
    a.add_event (error.data (), error.size ());
    a.add_event (stop.data (), stop.size ());
    fail_unless (a.settled ());
    Response r = a.result ();
    fail_unless_equals_int ((int) r.outcome, (int) Outcome::ErrorInBody);
    fail_unless_equals_int ((int) r.action, (int) Action::Retry);
    fail_unless_equals_int (r.http_status, 503);
    fail_unless_equals_string (r.error_message.c_str (), "overloaded");
  }
  {
    StreamAnswer a;
    a.add_event ("{\"candidates\":[", 15);
    Response r = a.result ();
    fail_unless_equals_int ((int) r.outcome, (int) Outcome::MalformedResponse);
  }
  {
    StreamAnswer a;
    a.add_event (text.data (), text.size ());
    Response r = a.result ();
    fail_unless_equals_int ((int) r.outcome, (int) Outcome::Transport);
    fail_unless_equals_int ((int) r.action, (int) Action::Retry);
  }
  {
    StreamAnswer a;
    a.add_event (text.data (), text.size ());
    a.add_event (stop.data (), stop.size ());
    Response r = a.result ();
    fail_unless_equals_int ((int) r.outcome, (int) Outcome::TextOnly);
    fail_unless_equals_string (r.model_text.c_str (), "hi");
  }
  {
    StreamAnswer a;
    Response r = a.result ();
    fail_unless_equals_int ((int) r.outcome, (int) Outcome::MalformedResponse);
  }
  {
    StreamAnswer a;
    const std::string blocked = "{\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"}}";
    a.add_event (blocked.data (), blocked.size ());
    Response r = a.result ();
    fail_unless_equals_int ((int) r.outcome, (int) Outcome::PromptBlocked);
  }
}
GST_END_TEST;

static Suite *
protocol_suite (void)
{
  Suite *s = suite_create ("gemini-protocol");
  TCase *tc = tcase_create ("request");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_request_minimal);
  tcase_add_test (tc, test_request_full);
  tcase_add_test (tc, test_request_url);
  tcase_add_test (tc, test_request_stream);
  tcase_add_test (tc, test_stream_answer);
  tcase_add_test (tc, test_stream_answer_hostile);
  tcase_add_test (tc, test_request_history);
  tcase_add_test (tc, test_request_empty_history);
  tcase_add_test (tc, test_request_history_invalid_turns);

  tc = tcase_create ("classify");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_classify_image_last_non_thought);
  tcase_add_test (tc, test_classify_text_only);
  tcase_add_test (tc, test_classify_model_content);
  tcase_add_test (tc, test_classify_finish_reasons);
  tcase_add_test (tc, test_classify_prompt_blocked);
  tcase_add_test (tc, test_classify_http_errors);
  tcase_add_test (tc, test_classify_broken_bodies);
  tcase_add_test (tc, test_retry_classes);
  tcase_add_test (tc, test_transport_and_limits);
  tcase_add_test (tc, test_durations);
  tcase_add_test (tc, test_base64_strict);
  tcase_add_test (tc, test_deep_nesting_refused);
  tcase_add_test (tc, test_json_check);
  tcase_add_test (tc, test_describe_sentences);
  tcase_add_test (tc, test_refused_image_hints);
  tcase_add_test (tc, test_server_text_sanitized);
  tcase_add_test (tc, test_error_code_out_of_range);
  tcase_add_test (tc, test_tls_hints);
  tcase_add_test (tc, test_classify_redirect);
  tcase_add_test (tc, test_absurd_retry_delays);

  tc = tcase_create ("recorded");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_recorded_pro_jpeg);
  tcase_add_test (tc, test_recorded_flash);
  tcase_add_test (tc, test_recorded_vertex_jpeg);
  tcase_add_test (tc, test_recorded_model_content);
  tcase_add_test (tc, test_in_place_same_answer);
  return s;
}

GST_CHECK_MAIN (protocol);
