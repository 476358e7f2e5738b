/* gst-gemini: the Gemini generateContent protocol for image generation.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-protocol.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gemini-base64.h"
#include "gemini-json.h"

namespace gemini {

namespace {

/* json-glib accessors that tolerate absent members and wrong types: every
 * field of a Gemini response is optional (https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse). */
JsonObject *
member_object (JsonObject * obj, const char *name)
{
  if (!obj)
    return nullptr;
  JsonNode *n = json_object_get_member (obj, name);
  return (n && JSON_NODE_HOLDS_OBJECT (n)) ? json_node_get_object (n) : nullptr;
}

JsonArray *
member_array (JsonObject * obj, const char *name)
{
  if (!obj)
    return nullptr;
  JsonNode *n = json_object_get_member (obj, name);
  return (n && JSON_NODE_HOLDS_ARRAY (n)) ? json_node_get_array (n) : nullptr;
}

const char *
member_string (JsonObject * obj, const char *name, gsize * length = nullptr)
{
  if (!obj)
    return nullptr;
  JsonNode *n = json_object_get_member (obj, name);
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return nullptr;
  const char *s = json_node_get_string (n);
  if (length)
    *length = s ? strlen (s) : 0;
  return s;
}

std::optional<gint64>
member_int (JsonObject * obj, const char *name)
{
  if (!obj)
    return std::nullopt;
  JsonNode *n = json_object_get_member (obj, name);
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return std::nullopt;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    return json_node_get_int (n);
  if (t == G_TYPE_DOUBLE) {
    /* Casting a double outside gint64's range is undefined behaviour. */
    double d = json_node_get_double (n);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
      return std::nullopt;
    return (gint64) d;
  }
  return std::nullopt;
}

bool
member_true (JsonObject * obj, const char *name)
{
  if (!obj)
    return false;
  JsonNode *n = json_object_get_member (obj, name);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN
      && json_node_get_boolean (n);
}

/* proto-JSON accepts snake_case too; real responses use camelCase. */
JsonObject *
member_object_any (JsonObject * obj, const char *camel, const char *snake)
{
  JsonObject *o = member_object (obj, camel);
  return o ? o : member_object (obj, snake);
}

const char *
member_string_any (JsonObject * obj, const char *camel, const char *snake, gsize * len = nullptr)
{
  const char *s = member_string (obj, camel, len);
  return s ? s : member_string (obj, snake, len);
}

std::string
truncate_for_message (const std::string & raw, gsize max = 400)
{
  /* A server's text ends up in terminals and logs: valid UTF-8, and no
   * control characters (an ESC sequence would drive the terminal). */
  GCharPtr valid (g_utf8_make_valid (raw.data (), (gssize) raw.size ()));
  std::string text = valid.get ();
  for (char & c : text) {
    if ((guchar) c < 0x20 || c == 0x7f)
      c = ' ';
  }
  if (text.size () <= max)
    return text;
  /* Cut on a UTF-8 boundary. */
  gsize cut = max;
  while (cut > 0 && (text[cut] & 0xC0) == 0x80)
    cut--;
  return text.substr (0, cut) + "…";
}

/* Ends `s` with exactly one sentence terminator: servers' messages come
 * with and without a full stop, and a doubled ".." reads like a bug. */
void
end_sentence (std::string & s)
{
  while (!s.empty () && (s.back () == '.' || g_ascii_isspace (s.back ())))
    s.pop_back ();
  if (s.empty () || (s.back () != '?' && s.back () != '!'))
    s += '.';
}

/* A server's text to quote inside a sentence of ours: bounded, without
 * the full stop it may end with. */
std::string
clause (const std::string & text)
{
  std::string c = truncate_for_message (text);
  while (!c.empty () && (c.back () == '.' || g_ascii_isspace (c.back ())))
    c.pop_back ();
  return c;
}

/* A value a server sent, to quote in a message: printable ASCII, bounded. */
std::string
quote_value (const char *value)
{
  constexpr gsize kMax = 40;
  std::string out;
  const char *p = value;
  for (; *p && out.size () < kMax; p++)
    out += (*p >= 0x20 && *p < 0x7f) ? *p : '?';
  if (*p)
    out += "…";
  return out;
}

/* The server's wait: the larger one wins, with the words it came in. */
void
offer_retry_delay (Response & r, double seconds, std::string source)
{
  if (!r.retry_delay_seconds || seconds > *r.retry_delay_seconds) {
    r.retry_delay_seconds = seconds;
    r.retry_delay_source = std::move (source);
  }
}

/* "head: detail", or "head" alone when there is no detail. */
std::string
with_detail (const std::string & head, const std::string & detail)
{
  std::string c = clause (detail);
  return c.empty () ? head : head + ": " + c;
}

/* scheme://host[:port] of a URL for messages: never its userinfo, path or
 * query, bounded. "" when it is not scheme://host[:port]/... with a host of
 * plain ASCII. */
std::string
origin_of (const char *url)
{
  if (!url)
    return "";
  const char *sep = strstr (url, "://");
  if (!sep || sep == url)
    return "";
  std::string scheme (url, sep);
  for (char &c : scheme) {
    if (!g_ascii_isalnum (c) && c != '+' && c != '-' && c != '.')
      return "";
    c = g_ascii_tolower (c);
  }
  const char *start = sep + 3;
  std::string authority (start, strcspn (start, "/?#"));
  if (auto at = authority.rfind ('@'); at != std::string::npos)
    authority.erase (0, at + 1);
  /* Anything but a host name, an IP literal and a port is not worth quoting. */
  for (char c : authority)
    if (!g_ascii_isalnum (c) && !strchr ("-._~:[]%", c))
      return "";
  if (authority.empty ())
    return "";
  if (authority.size () > 262)  /* a DNS name and a port */
    authority = authority.substr (0, 262) + "…";
  return scheme + "://" + authority;
}

void
add_string_member (JsonBuilder * b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

}  // namespace

/* ---------------------------------------------------------------- request */

namespace {

/* One user content: the text first, then the images, as in Google's editing
 * examples. */
void
add_user_content (JsonBuilder * b, const std::string & prompt, const std::vector<ReferenceImage> & references)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "parts");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  add_string_member (b, "text", prompt.c_str ());
  json_builder_end_object (b);
  for (const auto & ref : references) {
    gsize size = 0;
    const guint8 *data = static_cast<const guint8 *> (g_bytes_get_data (ref.data.get (), &size));
    GCharPtr b64 (g_base64_encode (data, size));
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "inlineData");
    json_builder_begin_object (b);
    add_string_member (b, "data", b64.get ());
    add_string_member (b, "mimeType", ref.mime_type.c_str ());
    json_builder_end_object (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  add_string_member (b, "role", "user");
  json_builder_end_object (b);
}

/* A turn's model content, parsed back to be sent as received, or nullptr
 * when it is not a content @google/genai's Chat would keep (isValidContent:
 * a non-empty parts array of non-empty objects). */
JsonNodePtr
parse_model_content (const std::string & text)
{
  std::string message;
  JsonNodePtr node = parse_json (text.data (), text.size (), message);
  if (!node || !JSON_NODE_HOLDS_OBJECT (node.get ()))
    return nullptr;
  JsonArray *parts = member_array (json_node_get_object (node.get ()), "parts");
  if (!parts || json_array_get_length (parts) == 0)
    return nullptr;
  for (guint i = 0; i < json_array_get_length (parts); i++) {
    JsonNode *part = json_array_get_element (parts, i);
    if (!JSON_NODE_HOLDS_OBJECT (part) || json_object_get_size (json_node_get_object (part)) == 0)
      return nullptr;
  }
  return node;
}

}  // namespace

GBytes *
build_request_body (const RequestSettings & s)
{
  GObjectPtr<JsonBuilder> owner (json_builder_new ());
  JsonBuilder *b = owner.get ();

  json_builder_begin_object (b);

  json_builder_set_member_name (b, "contents");
  json_builder_begin_array (b);
  for (const Turn & turn : s.history) {
    /* The model's parts go back unchanged, signatures and thoughts
     * included (@google/genai's Chat keeps candidates[0].content whole). */
    JsonNodePtr model = parse_model_content (turn.model_content);
    if (!model)
      continue;
    add_user_content (b, turn.prompt, turn.references);
    json_builder_add_value (b, model.release ());
  }
  add_user_content (b, s.prompt, s.references);
  json_builder_end_array (b);

  if (!s.system_instruction.empty ()) {
    json_builder_set_member_name (b, "systemInstruction");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "parts");
    json_builder_begin_array (b);
    json_builder_begin_object (b);
    add_string_member (b, "text", s.system_instruction.c_str ());
    json_builder_end_object (b);
    json_builder_end_array (b);
    add_string_member (b, "role", "user");
    json_builder_end_object (b);
  }

  if (s.google_search) {
    json_builder_set_member_name (b, "tools");
    json_builder_begin_array (b);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "googleSearch");
    json_builder_begin_object (b);
    json_builder_end_object (b);
    json_builder_end_object (b);
    json_builder_end_array (b);
  }

  json_builder_set_member_name (b, "generationConfig");
  json_builder_begin_object (b);
  if (s.temperature) {
    json_builder_set_member_name (b, "temperature");
    json_builder_add_double_value (b, *s.temperature);
  }
  if (s.seed) {
    json_builder_set_member_name (b, "seed");
    json_builder_add_int_value (b, *s.seed);
  }
  /* Always explicit: the API's default is TEXT+IMAGE, and with it the model
   * sometimes answers with text only (the lesson this project starts from). */
  json_builder_set_member_name (b, "responseModalities");
  json_builder_begin_array (b);
  if (s.text_and_image)
    json_builder_add_string_value (b, "TEXT");
  json_builder_add_string_value (b, "IMAGE");
  json_builder_end_array (b);
  if (!s.aspect_ratio.empty () || !s.image_size.empty ()) {
    json_builder_set_member_name (b, "imageConfig");
    json_builder_begin_object (b);
    if (!s.aspect_ratio.empty ())
      add_string_member (b, "aspectRatio", s.aspect_ratio.c_str ());
    if (!s.image_size.empty ())
      add_string_member (b, "imageSize", s.image_size.c_str ());
    json_builder_end_object (b);
  }
  if (!s.thinking_level.empty ()) {
    json_builder_set_member_name (b, "thinkingConfig");
    json_builder_begin_object (b);
    add_string_member (b, "thinkingLevel", s.thinking_level.c_str ());
    if (s.include_thoughts) {
      json_builder_set_member_name (b, "includeThoughts");
      json_builder_add_boolean_value (b, TRUE);
    }
    json_builder_end_object (b);
  } else if (s.include_thoughts) {
    json_builder_set_member_name (b, "thinkingConfig");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "includeThoughts");
    json_builder_add_boolean_value (b, TRUE);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);

  json_builder_end_object (b);

  JsonNodePtr root (json_builder_get_root (b));
  GObjectPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), root.get ());
  gsize length = 0;
  gchar *text = json_generator_to_data (gen.get (), &length);
  return g_bytes_new_take (text, length);
}

bool
model_id_is_valid (const std::string & model)
{
  if (model.empty () || model.size () > 128)
    return false;
  for (char c : model) {
    if (!g_ascii_isalnum (c) && c != '-' && c != '.' && c != '_')
      return false;
  }
  return true;
}

std::string
build_api_base (const std::string & endpoint)
{
  std::string base = endpoint;
  while (!base.empty () && base.back () == '/')
    base.pop_back ();
  /* Accept ".../v1beta" or ".../v1" as given by the user. */
  auto slash = base.rfind ('/');
  std::string last = slash == std::string::npos ? "" : base.substr (slash + 1);
  bool has_version = last.size () >= 2 && last[0] == 'v' && g_ascii_isdigit (last[1])
      && base.find ("://") != std::string::npos && slash > base.find ("://") + 2;
  if (!has_version)
    base += std::string ("/") + kApiVersion;
  return base;
}

std::string
build_request_url (const std::string & endpoint, const std::string & model, bool stream)
{
  return build_api_base (endpoint) + "/models/" + model +
      (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
}

std::string
vertex_default_endpoint (const std::string & location)
{
  if (location.empty () || location == kVertexDefaultLocation)
    return kVertexGlobalEndpoint;
  return "https://" + location + "-aiplatform.googleapis.com";
}

std::string
build_vertex_request_url (const std::string & endpoint, const std::string & project,
    const std::string & location, const std::string & model, bool stream)
{
  const char *method = stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
  std::string base = endpoint;
  while (!base.empty () && base.back () == '/')
    base.pop_back ();
  if (project.empty ())
    return base + "/v1beta1/publishers/google/models/" + model + method;
  return base + "/v1/projects/" + project + "/locations/"
      + (location.empty () ? std::string (kVertexDefaultLocation) : location)
      + "/publishers/google/models/" + model + method;
}

bool
vertex_segment_is_valid (const std::string & segment)
{
  if (segment.empty () || segment.size () > 128)
    return false;
  return std::all_of (segment.begin (), segment.end (),
      [] (char c) { return g_ascii_isalnum (c) || c == '-' || c == '_'; });
}

/* --------------------------------------------------------------- outcomes */

const char *
outcome_name (Outcome o)
{
  switch (o) {
    case Outcome::Image: return "image";
    case Outcome::TextOnly: return "text-only";
    case Outcome::NoImage: return "no-image";
    case Outcome::ImageOther: return "image-other";
    case Outcome::ContentBlocked: return "content-blocked";
    case Outcome::PromptBlocked: return "prompt-blocked";
    case Outcome::OtherFinish: return "other-finish";
    case Outcome::BadRequest: return "bad-request";
    case Outcome::Unauthenticated: return "unauthenticated";
    case Outcome::PermissionDenied: return "permission-denied";
    case Outcome::NotFound: return "not-found";
    case Outcome::RateLimited: return "rate-limited";
    case Outcome::ServerError: return "server-error";
    case Outcome::HttpError: return "http-error";
    case Outcome::Redirected: return "redirected";
    case Outcome::ErrorInBody: return "error-in-body";
    case Outcome::MalformedResponse: return "malformed-response";
    case Outcome::CorruptImageData: return "corrupt-image-data";
    case Outcome::UndecodableImage: return "undecodable-image";
    case Outcome::ImageTooLarge: return "image-too-large";
    case Outcome::Transport: return "transport";
    case Outcome::TlsError: return "tls-error";
    case Outcome::Timeout: return "timeout";
    case Outcome::TooLarge: return "too-large";
    case Outcome::Cancelled: return "cancelled";
  }
  return "unknown";
}

Action
action_for (Outcome o)
{
  switch (o) {
    case Outcome::Image:
      return Action::Deliver;
    /* Transient: the same request may well succeed (https://ai.google.dev/gemini-api/docs/troubleshooting). A
     * malformed body is usually a cut-off proxy answer. */
    case Outcome::RateLimited:
    case Outcome::ServerError:
    case Outcome::Transport:
    case Outcome::Timeout:
    case Outcome::MalformedResponse:
      return Action::Retry;
    /* The model answered without a usable image: a new generation may draw. */
    case Outcome::TextOnly:
    case Outcome::NoImage:
    case Outcome::ImageOther:
    case Outcome::CorruptImageData:
    case Outcome::UndecodableImage:
      return Action::RetryContent;
    case Outcome::Cancelled:
      return Action::Stop;
    /* Retrying cannot change these: policy blocks, bad settings, refused
     * credentials, hostile sizes. */
    case Outcome::ContentBlocked:
    case Outcome::PromptBlocked:
    case Outcome::OtherFinish:
    case Outcome::BadRequest:
    case Outcome::Unauthenticated:
    case Outcome::PermissionDenied:
    case Outcome::NotFound:
    case Outcome::HttpError:
    case Outcome::Redirected:
    case Outcome::ErrorInBody:
    case Outcome::ImageTooLarge:
    case Outcome::TlsError:
    case Outcome::TooLarge:
      return Action::Fail;
  }
  return Action::Fail;
}

namespace {

bool
is_content_block_reason (const std::string & r)
{
  static const char *const reasons[] = {
    "SAFETY", "PROHIBITED_CONTENT", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
    "RECITATION", "IMAGE_RECITATION", "BLOCKLIST", "SPII",
  };
  for (const char *x : reasons)
    if (r == x)
      return true;
  return false;
}

Outcome
outcome_for_status (guint status)
{
  switch (status) {
    case 400: return Outcome::BadRequest;
    case 401: return Outcome::Unauthenticated;
    case 402:
    case 403: return Outcome::PermissionDenied;
    case 404: return Outcome::NotFound;
    case 429: return Outcome::RateLimited;
    case 408:
    case 500:
    case 502:
    case 503:
    case 504: return Outcome::ServerError;
    default: return Outcome::HttpError;
  }
}

/* Fills the error fields from a Google error object (https://cloud.google.com/apis/design/errors). */
void
read_error_object (JsonObject * err, Response & r)
{
  if (const char *s = member_string (err, "status"))
    r.gemini_status = s;
  if (const char *s = member_string (err, "message"))
    r.error_message = s;
  r.error_code = member_int (err, "code");
  JsonArray *details = member_array (err, "details");
  guint n = details ? json_array_get_length (details) : 0;
  for (guint i = 0; i < n; i++) {
    JsonNode *dn = json_array_get_element (details, i);
    if (!JSON_NODE_HOLDS_OBJECT (dn))
      continue;
    JsonObject *d = json_node_get_object (dn);
    const char *type = member_string (d, "@type");
    if (!type)
      continue;
    if (g_str_has_suffix (type, "google.rpc.RetryInfo")) {
      const char *text = member_string (d, "retryDelay");
      if (auto delay = parse_duration_seconds (text))
        offer_retry_delay (r, *delay, "RetryInfo.retryDelay \"" + quote_value (text) + "\"");
    } else if (g_str_has_suffix (type, "google.rpc.ErrorInfo")) {
      if (const char *reason = member_string (d, "reason"))
        r.error_reason = reason;
    } else if (g_str_has_suffix (type, "google.rpc.QuotaFailure")) {
      JsonArray *violations = member_array (d, "violations");
      guint nv = violations ? json_array_get_length (violations) : 0;
      for (guint v = 0; v < nv; v++) {
        JsonNode *vn = json_array_get_element (violations, v);
        if (!JSON_NODE_HOLDS_OBJECT (vn))
          continue;
        const char *qid = member_string (json_node_get_object (vn), "quotaId");
        if (!qid)
          continue;
        if (r.quota_id.empty ())
          r.quota_id = qid;
        if (strstr (qid, "PerDay"))
          r.quota_exhausted_for_day = true;
      }
    }
  }
  /* "limit: 0" means the model has no quota at all on this tier. */
  if (r.error_message.find ("limit: 0") != std::string::npos)
    r.quota_exhausted_for_day = true;
}

/* Every body goes through the shared bounded parser: json-glib's own is
 * recursive, and a hostile answer must not exhaust the stack. */
JsonNodePtr
parse_body (GBytes * body, std::string & error, LiftedStrings *lifted = nullptr)
{
  gsize size = 0;
  const char *data = body ? static_cast<const char *> (g_bytes_get_data (body, &size)) : nullptr;
  std::string message;
  JsonError kind = JsonError::None;
  JsonNodePtr root = parse_json (data, size, message, &kind, lifted);
  switch (kind) {
    case JsonError::None:
      break;
    case JsonError::Empty:
      error = "the response body is empty";
      break;
    case JsonError::TooDeep: {
      GCharPtr text (g_strdup_printf ("the response nests JSON deeper than %u levels", kMaxJsonDepth));
      error = text.get ();
      break;
    }
    case JsonError::Invalid:
      error = "the response is not valid JSON: " + message;
      break;
  }
  return root;
}

void
read_usage (JsonObject * root, Usage & u)
{
  JsonObject *m = member_object (root, "usageMetadata");
  if (!m)
    return;
  u.prompt_tokens = member_int (m, "promptTokenCount").value_or (-1);
  u.candidates_tokens = member_int (m, "candidatesTokenCount").value_or (-1);
  u.thoughts_tokens = member_int (m, "thoughtsTokenCount").value_or (-1);
  u.total_tokens = member_int (m, "totalTokenCount").value_or (-1);
}

/* compact JSON text of a node, as build_request_body () writes it back. */
std::string
node_to_text (JsonNode * node)
{
  GObjectPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), node);
  gsize length = 0;
  GCharPtr text (json_generator_to_data (gen.get (), &length));
  return std::string (text.get (), length);
}

/* Where the image's base64 is: in the tree, or with `lifted` in the body.
 * With `body`, the body is the caller's to give up: the image is decoded in
 * its memory, which becomes Response::image, and the rest of it is freed.
 * Nothing may read the body or a lifted value after that. */
struct BodySource {
  const LiftedStrings *lifted = nullptr;
  GBytesPtr *body = nullptr;
  std::shared_ptr<BlockStore> store;   /* where the body's buffer goes back */
  gsize capacity = 0;
};

/* The image part's base64, decoded; nullptr when it is not base64. */
GBytes *
decode_image_data (std::string_view b64, const BodySource & src)
{
  if (src.body && *src.body) {
    gsize size = 0;
    const char *base = static_cast<const char *> (g_bytes_get_data (src.body->get (), &size));
    if (base && b64.data () >= base && b64.data () + b64.size () <= base + size) {
      const gsize offset = b64.data () - base;
      /* A body nothing else holds is stolen, not copied. */
      auto *mem = static_cast<guint8 *> (g_bytes_unref_to_data (src.body->release (), &size));
      std::optional<gsize> n = decode_base64 (reinterpret_cast<const char *> (mem) + offset, b64.size (), mem);
      if (!n || *n == 0) {
        g_free (mem);
        return nullptr;
      }
      if (src.store) {
        const gsize capacity = mem == reinterpret_cast<const guint8 *> (base) ? std::max (src.capacity, size) : size;
        return g_bytes_new_with_free_func (mem, *n, BlockStore::give_back,
            BlockStore::returning (src.store, mem, capacity));
      }
      return g_bytes_new_take (g_realloc (mem, *n), *n);
    }
  }
  GBytes *bytes = decode_base64_strict (b64.data (), b64.size ());
  if (bytes && g_bytes_get_size (bytes) == 0) {
    g_bytes_unref (bytes);
    return nullptr;
  }
  return bytes;
}

/* A 200 body: candidates, prompt feedback, or an error object. */
void
classify_generate_content (JsonObject * root, Response & r, ModelContent keep, const BodySource & src)
{
  if (const char *s = member_string (root, "modelVersion"))
    r.model_version = s;
  if (const char *s = member_string (root, "responseId"))
    r.response_id = s;
  read_usage (root, r.usage);

  if (JsonObject *err = member_object (root, "error")) {
    read_error_object (err, r);
    /* Only a real HTTP status stands in for the 200: anything else (-5
     * printed as 4294967291) stays error_code, quoted as sent. */
    if (r.error_code && *r.error_code >= 100 && *r.error_code <= 599)
      r.http_status = (guint) *r.error_code;
    r.outcome = Outcome::ErrorInBody;
    return;
  }

  if (JsonObject *fb = member_object (root, "promptFeedback")) {
    if (const char *s = member_string (fb, "blockReason"))
      r.block_reason = s;
    if (const char *s = member_string (fb, "blockReasonMessage"))
      r.block_reason_message = s;
  }

  JsonArray *candidates = member_array (root, "candidates");
  JsonObject *cand = nullptr;
  if (candidates && json_array_get_length (candidates) > 0) {
    JsonNode *cn = json_array_get_element (candidates, 0);
    if (JSON_NODE_HOLDS_OBJECT (cn))
      cand = json_node_get_object (cn);
  }
  if (!cand) {
    r.outcome = r.block_reason.empty () ? Outcome::MalformedResponse : Outcome::PromptBlocked;
    if (r.outcome == Outcome::MalformedResponse)
      r.error_message = "the response has no candidates and no promptFeedback";
    return;
  }

  if (keep == ModelContent::Keep) {
    JsonNode *content = json_object_get_member (cand, "content");
    if (content && JSON_NODE_HOLDS_OBJECT (content))
      r.model_content = src.lifted ? src.lifted->restore (node_to_text (content)) : node_to_text (content);
  }

  if (const char *s = member_string (cand, "finishReason"))
    r.finish_reason = s;
  if (const char *s = member_string (cand, "finishMessage"))
    r.finish_message = s;

  /* Final image = the last inlineData image part that is not a thought:
   * Pro may send draft thought images first (https://ai.google.dev/gemini-api/docs/image-generation, thinking). */
  JsonObject *image_part = nullptr;
  std::string text;
  JsonArray *parts = member_array (member_object (cand, "content"), "parts");
  guint np = parts ? json_array_get_length (parts) : 0;
  for (guint i = 0; i < np; i++) {
    JsonNode *pn = json_array_get_element (parts, i);
    if (!JSON_NODE_HOLDS_OBJECT (pn))
      continue;
    JsonObject *part = json_node_get_object (pn);
    bool thought = member_true (part, "thought");
    JsonObject *inline_data = member_object_any (part, "inlineData", "inline_data");
    if (inline_data) {
      const char *mime = member_string_any (inline_data, "mimeType", "mime_type");
      if (mime && !g_str_has_prefix (mime, "image/"))
        continue;
      if (thought) {
        r.thought_image_parts++;
      } else {
        r.image_parts++;
        image_part = inline_data;
      }
      continue;
    }
    const char *t = member_string (part, "text");
    if (t && !thought && *t) {
      if (!text.empty ())
        text += "\n";
      text += t;
    }
  }
  r.model_text = std::move (text);

  if (image_part) {
    gsize len = 0;
    const char *b64 = member_string (image_part, "data", &len);
    if (const char *mime = member_string_any (image_part, "mimeType", "mime_type"))
      r.image_mime_type = mime;
    const std::string_view text = !b64 ? std::string_view () : src.lifted ? src.lifted->value (b64)
        : std::string_view (b64, len);
    GBytes *bytes = b64 ? decode_image_data (text, src) : nullptr;
    if (!bytes) {
      r.outcome = Outcome::CorruptImageData;
      r.error_message = b64 ? "the image part's data is not valid base64" : "the image part has no data";
      return;
    }
    r.image.reset (bytes);
    r.outcome = Outcome::Image;
    return;
  }

  const std::string & fr = r.finish_reason;
  if (fr.empty () || fr == "STOP")
    r.outcome = Outcome::TextOnly;
  else if (fr == "NO_IMAGE")
    r.outcome = Outcome::NoImage;
  else if (fr == "IMAGE_OTHER")
    r.outcome = Outcome::ImageOther;
  else if (is_content_block_reason (fr))
    r.outcome = Outcome::ContentBlocked;
  else
    r.outcome = Outcome::OtherFinish;
}

/* A 2xx answer's JSON object, unary or merged from a stream. */
void
classify_ok_object (JsonObject * obj, Response & r, ModelContent model_content, const BodySource & src = {})
{
  classify_generate_content (obj, r, model_content, src);
  r.action = action_for (r.outcome);
  /* An error object inside a 200 is treated like that HTTP status. */
  if (r.outcome == Outcome::ErrorInBody)
    r.action = action_for (outcome_for_status (r.http_status));
  if (r.action == Action::Retry && r.quota_exhausted_for_day)
    r.action = Action::Fail;
}

Response
classify (guint status, const char *retry_after, GBytesPtr * owned, GBytes * body, const char *redirect_target,
    ModelContent model_content, std::shared_ptr<BlockStore> store = nullptr, gsize capacity = 0)
{
  Response r;
  r.http_status = status;
  if (status >= 300 && status < 400) {
    /* generateContent is never redirected: following would send the key
     * (and the prompt) to whatever host the Location names. */
    r.outcome = Outcome::Redirected;
    r.redirect_target = origin_of (redirect_target);
    r.action = action_for (r.outcome);
    return r;
  }
  if (auto delay = parse_retry_after (retry_after))
    offer_retry_delay (r, *delay, "Retry-After: " + quote_value (retry_after));

  std::string parse_error;
  LiftedStrings lifted;
  JsonNodePtr root = parse_body (body, parse_error, &lifted);
  /* Vertex sometimes wraps the error in a one-element array. */
  if (root && JSON_NODE_HOLDS_ARRAY (root.get ())) {
    JsonArray *a = json_node_get_array (root.get ());
    if (json_array_get_length (a) == 1)
      root.reset (json_node_ref (json_array_get_element (a, 0)));
  }
  JsonObject *obj = (root && JSON_NODE_HOLDS_OBJECT (root.get ()))
      ? json_node_get_object (root.get ()) : nullptr;

  if (status < 200 || status >= 300) {
    r.outcome = outcome_for_status (status);
    if (JsonObject *err = member_object (obj, "error")) {
      read_error_object (err, r);
    } else {
      /* HTML from a proxy or load balancer: fall back to the status line. */
      const char *phrase = soup_status_get_phrase (status);
      r.error_message = phrase ? phrase : "HTTP error";
    }
    r.action = action_for (r.outcome);
    /* A per-day quota or a zero limit will not recover in minutes. */
    if (r.outcome == Outcome::RateLimited && r.quota_exhausted_for_day)
      r.action = Action::Fail;
    return r;
  }

  if (!obj) {
    r.outcome = Outcome::MalformedResponse;
    r.error_message = parse_error.empty () ? "the response is not a JSON object" : parse_error;
    r.action = action_for (r.outcome);
    return r;
  }
  classify_ok_object (obj, r, model_content, BodySource {&lifted, owned, std::move (store), capacity});
  return r;
}

}  // namespace

Response
classify_http_response (guint status, const char *retry_after, GBytes * body, const char *redirect_target,
    ModelContent model_content)
{
  return classify (status, retry_after, nullptr, body, redirect_target, model_content);
}

Response
classify_http_response_in_place (guint status, const char *retry_after, GBytesPtr body,
    const char *redirect_target, ModelContent model_content, std::shared_ptr<BlockStore> store, gsize capacity)
{
  GBytes *b = body.get ();
  return classify (status, retry_after, &body, b, redirect_target, model_content, std::move (store), capacity);
}

/* ------------------------------------------------------------ streaming */

struct StreamAnswer::Merged {
  std::vector<JsonNodePtr> parts;      /* candidates[0].content.parts, in order */
  JsonNodePtr usage, feedback;         /* the last usageMetadata, promptFeedback */
  std::string model_version, response_id, finish_reason, finish_message, role;
  bool candidate = false;              /* an event had a candidates[0] */
};

StreamAnswer::StreamAnswer () : merged_ (std::make_unique<Merged> ()) {}
StreamAnswer::~StreamAnswer () = default;

namespace {

/* A part that is text and nothing else (thought or not): a stream cuts the
 * model's text into pieces, joined back as one part, as the unary answer
 * has it. */
bool
plain_text_part (JsonNode * node, bool & thought)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return false;
  JsonObject *o = json_node_get_object (node);
  const guint size = json_object_get_size (o);
  if (!member_string (o, "text"))
    return false;
  thought = member_true (o, "thought");
  return size == 1 || (size == 2 && json_object_has_member (o, "thought"));
}

}  // namespace

void
StreamAnswer::add_event (const char *data, gsize size, std::vector<GBytesPtr> *thought_images)
{
  if (settled_)
    return;
  events_++;
  std::string message;
  JsonError kind = JsonError::None;
  JsonNodePtr root = parse_json (data, size, message, &kind);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root.get ())) {
    Response r;
    r.http_status = 200;
    r.outcome = Outcome::MalformedResponse;
    r.error_message = "event " + std::to_string (events_) + " of the stream is not a JSON object" +
        (message.empty () ? std::string () : ": " + message);
    r.action = action_for (r.outcome);
    settled_ = std::move (r);
    return;
  }
  JsonObject *obj = json_node_get_object (root.get ());
  if (member_object (obj, "error")) {
    /* After the 200 the error comes as an event: classified like that
     * status in a unary body, with the same retry rules. */
    Response r;
    r.http_status = 200;
    classify_ok_object (obj, r, ModelContent::Drop);
    settled_ = std::move (r);
    return;
  }
  Merged & m = *merged_;
  if (const char *s = member_string (obj, "modelVersion"))
    m.model_version = s;
  if (const char *s = member_string (obj, "responseId"))
    m.response_id = s;
  if (JsonNode *u = json_object_get_member (obj, "usageMetadata"); u && JSON_NODE_HOLDS_OBJECT (u))
    m.usage.reset (json_node_ref (u));
  if (JsonNode *f = json_object_get_member (obj, "promptFeedback"); f && JSON_NODE_HOLDS_OBJECT (f))
    m.feedback.reset (json_node_ref (f));
  JsonArray *candidates = member_array (obj, "candidates");
  JsonNode *cn = candidates && json_array_get_length (candidates) > 0
      ? json_array_get_element (candidates, 0) : nullptr;
  if (!cn || !JSON_NODE_HOLDS_OBJECT (cn))
    return;
  JsonObject *cand = json_node_get_object (cn);
  m.candidate = true;
  if (const char *s = member_string (cand, "finishReason"))
    m.finish_reason = s;
  if (const char *s = member_string (cand, "finishMessage"))
    m.finish_message = s;
  JsonObject *content = member_object (cand, "content");
  if (const char *s = member_string (content, "role"))
    m.role = s;
  JsonArray *parts = member_array (content, "parts");
  const guint np = parts ? json_array_get_length (parts) : 0;
  for (guint i = 0; i < np; i++) {
    JsonNode *pn = json_array_get_element (parts, i);
    bool thought = false, last_thought = false;
    if (!m.parts.empty () && plain_text_part (pn, thought) && plain_text_part (m.parts.back ().get (), last_thought)
        && thought == last_thought) {
      JsonObject *last = json_node_get_object (m.parts.back ().get ());
      std::string joined = std::string (member_string (last, "text")) +
          member_string (json_node_get_object (pn), "text");
      json_object_set_string_member (last, "text", joined.c_str ());
      continue;
    }
    m.parts.emplace_back (json_node_ref (pn));
    if (!thought_images || !JSON_NODE_HOLDS_OBJECT (pn))
      continue;
    JsonObject *part = json_node_get_object (pn);
    JsonObject *inline_data = member_object_any (part, "inlineData", "inline_data");
    const char *mime = inline_data ? member_string_any (inline_data, "mimeType", "mime_type") : nullptr;
    if (!member_true (part, "thought") || !inline_data || (mime && !g_str_has_prefix (mime, "image/")))
      continue;
    gsize len = 0;
    const char *b64 = member_string (inline_data, "data", &len);
    GBytesPtr bytes (b64 ? decode_base64_strict (b64, len) : nullptr);
    if (bytes && g_bytes_get_size (bytes.get ()) > 0)
      thought_images->push_back (std::move (bytes));
  }
}

Response
StreamAnswer::result (ModelContent model_content)
{
  if (settled_)
    return std::move (*settled_);
  Merged & m = *merged_;
  Response r;
  r.http_status = 200;
  if (events_ == 0) {
    r.outcome = Outcome::MalformedResponse;
    r.error_message = "the stream ended without an event";
    r.action = action_for (r.outcome);
    return r;
  }
  JsonObjectPtr root (json_object_new ());
  if (m.candidate) {
    JsonArray *parts = json_array_new ();
    for (JsonNodePtr & p : m.parts)
      json_array_add_element (parts, json_node_ref (p.get ()));
    JsonObject *content = json_object_new ();
    json_object_set_array_member (content, "parts", parts);
    json_object_set_string_member (content, "role", m.role.empty () ? "model" : m.role.c_str ());
    JsonObject *cand = json_object_new ();
    json_object_set_object_member (cand, "content", content);
    if (!m.finish_reason.empty ())
      json_object_set_string_member (cand, "finishReason", m.finish_reason.c_str ());
    if (!m.finish_message.empty ())
      json_object_set_string_member (cand, "finishMessage", m.finish_message.c_str ());
    JsonArray *cands = json_array_new ();
    json_array_add_object_element (cands, cand);
    json_object_set_array_member (root.get (), "candidates", cands);
  }
  if (m.usage)
    json_object_set_member (root.get (), "usageMetadata", json_node_ref (m.usage.get ()));
  if (m.feedback)
    json_object_set_member (root.get (), "promptFeedback", json_node_ref (m.feedback.get ()));
  if (!m.model_version.empty ())
    json_object_set_string_member (root.get (), "modelVersion", m.model_version.c_str ());
  if (!m.response_id.empty ())
    json_object_set_string_member (root.get (), "responseId", m.response_id.c_str ());
  classify_ok_object (root.get (), r, model_content);
  /* The last event carries the finishReason: without it the stream was cut
   * between events (a proxy, a reset that looked like an end). */
  if (m.finish_reason.empty () && r.block_reason.empty () && r.outcome != Outcome::ErrorInBody) {
    Response cut;
    cut.outcome = Outcome::Transport;
    cut.error_message = "the stream ended after " + std::to_string (events_) +
        (events_ == 1 ? " event" : " events") + " without a finishReason: it was cut off";
    cut.action = action_for (cut.outcome);
    return cut;
  }
  return r;
}

Response
classify_transport_error (const GError * error, const char *server)
{
  Response r;
  if (error && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return make_cancelled_response ();
  r.outcome = error && error->domain == G_TLS_ERROR ? Outcome::TlsError : Outcome::Transport;
  r.error_message = error ? error->message : "unknown transport error";
  r.server = origin_of (server);
  if (r.outcome == Outcome::TlsError) {
    /* Only a refused certificate is about certificates: a plain-http server
     * behind an https:// URL fails the handshake itself (NOT_TLS, EOF, MISC,
     * HANDSHAKE, depending on what it answers). */
    switch (error->code) {
      case G_TLS_ERROR_BAD_CERTIFICATE:
        r.tls_failure = TlsFailure::Certificate;
        break;
      case G_TLS_ERROR_CERTIFICATE_REQUIRED:
      case G_TLS_ERROR_BAD_CERTIFICATE_PASSWORD:
        r.tls_failure = TlsFailure::ClientCertificate;
        break;
      case G_TLS_ERROR_UNAVAILABLE:
        r.tls_failure = TlsFailure::Unavailable;
        break;
      default:
        r.tls_failure = TlsFailure::Handshake;
        break;
    }
  }
  r.action = action_for (r.outcome);
  return r;
}

void
mark_undecodable (Response & r, const std::string & decode_error, bool over_pixel_limit)
{
  r.outcome = over_pixel_limit ? Outcome::ImageTooLarge : Outcome::UndecodableImage;
  r.error_message = decode_error;
  r.action = action_for (r.outcome);
}

Response
make_timeout_response (double seconds)
{
  Response r;
  r.outcome = Outcome::Timeout;
  GCharPtr msg (g_strdup_printf ("no complete answer within %.0f s", seconds));
  r.error_message = msg.get ();
  r.action = action_for (r.outcome);
  return r;
}

Response
make_too_large_response (gsize limit)
{
  Response r;
  r.outcome = Outcome::TooLarge;
  GCharPtr msg (g_strdup_printf ("the response body exceeded the limit of %" G_GSIZE_FORMAT " bytes", limit));
  r.error_message = msg.get ();
  r.action = action_for (r.outcome);
  return r;
}

Response
make_cancelled_response ()
{
  Response r;
  r.outcome = Outcome::Cancelled;
  r.error_message = "cancelled";
  r.action = Action::Stop;
  return r;
}

std::string
Response::describe () const
{
  std::string s;
  const std::string at = server.empty () ? "" : " at " + server;
  auto append_model_text = [&] () {
    if (!model_text.empty ()) {
      end_sentence (s);
      s += " The model said: \"" + truncate_for_message (model_text) + "\"";
    }
  };
  /* Our own sentence after whatever came before. */
  auto add = [&] (const char *sentence) {
    end_sentence (s);
    s += " ";
    s += sentence;
  };
  const std::string reason = finish_reason.empty () ? "none" : finish_reason;
  switch (outcome) {
    case Outcome::Image:
      s = "Gemini returned an image";
      break;
    case Outcome::TextOnly:
      s = "Gemini returned no image: finishReason=" + reason + ", the model answered with text only";
      append_model_text ();
      break;
    case Outcome::NoImage:
    case Outcome::ImageOther:
    case Outcome::ContentBlocked:
    case Outcome::OtherFinish:
      s = with_detail ("Gemini returned no image: finishReason=" + reason, finish_message);
      if (outcome == Outcome::ContentBlocked)
        add ("The request or the generated image was blocked by Gemini's safety or policy filters; rephrase the "
            "prompt or change the reference images.");
      else if (outcome == Outcome::NoImage)
        add ("The model did not produce an image for this prompt; describe a picture to draw.");
      append_model_text ();
      break;
    case Outcome::PromptBlocked:
      s = with_detail ("Gemini blocked the prompt: blockReason=" + (block_reason.empty () ? "none" : block_reason),
          block_reason_message);
      add ("Rephrase the prompt or change the reference images.");
      break;
    case Outcome::BadRequest:
    case Outcome::Unauthenticated:
    case Outcome::PermissionDenied:
    case Outcome::NotFound:
    case Outcome::RateLimited:
    case Outcome::ServerError:
    case Outcome::HttpError:
    case Outcome::ErrorInBody: {
      GCharPtr head;
      if (outcome != Outcome::ErrorInBody || (error_code && *error_code >= 100 && *error_code <= 599))
        head.reset (g_strdup_printf ("Gemini API error %u", http_status));
      else if (error_code)
        head.reset (g_strdup_printf ("Gemini API error code %" G_GINT64_FORMAT, *error_code));
      else
        head.reset (g_strdup ("Gemini API error"));
      s = head.get ();
      if (!gemini_status.empty ())
        s += " " + truncate_for_message (gemini_status, 64);
      if (outcome == Outcome::ErrorInBody)
        s += " (error object inside a 200 response)";
      s = with_detail (s, error_message);
      if (outcome == Outcome::RateLimited && quota_exhausted_for_day)
        add ("The quota is per day or its limit is 0 on this tier: retrying soon cannot help; "
            "check the project's quota and billing (https://ai.google.dev/gemini-api/docs/rate-limits).");
      if (error_reason == "API_KEY_INVALID")
        add ("Check the api-key property or the GOOGLE_API_KEY / GEMINI_API_KEY environment variables.");
      else if (outcome == Outcome::NotFound)
        add ("Check the model property and the api-endpoint.");
      break;
    }
    case Outcome::Redirected: {
      const char *phrase = soup_status_get_phrase (http_status);
      GCharPtr head (g_strdup_printf ("Gemini's endpoint answered HTTP %u%s%s", http_status, phrase ? " " : "",
              phrase ? phrase : ""));
      s = head.get ();
      if (!redirect_target.empty ())
        s += " with a redirect to " + redirect_target + "; the Gemini API does not redirect generateContent, so "
            "the redirect was not followed and the key was not sent there";
      else
        s += ", a redirect without a usable Location; the Gemini API does not redirect generateContent, so it "
            "was not followed and the key was not sent anywhere else";
      add ("Check api-endpoint and any proxy in between.");
      break;
    }
    case Outcome::MalformedResponse:
      s = with_detail ("Gemini's response could not be understood", error_message);
      break;
    case Outcome::CorruptImageData:
      s = with_detail ("Gemini's image could not be read", error_message);
      break;
    case Outcome::UndecodableImage:
      s = with_detail ("Gemini's image could not be decoded", error_message);
      break;
    case Outcome::ImageTooLarge:
      s = with_detail ("Gemini's image was refused", error_message);
      /* Not for a pathological image: its size is within the limit. */
      if (error_message.find ("pixels") != std::string::npos)
        add ("Raise max-image-pixels if this size is expected.");
      break;
    case Outcome::Transport:
      s = with_detail ("Could not reach Gemini" + at, error_message);
      break;
    case Outcome::TlsError:
      switch (tls_failure) {
        case TlsFailure::ClientCertificate:
          s = "The server" + at + " asked for a client certificate, which geminiimagesrc does not send ("
              + clause (error_message) + ")";
          break;
        case TlsFailure::Unavailable:
          s = "TLS is not available in this process (" + clause (error_message)
              + "): install glib-networking for https";
          break;
        case TlsFailure::Handshake:
          s = "The server" + at + " did not complete a TLS handshake (" + clause (error_message)
              + "): is it http rather than https?";
          break;
        case TlsFailure::Certificate:
        case TlsFailure::None:
          s = with_detail ("TLS failure talking to Gemini" + at, error_message);
          add ("The server's certificate is not trusted: for a self-hosted or test server, set ssl-ca-file to "
              "its CA certificate (or, from code, tls-database).");
          break;
      }
      break;
    case Outcome::Timeout:
      s = with_detail ("Gemini did not answer in time", error_message);
      break;
    case Outcome::TooLarge:
      s = with_detail ("Gemini's response was refused", error_message);
      break;
    case Outcome::Cancelled:
      s = "The request was cancelled";
      break;
  }
  if (s.empty ())
    s = with_detail ("Gemini request failed", error_message);
  end_sentence (s);
  return s;
}

/* ---------------------------------------------------------------- parsing */

std::optional<double>
parse_duration_seconds (const char *text)
{
  /* Decimal only: strtod would also take " 5", "+5", "0x10s", "infs". */
  if (!text || !g_ascii_isdigit (*text) || text[strspn (text, "0123456789.eE+-")] != 's')
    return std::nullopt;
  char *end = nullptr;
  double v = g_ascii_strtod (text, &end);
  if (end == text || !end || strcmp (end, "s") != 0 || std::isnan (v) || v < 0)
    return std::nullopt;
  /* "1e400s" is a valid Duration too large for a double: it saturates, as
   * Retry-After does, so that a wait past any deadline still fails at once
   * instead of being ignored. */
  return std::isinf (v) ? G_MAXDOUBLE : v;
}

std::optional<double>
parse_retry_after (const char *value)
{
  if (!value)
    return std::nullopt;
  while (g_ascii_isspace (*value))
    value++;
  if (g_ascii_isdigit (*value)) {
    /* Saturates at G_MAXUINT64 (ERANGE): an absurd wait stays absurd. */
    char *end = nullptr;
    guint64 secs = g_ascii_strtoull (value, &end, 10);
    while (end && g_ascii_isspace (*end))
      end++;
    if (end && *end == '\0')
      return (double) secs;
    return std::nullopt;
  }
  /* An HTTP date. */
  GDateTime *when = soup_date_time_new_from_http_string (value);
  if (!when)
    return std::nullopt;
  GDateTime *now = g_date_time_new_now_utc ();
  double delta = g_date_time_difference (when, now) / (double) G_TIME_SPAN_SECOND;
  g_date_time_unref (when);
  g_date_time_unref (now);
  return delta > 0 ? delta : 0.0;
}

GBytes *
decode_base64_strict (const char *text, gsize length)
{
  guint8 *out = static_cast<guint8 *> (g_malloc (base64_decoded_bound (length)));
  std::optional<gsize> size = decode_base64 (text, length, out);
  if (!size) {
    g_free (out);
    return nullptr;
  }
  return g_bytes_new_take (out, *size);
}

}  // namespace gemini
