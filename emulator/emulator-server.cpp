/* gst-gemini emulator: the HTTP server, the generateContent emulation, the
 * scripted behaviours and the /emulator/ control endpoints.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator-server.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cassette.h"
#include "emulator-image.h"
#include "gemini-image.h"
#include "glib-raii.h"
#include "image-encode.h"

namespace gemini::emulator {

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr char kJsonType[] = "application/json; charset=UTF-8";
constexpr char kApiPrefix[] = "/v1beta/models/";
constexpr char kGenerateSuffix[] = ":generateContent";
constexpr guint kLogCapacity = 64;
constexpr int kJpegQuality = 90;
constexpr int kTokensPerReference = 258;
constexpr int kThoughtsTokens = 174;
constexpr gsize kSignatureBytes = 3072;
constexpr char kTroubleshooting[] =
    "Please retry or report in https://developers.generativeai.google/guide/troubleshooting";

/* ------------------------------------------------------------------ JSON */

std::string
to_json (JsonNode * node, bool pretty = true)
{
  GObjectPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), node);
  /* Google's front end pretty-prints with two spaces. */
  json_generator_set_pretty (gen.get (), pretty);
  json_generator_set_indent (gen.get (), 2);
  gsize len = 0;
  GCharPtr data (json_generator_to_data (gen.get (), &len));
  return std::string (data.get (), len);
}

JsonNodePtr
parse_json (const char * data, gsize len, std::string & error)
{
  GObjectPtr<JsonParser> parser (json_parser_new ());
  GErrorPtr err;
  if (!json_parser_load_from_data (parser.get (), data, static_cast<gssize> (len), out_error (err))) {
    error = err ? err->message : "invalid JSON";
    /* "<data>:1:14: Parse error: ..." -> "1:14: Parse error: ..." */
    if (error.starts_with ("<data>:"))
      error.erase (0, 7);
    return nullptr;
  }
  JsonNode *root = json_parser_get_root (parser.get ());
  if (!root) {
    error = "empty document";
    return nullptr;
  }
  return JsonNodePtr (json_node_copy (root));
}

JsonNode *
node_take_object (JsonObject * obj)
{
  JsonNode *n = json_node_init_object (json_node_alloc (), obj);
  json_object_unref (obj);
  return n;
}

JsonNode *
node_take_array (JsonArray * arr)
{
  JsonNode *n = json_node_init_array (json_node_alloc (), arr);
  json_array_unref (arr);
  return n;
}

/* Proto-JSON accepts both the lowerCamelCase and the original snake_case name. */
JsonNode *
member (JsonObject * obj, const char * camel, const char * snake = nullptr)
{
  if (!obj)
    return nullptr;
  if (json_object_has_member (obj, camel))
    return json_object_get_member (obj, camel);
  if (snake && json_object_has_member (obj, snake))
    return json_object_get_member (obj, snake);
  return nullptr;
}

bool
holds_string (JsonNode * n)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING;
}

bool
holds_int (JsonNode * n)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64;
}

bool
holds_bool (JsonNode * n)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN;
}

JsonObject *
as_object (JsonNode * n)
{
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : nullptr;
}

JsonArray *
as_array (JsonNode * n)
{
  return n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : nullptr;
}

/* ------------------------------------------------------ small utilities */

/* Deterministic pseudo-random bytes (splitmix64), for signatures and ids. */
std::string
pseudo_random_bytes (const std::string & seed_text, gsize n)
{
  guint64 state = 0xcbf29ce484222325ull;
  for (unsigned char c : seed_text)
    state = (state ^ c) * 0x100000001b3ull;
  std::string out (n, '\0');
  for (gsize i = 0; i < n; i++) {
    state += 0x9e3779b97f4a7c15ull;
    guint64 z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    out[i] = static_cast<char> ((z ^ (z >> 31)) & 0xff);
  }
  return out;
}

std::string
base64 (std::string_view bytes)
{
  GCharPtr s (g_base64_encode (reinterpret_cast<const guchar *> (bytes.data ()), bytes.size ()));
  return s.get ();
}

/* responseId-like: 23 URL-safe characters. */
std::string
make_response_id (const std::string & seed_text)
{
  std::string id = base64 (pseudo_random_bytes (seed_text, 17));
  std::replace (id.begin (), id.end (), '+', '-');
  std::replace (id.begin (), id.end (), '/', '_');
  id.erase (std::remove (id.begin (), id.end (), '='), id.end ());
  return id;
}

int
base64_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

/* Proto-JSON `bytes`: standard or URL-safe alphabet, padding optional but
 * only at the end; anything else (including whitespace) is an error. */
bool
decode_base64_strict (std::string_view in, std::string & out)
{
  while (!in.empty () && in.back () == '=')
    in.remove_suffix (1);
  if (in.size () % 4 == 1)
    return false;
  out.clear ();
  out.reserve (in.size () * 3 / 4);
  guint32 acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = base64_value (c);
    if (v < 0)
      return false;
    acc = (acc << 6) | guint32 (v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back (static_cast<char> ((acc >> bits) & 0xff));
    }
  }
  return true;
}

/* For log lines: at most `max_chars` characters, newlines shown as \n. */
std::string
log_excerpt (const std::string & text, glong max_chars = 80)
{
  GCharPtr valid (g_utf8_make_valid (text.c_str (), static_cast<gssize> (text.size ())));
  std::string s;
  glong n = 0;
  for (const char *p = valid.get (); *p && n < max_chars; p = g_utf8_next_char (p), n++) {
    if (*p == '\n')
      s += "\\n";
    else if (*p == '"')
      s += "\\\"";
    else
      s.append (p, g_utf8_next_char (p) - p);
  }
  if (g_utf8_strlen (valid.get (), -1) > max_chars)
    s += "…";
  return s;
}

int
count_text_tokens (const std::string & text)
{
  return std::max<int> (1, static_cast<int> ((text.size () + 3) / 4));
}

/* --------------------------------------------------------- Google errors */

struct ApiError {
  guint code = 400;
  std::string status = "INVALID_ARGUMENT";
  std::string message;
  std::vector<JsonNodePtr> details;
};

JsonNodePtr
detail_node (const char * type, std::function<void (JsonObject *)> fill)
{
  JsonObject *obj = json_object_new ();
  json_object_set_string_member (obj, "@type", type);
  fill (obj);
  return JsonNodePtr (node_take_object (obj));
}

JsonNodePtr
error_info_detail (const char * reason)
{
  return detail_node ("type.googleapis.com/google.rpc.ErrorInfo", [reason] (JsonObject * o) {
    json_object_set_string_member (o, "reason", reason);
    json_object_set_string_member (o, "domain", "googleapis.com");
    JsonObject *meta = json_object_new ();
    json_object_set_string_member (meta, "service", "generativelanguage.googleapis.com");
    json_object_set_object_member (o, "metadata", meta);
  });
}

JsonNodePtr
bad_request_detail (const std::string & description)
{
  return detail_node ("type.googleapis.com/google.rpc.BadRequest", [&] (JsonObject * o) {
    JsonObject *violation = json_object_new ();
    json_object_set_string_member (violation, "description", description.c_str ());
    JsonArray *arr = json_array_new ();
    json_array_add_object_element (arr, violation);
    json_object_set_array_member (o, "fieldViolations", arr);
  });
}

JsonNode *
error_body (const ApiError & e)
{
  JsonObject *err = json_object_new ();
  json_object_set_int_member (err, "code", e.code);
  json_object_set_string_member (err, "message", e.message.c_str ());
  json_object_set_string_member (err, "status", e.status.c_str ());
  if (!e.details.empty ()) {
    JsonArray *arr = json_array_new ();
    for (const JsonNodePtr & d : e.details)
      json_array_add_element (arr, json_node_copy (d.get ()));
    json_object_set_array_member (err, "details", arr);
  }
  JsonObject *root = json_object_new ();
  json_object_set_object_member (root, "error", err);
  return node_take_object (root);
}

ApiError
invalid_argument (std::string message)
{
  return ApiError {400, "INVALID_ARGUMENT", std::move (message), {}};
}

ApiError
image_input_error ()
{
  return invalid_argument (std::string ("Unable to process input image. ") + kTroubleshooting);
}

/* Default gRPC status and message for an HTTP code (gemini-api.md §4.2). */
std::pair<const char *, const char *>
grpc_defaults (guint code)
{
  switch (code) {
    case 400: return {"INVALID_ARGUMENT", "Request contains an invalid argument."};
    case 401: return {"UNAUTHENTICATED", "Request had invalid authentication credentials. Expected "
        "OAuth 2 access token, login cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project."};
    case 402: return {"RESOURCE_EXHAUSTED", "Your prepayment credits are depleted. Please go to "
        "AI Studio at https://ai.studio/projects to manage your project and billing."};
    case 403: return {"PERMISSION_DENIED", "The caller does not have permission"};
    case 404: return {"NOT_FOUND", "Requested entity was not found."};
    case 408: return {"DEADLINE_EXCEEDED", "Request timed out."};
    case 409: return {"ABORTED", "The operation was aborted."};
    case 429: return {"RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your "
        "plan and billing details. For more information on this error, head to: "
        "https://ai.google.dev/gemini-api/docs/rate-limits."};
    case 499: return {"CANCELLED", "The operation was cancelled."};
    case 500: return {"INTERNAL", "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting"};
    case 501: return {"UNIMPLEMENTED", "Operation is not implemented, or supported, or enabled."};
    case 502: return {"UNAVAILABLE", "Bad Gateway"};
    case 503: return {"UNAVAILABLE", "The model is overloaded. Please try again later."};
    case 504: return {"DEADLINE_EXCEEDED", "The request timed out. Please try again."};
    default: return {code >= 500 ? "UNKNOWN" : "FAILED_PRECONDITION", "Emulated error."};
  }
}

/* What Google's load balancer sends for a 502: HTML, not JSON. */
std::string
load_balancer_html (guint code, const std::string & message)
{
  std::string text = message.empty ()
      ? "The server encountered a temporary error and could not complete your request.<p>Please "
        "try again in 30 seconds."
      : message;
  return "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <meta name=viewport "
         "content=\"initial-scale=1, minimum-scale=1, width=device-width\">\n  <title>Error " +
      std::to_string (code) + " (Server Error)!!1</title>\n  <a href=//www.google.com/><span "
      "id=logo aria-label=Google></span></a>\n  <p><b>" + std::to_string (code) +
      ".</b> <ins>That’s an error.</ins>\n  <p>" + text + "  <ins>That’s all we know.</ins>\n";
}

/* ----------------------------------------------------------------- script */

enum class Action {
  Image, TextOnly, Finish, PromptBlocked, Error, ErrorIn200, Replay, Raw, MalformedJson,
  BadBase64, BadImage, Bomb, Reset, Truncate, Hang, Endless,
};

struct ActionSpec {
  const char *name;
  Action action;
  const char *keys;  /* space-separated parameters besides the common ones */
};

constexpr ActionSpec kActions[] = {
  {"image", Action::Image, ""},
  {"text-only", Action::TextOnly, "text"},
  {"finish", Action::Finish, "reason message text"},
  {"prompt-blocked", Action::PromptBlocked, "reason message"},
  {"error", Action::Error, "status message retry_delay quota_id limit_zero retry_after"},
  {"error-in-200", Action::ErrorIn200, "status message retry_delay quota_id limit_zero retry_after"},
  {"replay", Action::Replay, "file interaction"},
  {"raw", Action::Raw, "status content_type body"},
  {"malformed-json", Action::MalformedJson, ""},
  {"bad-base64", Action::BadBase64, ""},
  {"bad-image", Action::BadImage, ""},
  {"bomb", Action::Bomb, "width height"},
  {"reset", Action::Reset, ""},
  {"truncate", Action::Truncate, "bytes"},
  {"hang", Action::Hang, ""},
  {"endless", Action::Endless, "chunk_bytes interval_ms"},
};
constexpr char kCommonKeys[] = "do delay_ms headers comment";

using Cassette = std::vector<Interaction>;

struct Step {
  Action action = Action::Image;
  std::string name = "image";
  std::optional<guint> delay_ms;
  Headers headers;
  std::optional<std::string> text, message;
  std::string reason;
  guint status = 0;
  std::string retry_delay, quota_id, retry_after;
  bool limit_zero = false;
  std::string content_type, body;
  std::shared_ptr<const Cassette> cassette;
  guint interaction = 0;
  std::string file;
  guint64 width = 100000, height = 100000;
  std::optional<guint64> bytes;
  guint chunk_bytes = 65536, interval_ms = 10;
};

/* What happens when the steps run out. */
enum class Then { Default, Repeat, Cycle };

const char *
then_name (Then t)
{
  switch (t) {
    case Then::Repeat: return "repeat";
    case Then::Cycle: return "cycle";
    default: return "default";
  }
}

struct Script {
  std::vector<Step> steps;
  Then then = Then::Default;
};

bool
word_in (const char * list, std::string_view word)
{
  for (const char *p = list; *p;) {
    const char *end = strchr (p, ' ');
    std::string_view w (p, end ? static_cast<gsize> (end - p) : strlen (p));
    if (w == word)
      return true;
    if (!end)
      break;
    p = end + 1;
  }
  return false;
}

/* Reads script parameters with a message that names the step. */
class StepReader {
public:
  StepReader (JsonObject * obj, std::string where) : obj_ (obj), where_ (std::move (where)) {}

  bool has (const char * key) const { return json_object_has_member (obj_, key); }

  bool number (const char * key, guint64 min, guint64 max, guint64 & out, std::string & error) const
  {
    JsonNode *n = json_object_get_member (obj_, key);
    if (!n)
      return true;
    if (!holds_int (n) || json_node_get_int (n) < gint64 (min) ||
        guint64 (json_node_get_int (n)) > max) {
      error = where_ + ": \"" + key + "\" must be an integer from " + std::to_string (min) +
          " to " + std::to_string (max);
      return false;
    }
    out = guint64 (json_node_get_int (n));
    return true;
  }

  bool string (const char * key, std::string & out, std::string & error) const
  {
    JsonNode *n = json_object_get_member (obj_, key);
    if (!n)
      return true;
    if (!holds_string (n)) {
      error = where_ + ": \"" + key + "\" must be a string";
      return false;
    }
    out = json_node_get_string (n);
    return true;
  }

  bool optional_string (const char * key, std::optional<std::string> & out, std::string & error) const
  {
    if (!json_object_has_member (obj_, key))
      return true;
    std::string s;
    if (!string (key, s, error))
      return false;
    out = std::move (s);
    return true;
  }

  bool boolean (const char * key, bool & out, std::string & error) const
  {
    JsonNode *n = json_object_get_member (obj_, key);
    if (!n)
      return true;
    if (!holds_bool (n)) {
      error = where_ + ": \"" + key + "\" must be true or false";
      return false;
    }
    out = json_node_get_boolean (n);
    return true;
  }

  /* A string, or a number written as its decimal text. */
  bool text_or_number (const char * key, std::string & out, std::string & error) const
  {
    JsonNode *n = json_object_get_member (obj_, key);
    if (n && holds_int (n)) {
      out = std::to_string (json_node_get_int (n));
      return true;
    }
    return string (key, out, error);
  }

  bool headers (Headers & out, std::string & error) const
  {
    JsonNode *n = json_object_get_member (obj_, "headers");
    if (!n)
      return true;
    JsonObject *h = as_object (n);
    if (!h) {
      error = where_ + ": \"headers\" must be an object of strings";
      return false;
    }
    GList *names = json_object_get_members (h);
    bool ok = true;
    for (GList *l = names; l && ok; l = l->next) {
      const char *name = static_cast<const char *> (l->data);
      JsonNode *v = json_object_get_member (h, name);
      /* CR/LF would let a script smuggle extra lines into the raw responses. */
      ok = holds_string (v) && !strpbrk (name, "\r\n: ") && !strpbrk (json_node_get_string (v), "\r\n");
      if (ok)
        out.emplace_back (name, json_node_get_string (v));
      else
        error = where_ + ": header \"" + name + "\" must be a valid name with a one-line string value";
    }
    g_list_free (names);
    return ok;
  }

  const std::string & where () const { return where_; }

private:
  JsonObject *obj_;
  std::string where_;
};

/* "2s", "0.4s", "53.016342224s": a google.protobuf.Duration in JSON. */
bool
is_duration (const std::string & s)
{
  GRegex *re = g_regex_new ("^[0-9]+(\\.[0-9]{1,9})?s$", G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT, nullptr);
  const bool ok = g_regex_match (re, s.c_str (), G_REGEX_MATCH_DEFAULT, nullptr);
  g_regex_unref (re);
  return ok;
}

using CassetteLoader =
    std::function<std::shared_ptr<const Cassette> (const std::string & file, std::string & error)>;

bool
read_error_params (const StepReader & r, Step & s, std::string & error)
{
  guint64 status = 0;
  if (!r.number ("status", 100, 599, status, error) || !r.optional_string ("message", s.message, error) ||
      !r.string ("retry_delay", s.retry_delay, error) || !r.string ("quota_id", s.quota_id, error) ||
      !r.boolean ("limit_zero", s.limit_zero, error) ||
      !r.text_or_number ("retry_after", s.retry_after, error))
    return false;
  if (status == 0) {
    error = r.where () + ": \"status\" (the HTTP code) is required";
    return false;
  }
  if (!s.retry_delay.empty () && !is_duration (s.retry_delay)) {
    error = r.where () + ": \"retry_delay\" must be a duration such as \"2s\" or \"0.4s\"";
    return false;
  }
  s.status = guint (status);
  return true;
}

bool
read_replay_params (const StepReader & r, Step & s, const CassetteLoader & load, std::string & error)
{
  guint64 index = 0;
  if (!r.string ("file", s.file, error) || !r.number ("interaction", 0, G_MAXUINT, index, error))
    return false;
  if (s.file.empty ()) {
    error = r.where () + ": \"file\" (a cassette) is required";
    return false;
  }
  std::string load_error;
  s.cassette = load (s.file, load_error);
  if (!s.cassette) {
    error = r.where () + ": " + load_error;
    return false;
  }
  if (index >= s.cassette->size ()) {
    error = r.where () + ": the cassette has " + std::to_string (s.cassette->size ()) +
        " interaction(s), no index " + std::to_string (index);
    return false;
  }
  s.interaction = guint (index);
  return true;
}

bool
read_action_params (const StepReader & r, Step & s, const CassetteLoader & load, std::string & error)
{
  guint64 v = 0;
  switch (s.action) {
    case Action::TextOnly:
      return r.optional_string ("text", s.text, error);
    case Action::Finish:
      s.reason = "NO_IMAGE";
      return r.string ("reason", s.reason, error) && r.optional_string ("message", s.message, error) &&
          r.optional_string ("text", s.text, error);
    case Action::PromptBlocked:
      s.reason = "PROHIBITED_CONTENT";
      return r.string ("reason", s.reason, error) && r.optional_string ("message", s.message, error);
    case Action::Error:
    case Action::ErrorIn200:
      return read_error_params (r, s, error);
    case Action::Replay:
      return read_replay_params (r, s, load, error);
    case Action::Raw:
      v = 200;
      s.content_type = kJsonType;
      if (!r.number ("status", 100, 599, v, error) || !r.string ("content_type", s.content_type, error) ||
          !r.string ("body", s.body, error))
        return false;
      s.status = guint (v);
      return true;
    case Action::Bomb:
      return r.number ("width", 1, G_MAXINT32, s.width, error) &&
          r.number ("height", 1, G_MAXINT32, s.height, error);
    case Action::Truncate:
      if (!r.has ("bytes"))
        return true;
      if (!r.number ("bytes", 0, G_MAXINT64, v, error))
        return false;
      s.bytes = v;
      return true;
    case Action::Endless: {
      guint64 chunk = s.chunk_bytes, interval = s.interval_ms;
      if (!r.number ("chunk_bytes", 1, 16 * 1024 * 1024, chunk, error) ||
          !r.number ("interval_ms", 0, 60000, interval, error))
        return false;
      s.chunk_bytes = guint (chunk);
      s.interval_ms = guint (interval);
      return true;
    }
    default:
      return true;
  }
}

const ActionSpec *
find_action (const std::string & name)
{
  for (const ActionSpec & a : kActions)
    if (name == a.name)
      return &a;
  return nullptr;
}

std::string
action_names ()
{
  std::string s;
  for (const ActionSpec & a : kActions)
    s += (s.empty () ? "" : ", ") + std::string (a.name);
  return s;
}

bool
parse_step (JsonNode * node, guint index, const CassetteLoader & load, Step & out, std::string & error)
{
  const std::string where = "step " + std::to_string (index);
  JsonObject *obj = as_object (node);
  JsonNode *do_node = obj ? json_object_get_member (obj, "do") : nullptr;
  if (!holds_string (do_node)) {
    error = where + ": a step is an object with a \"do\" action";
    return false;
  }
  const std::string name = json_node_get_string (do_node);
  const ActionSpec *spec = find_action (name);
  if (!spec) {
    error = where + ": unknown action \"" + name + "\" (known: " + action_names () + ")";
    return false;
  }
  StepReader r (obj, where + " (" + name + ")");
  GList *keys = json_object_get_members (obj);
  for (GList *l = keys; l; l = l->next) {
    const char *key = static_cast<const char *> (l->data);
    if (!word_in (kCommonKeys, key) && !word_in (spec->keys, key)) {
      error = r.where () + ": unknown parameter \"" + key + "\"";
      g_list_free (keys);
      return false;
    }
  }
  g_list_free (keys);
  out.action = spec->action;
  out.name = name;
  guint64 delay = 0;
  if (json_object_has_member (obj, "delay_ms")) {
    if (!r.number ("delay_ms", 0, 24ull * 3600 * 1000, delay, error))
      return false;
    out.delay_ms = guint (delay);
  }
  return r.headers (out.headers, error) && read_action_params (r, out, load, error);
}

bool
parse_script (JsonNode * root, const CassetteLoader & load, Script & out, std::string & error)
{
  JsonArray *steps = as_array (root);
  Script script;
  if (JsonObject *obj = as_object (root)) {
    steps = as_array (json_object_get_member (obj, "steps"));
    if (!steps && json_object_has_member (obj, "steps")) {
      error = "\"steps\" must be an array";
      return false;
    }
    JsonNode *then = json_object_get_member (obj, "then");
    if (then) {
      const char *t = holds_string (then) ? json_node_get_string (then) : "";
      if (strcmp (t, "default") == 0) {
        script.then = Then::Default;
      } else if (strcmp (t, "repeat") == 0) {
        script.then = Then::Repeat;
      } else if (strcmp (t, "cycle") == 0) {
        script.then = Then::Cycle;
      } else {
        error = "\"then\" must be \"default\", \"repeat\" or \"cycle\"";
        return false;
      }
    }
    GList *keys = json_object_get_members (obj);
    for (GList *l = keys; l; l = l->next)
      if (!word_in ("steps then comment", static_cast<const char *> (l->data)))
        error = std::string ("unknown script member \"") + static_cast<const char *> (l->data) + "\"";
    g_list_free (keys);
    if (!error.empty ())
      return false;
  } else if (!steps) {
    error = "a script is {\"steps\": [...], \"then\": \"default\"|\"repeat\"|\"cycle\"} or an array of steps";
    return false;
  }
  for (guint i = 0; steps && i < json_array_get_length (steps); i++) {
    Step step;
    if (!parse_step (json_array_get_element (steps, i), i, load, step, error))
      return false;
    script.steps.push_back (std::move (step));
  }
  out = std::move (script);
  return true;
}

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
};

/* Walks the body; fills `req` as far as it gets (the log shows it even
 * for rejected requests) and returns the first validation error. */
class RequestParser {
public:
  /* The Part.data oneof: a part without any of these is rejected. */
  static bool has_data_field (JsonObject * part)
  {
    static const std::pair<const char *, const char *> kFields[] = {
      {"text", nullptr}, {"inlineData", "inline_data"}, {"fileData", "file_data"},
      {"functionCall", "function_call"}, {"functionResponse", "function_response"},
      {"executableCode", "executable_code"}, {"codeExecutionResult", "code_execution_result"},
    };
    for (const auto & [camel, snake] : kFields)
      if (member (part, camel, snake))
        return true;
    return false;
  }

  RequestParser (const ModelInfo & model, GenerateRequest & req) : model_ (model), req_ (req) {}

  std::optional<ApiError> parse (JsonNode * root)
  {
    JsonObject *body = as_object (root);
    if (!body)
      return invalid_argument ("Invalid JSON payload received. Unknown name \"\": Root element "
          "must be a message.");
    auto err = parse_generation_config (as_object (member (body, "generationConfig", "generation_config")));
    auto contents_err = parse_contents (member (body, "contents"));
    if (contents_err)
      return contents_err;
    return err;
  }

private:
  std::optional<ApiError> parse_contents (JsonNode * node)
  {
    JsonArray *contents = as_array (node);
    if (!contents || json_array_get_length (contents) == 0)
      return invalid_argument ("* GenerateContentRequest.contents: contents is not specified\n");
    std::vector<std::string> texts;
    for (guint i = 0; i < json_array_get_length (contents); i++) {
      if (auto err = parse_content (json_array_get_element (contents, i), i, texts))
        return err;
    }
    for (const std::string & t : texts)
      req_.prompt += (&t == &texts.front () ? "" : "\n") + t;
    return std::nullopt;
  }

  std::optional<ApiError> parse_content (JsonNode * node, guint ci, std::vector<std::string> & texts)
  {
    JsonObject *content = as_object (node);
    JsonArray *parts = content ? as_array (member (content, "parts")) : nullptr;
    const std::string at = "contents[" + std::to_string (ci) + "]";
    if (!parts || json_array_get_length (parts) == 0)
      return invalid_argument ("* GenerateContentRequest." + at + ".parts: contents.parts must not be empty.\n");
    JsonNode *role_node = member (content, "role");
    const std::string role = holds_string (role_node) ? json_node_get_string (role_node) : "user";
    for (guint pi = 0; pi < json_array_get_length (parts); pi++) {
      JsonObject *part = as_object (json_array_get_element (parts, pi));
      if (!part)
        return invalid_argument ("Invalid JSON payload received. Expected an object for '" + at + ".parts[" +
            std::to_string (pi) + "]'.");
      if (auto err = parse_part (part, role, ci, pi, texts))
        return err;
    }
    return std::nullopt;
  }

  std::optional<ApiError> parse_part (JsonObject * part, const std::string & role, guint ci, guint pi,
      std::vector<std::string> & texts)
  {
    if (!has_data_field (part))
      return invalid_argument ("* GenerateContentRequest.contents[" + std::to_string (ci) + "].parts[" +
          std::to_string (pi) + "].data: required oneof field 'data' must have one initialized field\n");
    JsonNode *thought_node = member (part, "thought");
    const bool thought = holds_bool (thought_node) && json_node_get_boolean (thought_node);
    const bool signed_part = holds_string (member (part, "thoughtSignature", "thought_signature"));
    if (JsonNode *text = member (part, "text")) {
      if (!holds_string (text))
        return invalid_argument ("Invalid value at 'contents[" + std::to_string (ci) + "].parts[" +
            std::to_string (pi) + "].text' (TYPE_STRING)");
      if (role == "user" && !thought)
        texts.emplace_back (json_node_get_string (text));
    }
    if (JsonNode *file = member (part, "fileData", "file_data")) {
      JsonNode *uri = member (as_object (file), "fileUri", "file_uri");
      std::string id = holds_string (uri) ? json_node_get_string (uri) : "";
      id = id.substr (id.find_last_of ('/') + 1);
      /* No file was ever uploaded to the emulator. */
      return ApiError {403, "PERMISSION_DENIED", "You do not have permission to access the File " + id +
          " or it may not exist.", {}};
    }
    JsonNode *inline_node = member (part, "inlineData", "inline_data");
    if (!inline_node)
      return std::nullopt;
    if (model_.thinking && role == "model" && !thought && !signed_part)
      return invalid_argument ("Image part is missing a thought_signature in content position " +
          std::to_string (ci + 1) + ", part position " + std::to_string (pi + 1) + ".");
    return parse_inline_data (as_object (inline_node), thought);
  }

  std::optional<ApiError> parse_inline_data (JsonObject * data, bool thought)
  {
    JsonNode *mime = member (data, "mimeType", "mime_type");
    JsonNode *b64 = member (data, "data");
    InlineImage img;
    img.thought = thought;
    img.mime = holds_string (mime) ? json_node_get_string (mime) : "";
    const bool mime_ok = word_in ("image/png image/jpeg image/webp image/heic image/heif", img.mime);
    const bool data_ok = holds_string (b64) && decode_base64_strict (json_node_get_string (b64), img.bytes) &&
        !img.bytes.empty ();
    req_.images.push_back (std::move (img));
    if (!mime_ok || !data_ok)
      return image_input_error ();
    return std::nullopt;
  }

  std::optional<ApiError> parse_generation_config (JsonObject * config)
  {
    if (!config)
      return std::nullopt;
    std::optional<ApiError> first;
    auto keep = [&first] (std::optional<ApiError> e) { if (e && !first) first = std::move (e); };
    keep (parse_modalities (as_array (member (config, "responseModalities", "response_modalities"))));
    keep (parse_image_config (member (config, "imageConfig", "image_config")));
    JsonNode *count = member (config, "candidateCount", "candidate_count");
    if (holds_int (count) && json_node_get_int (count) > 1)
      keep (invalid_argument (std::string ("Multiple candidates is not enabled for models/") + model_.name));
    keep (parse_thinking (as_object (member (config, "thinkingConfig", "thinking_config"))));
    return first;
  }

  std::optional<ApiError> parse_modalities (JsonArray * mods)
  {
    if (!mods || json_array_get_length (mods) == 0)
      return std::nullopt;
    req_.want_text = req_.want_image = false;
    for (guint i = 0; i < json_array_get_length (mods); i++) {
      JsonNode *n = json_array_get_element (mods, i);
      GCharPtr up (g_ascii_strup (holds_string (n) ? json_node_get_string (n) : "?", -1));
      const std::string m = up.get ();
      req_.modalities.push_back (m);
      if (m == "TEXT")
        req_.want_text = true;
      else if (m == "IMAGE")
        req_.want_image = true;
      else if (m == "AUDIO")
        return invalid_argument ("Model does not support the requested response modalities: audio");
      else
        return invalid_argument ("Invalid value at 'generation_config.response_modalities[" + std::to_string (i) +
            "]' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig.Modality), \"" +
            m + "\"");
    }
    return std::nullopt;
  }

  std::optional<ApiError> parse_image_config (JsonNode * node)
  {
    JsonObject *ic = as_object (node);
    if (!ic)
      return std::nullopt;
    req_.has_image_config = true;
    JsonNode *ar = member (ic, "aspectRatio", "aspect_ratio");
    JsonNode *size = member (ic, "imageSize", "image_size");
    if (ar && holds_string (ar))
      req_.aspect_ratio = json_node_get_string (ar);
    if (size && holds_string (size))
      req_.image_size = json_node_get_string (size);
    if (ar && (!holds_string (ar) || !is_aspect_ratio (req_.aspect_ratio))) {
      std::string list;
      for (const char *r : aspect_ratios ())
        list += (list.empty () ? "" : ", ") + std::string (r);
      return invalid_argument ("* GenerateContentRequest.generation_config.image_config.aspect_ratio: "
          "Unsupported aspect ratio \"" + req_.aspect_ratio + "\". Supported values are " + list + ".\n");
    }
    if (size && (!holds_string (size) || !is_image_size (req_.image_size)))
      return invalid_argument ("* GenerateContentRequest.generation_config.image_config.image_size: "
          "Unsupported image size \"" + req_.image_size + "\". Supported values are 1K, 2K, 4K.\n");
    return std::nullopt;
  }

  std::optional<ApiError> parse_thinking (JsonObject * tc)
  {
    if (!tc)
      return std::nullopt;
    JsonNode *include = member (tc, "includeThoughts", "include_thoughts");
    req_.include_thoughts = holds_bool (include) && json_node_get_boolean (include);
    if (member (tc, "thinkingBudget", "thinking_budget") && member (tc, "thinkingLevel", "thinking_level"))
      return invalid_argument ("You can only set only one of thinking budget and thinking level.");
    return std::nullopt;
  }

  const ModelInfo & model_;
  GenerateRequest & req_;
};

/* ------------------------------------------------------------- answers */

enum class Transport { Http, Reset, Truncate, Hang, Endless };

struct Answer {
  Transport transport = Transport::Http;
  guint status = 200;
  std::string content_type = kJsonType;
  std::string body;
  Headers headers;
  std::string kind;    /* "image", "text-only", "finish:NO_IMAGE", "error", ... */
  std::string detail;  /* "1344x768 PNG", an error message, ... */
  guint delay_ms = 0;
  gsize send_bytes = 0;  /* truncate: body bytes really sent */
  guint chunk_bytes = 0, interval_ms = 0;  /* endless */
};

/* reset and hang never send a status line. */
bool
sends_status (const Answer & a)
{
  return a.transport != Transport::Reset && a.transport != Transport::Hang;
}

Answer
json_answer (guint status, JsonNode * body, std::string kind)
{
  Answer a;
  a.status = status;
  a.body = to_json (body);
  a.kind = std::move (kind);
  json_node_unref (body);
  return a;
}

Answer
error_answer (const ApiError & e)
{
  Answer a = json_answer (e.code, error_body (e), "error");
  a.detail = e.message;
  return a;
}

/* The generated picture, encoded. */
struct Picture {
  std::string mime;
  std::string base64;
  int width = 0, height = 0;
  const char *format = "";
};

struct ResponseBuilder {
  const ModelInfo & model;
  const GenerateRequest & req;
  std::string seed;  /* what makes responses deterministic */
  int image_tokens = 0;
  int text_tokens = 0;

  std::string signature (const char * tag) const
  {
    return base64 (pseudo_random_bytes (seed + "\x1f" + tag, kSignatureBytes));
  }

  JsonObject *text_part (const std::string & text, bool sign, bool thought = false)
  {
    JsonObject *p = json_object_new ();
    json_object_set_string_member (p, "text", text.c_str ());
    if (thought)
      json_object_set_boolean_member (p, "thought", TRUE);
    else
      text_tokens += count_text_tokens (text);
    if (sign)
      json_object_set_string_member (p, "thoughtSignature", signature ("text").c_str ());
    return p;
  }

  JsonObject *image_part (const std::string & mime, const std::string & data, bool sign, bool thought = false)
  {
    JsonObject *inline_data = json_object_new ();
    json_object_set_string_member (inline_data, "mimeType", mime.c_str ());
    json_object_set_string_member (inline_data, "data", data.c_str ());
    JsonObject *p = json_object_new ();
    json_object_set_object_member (p, "inlineData", inline_data);
    if (thought)
      json_object_set_boolean_member (p, "thought", TRUE);
    if (sign)
      json_object_set_string_member (p, "thoughtSignature", signature ("image").c_str ());
    return p;
  }

  JsonObject *usage (bool with_candidates) const
  {
    const int prompt_text = count_text_tokens (req.prompt);
    const int prompt_images = kTokensPerReference * int (req.images.size ());
    const int candidates = image_tokens + text_tokens;
    const int thoughts = model.thinking && with_candidates ? kThoughtsTokens : 0;
    JsonObject *u = json_object_new ();
    json_object_set_int_member (u, "promptTokenCount", prompt_text + prompt_images);
    if (with_candidates)
      json_object_set_int_member (u, "candidatesTokenCount", candidates);
    if (thoughts)
      json_object_set_int_member (u, "thoughtsTokenCount", thoughts);
    json_object_set_int_member (u, "totalTokenCount",
        prompt_text + prompt_images + (with_candidates ? candidates : 0) + thoughts);
    JsonArray *prompt_details = json_array_new ();
    json_array_add_object_element (prompt_details, modality_count ("TEXT", prompt_text));
    if (prompt_images)
      json_array_add_object_element (prompt_details, modality_count ("IMAGE", prompt_images));
    json_object_set_array_member (u, "promptTokensDetails", prompt_details);
    if (with_candidates && image_tokens) {
      JsonArray *cand = json_array_new ();
      json_array_add_object_element (cand, modality_count ("IMAGE", image_tokens));
      json_object_set_array_member (u, "candidatesTokensDetails", cand);
    }
    return u;
  }

  static JsonObject *modality_count (const char * modality, int n)
  {
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "modality", modality);
    json_object_set_int_member (o, "tokenCount", n);
    return o;
  }

  /* parts == nullptr gives `"content": {}` (NO_IMAGE, IMAGE_SAFETY, ...). */
  JsonNode *candidate_response (JsonArray * parts, const std::string & finish_reason,
      const std::optional<std::string> & finish_message) const
  {
    JsonObject *content = json_object_new ();
    if (parts) {
      json_object_set_array_member (content, "parts", parts);
      json_object_set_string_member (content, "role", "model");
    }
    JsonObject *cand = json_object_new ();
    json_object_set_object_member (cand, "content", content);
    json_object_set_string_member (cand, "finishReason", finish_reason.c_str ());
    if (finish_message)
      json_object_set_string_member (cand, "finishMessage", finish_message->c_str ());
    json_object_set_int_member (cand, "index", 0);
    JsonArray *cands = json_array_new ();
    json_array_add_object_element (cands, cand);
    JsonObject *root = json_object_new ();
    json_object_set_array_member (root, "candidates", cands);
    json_object_set_object_member (root, "usageMetadata", usage (true));
    json_object_set_string_member (root, "modelVersion", model.name);
    json_object_set_string_member (root, "responseId", make_response_id (seed).c_str ());
    return node_take_object (root);
  }
};

/* Everything a step needs to build its answer. */
struct Exchange {
  guint64 index = 0;
  std::string method;
  std::string path;           /* without the query: it may hold a key */
  std::string model_name;     /* as in the path */
  const ModelInfo *model = nullptr;
  std::string host;           /* the request URI's host: Host header, or an absolute-form target's */
  gint64 received_us = 0;     /* g_get_monotonic_time () when the request had been read */
  std::string key;            /* never logged */
  bool header_key = false;
  bool query_key = false;
  std::string body_text;      /* raw request body */
  JsonNodePtr body;           /* parsed, or nullptr */
  std::string body_error;     /* why it did not parse */
  GenerateRequest req;
  std::optional<ApiError> invalid;
};

/* -------------------------------------------------------------- logging */

std::string
describe_request (const Exchange & ex)
{
  std::string s = "prompt=\"" + log_excerpt (ex.req.prompt) + "\" refs=" + std::to_string (ex.req.images.size ());
  if (!ex.req.images.empty ()) {
    s += " [";
    for (const InlineImage & img : ex.req.images)
      s += (&img == &ex.req.images.front () ? "" : ", ") + (img.mime.empty () ? "?" : img.mime) + " " +
          std::to_string (img.bytes.size ()) + " B" + (img.thought ? " thought" : "");
    s += "]";
  }
  std::string mods;
  for (const std::string & m : ex.req.modalities)
    mods += (mods.empty () ? "" : ",") + m;
  s += " modalities=" + (mods.empty () ? std::string ("default") : "[" + mods + "]");
  s += " imageConfig=" + (ex.req.has_image_config
      ? "{aspectRatio=" + (ex.req.aspect_ratio.empty () ? "-" : ex.req.aspect_ratio) + ",imageSize=" +
        (ex.req.image_size.empty () ? "-" : ex.req.image_size) + "}"
      : std::string ("none"));
  if (ex.req.include_thoughts)
    s += " includeThoughts";
  return s;
}

class RawConnection;

/* What a RawConnection needs from the server. */
class RawOwner {
public:
  virtual void raw_closed (RawConnection * c) = 0;
  virtual void log_line (const std::string & line) const = 0;

protected:
  ~RawOwner () = default;
};

}  // namespace

/* ================================================================ server */

struct Server::Impl final : RawOwner {
  explicit Impl (ServerOptions o) : opts (std::move (o)) {}

  ServerOptions opts;
  GObjectPtr<SoupServer> server;
  Script script;
  gsize next_step = 0;
  guint64 request_counter = 0;
  std::deque<JsonNodePtr> log;
  std::map<std::string, std::shared_ptr<const Cassette>> cassettes;

  struct Pending {
    Impl *owner;
    GObjectPtr<SoupServerMessage> msg;
    Answer answer;
    guint64 index;
    guint source = 0;
  };
  std::unordered_map<Pending *, std::unique_ptr<Pending>> pending;
  std::unordered_map<RawConnection *, std::shared_ptr<RawConnection>> raw;

  /* ---- setup ---- */
  bool set_script (const std::string & json, std::string & error);
  bool start (std::string & url, std::string & error);
  void stop ();
  std::shared_ptr<const Cassette> load_cassette_cached (const std::string & file, std::string & error);

  /* ---- requests ---- */
  static void on_request (SoupServer *, SoupServerMessage * msg, const char * path, GHashTable * query,
      gpointer self);
  void route (SoupServerMessage * msg, const std::string & path, GHashTable * query);
  void handle_generate (SoupServerMessage * msg, const std::string & path, const std::string & model,
      GHashTable * query);
  void handle_control (SoupServerMessage * msg, const std::string & path);
  Exchange read_exchange (SoupServerMessage * msg, const std::string & path, const std::string & model,
      GHashTable * query);
  std::optional<ApiError> check_auth (const Exchange & ex) const;
  const Step *consume_step (gsize & number);
  Answer decide (const Exchange & ex, gsize & step_number);
  Answer answer_for (const Step & step, const Exchange & ex);
  Answer generate (const Step & step, const Exchange & ex);
  Answer image_answer (const Exchange & ex, std::string & error_out);
  Answer broken_image_answer (const Step & step, const Exchange & ex);
  Answer replay_answer (const Step & step) const;

  /* ---- replies ---- */
  void deliver (SoupServerMessage * msg, Answer answer, guint64 index);
  static void respond (SoupServerMessage * msg, const Answer & a);
  static gboolean on_pending_due (gpointer data);
  void start_raw (SoupServerMessage * msg, Answer answer, guint64 index);
  void raw_closed (RawConnection * c) override;

  /* ---- log ---- */
  void record (SoupServerMessage * msg, const Exchange & ex, const Answer & answer);
  JsonObject *log_entry (SoupServerMessage * msg, const Exchange & ex);
  void log_line (const std::string & line) const override;
};

namespace {


/* A connection taken over from libsoup for the transport-level actions
 * (reset, truncate, hang, endless): bytes are written by hand. Async
 * callbacks hold a shared_ptr so the object outlives them; once closed,
 * callbacks touch nothing but the object itself. */
class RawConnection : public std::enable_shared_from_this<RawConnection> {
public:
  RawConnection (RawOwner & owner, GIOStream * stream, GSocket * socket, Answer answer, guint64 index)
      : owner_ (&owner), stream_ (stream), socket_ (socket), answer_ (std::move (answer)), index_ (index),
        cancellable_ (g_cancellable_new ()) {}

  ~RawConnection () { g_clear_handle_id (&timer_, g_source_remove); }

  void start ()
  {
    switch (answer_.transport) {
      case Transport::Reset:
        close (true);
        break;
      case Transport::Truncate:
        write (head (answer_.body.size (), false) + answer_.body.substr (0, answer_.send_bytes), true);
        break;
      case Transport::Hang:
        watch_client ();
        break;
      case Transport::Endless:
        watch_client ();
        write (head (0, true) + chunk ("{\n  \"candidates\": [\n    {\n      \"content\": {\n        "
            "\"parts\": [\n          {\n            \"text\": \""), false);
        timer_ = g_timeout_add (answer_.interval_ms, on_tick, this);
        break;
      case Transport::Http:
        break;
    }
  }

  /* Idempotent. `reset`: SO_LINGER 0, so close() sends an RST. */
  void close (bool reset = false)
  {
    if (closed_)
      return;
    closed_ = true;
    g_clear_handle_id (&timer_, g_source_remove);
    g_cancellable_cancel (cancellable_.get ());
    if (reset) {
      struct linger lg = {1, 0};
      setsockopt (g_socket_get_fd (socket_.get ()), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    g_socket_close (socket_.get (), nullptr);
    RawOwner *owner = owner_;
    owner_ = nullptr;
    auto self = shared_from_this ();  /* keeps `this` alive past the erase */
    owner->raw_closed (this);
  }

private:
  using Holder = std::shared_ptr<RawConnection>;

  /* Owned by the pending write_all_async call. */
  struct WriteOp {
    Holder self;
    std::string data;
    bool close_after;
  };

  std::string head (gsize content_length, bool chunked) const
  {
    std::string h = "HTTP/1.1 " + std::to_string (answer_.status) + " " +
        soup_status_get_phrase (answer_.status) + "\r\nContent-Type: " + answer_.content_type + "\r\n";
    h += chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + std::to_string (content_length) + "\r\n";
    for (const auto & [name, value] : answer_.headers)
      h += name + ": " + value + "\r\n";
    return h + "\r\n";
  }

  static std::string chunk (const std::string & data)
  {
    char size[32];
    g_snprintf (size, sizeof size, "%zx\r\n", data.size ());
    return size + data + "\r\n";
  }

  void write (std::string data, bool close_after)
  {
    auto *op = new WriteOp {shared_from_this (), std::move (data), close_after};
    writing_ = true;
    g_output_stream_write_all_async (g_io_stream_get_output_stream (stream_.get ()), op->data.data (),
        op->data.size (), G_PRIORITY_DEFAULT, cancellable_.get (), on_written, op);
  }

  static void on_written (GObject * source, GAsyncResult * res, gpointer data)
  {
    std::unique_ptr<WriteOp> op (static_cast<WriteOp *> (data));
    RawConnection & self = *op->self;
    gsize written = 0;
    GErrorPtr err;
    const bool ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, &written, out_error (err));
    self.writing_ = false;
    self.sent_ += written;
    if (self.closed_)
      return;
    if (!ok) {
      self.owner_->log_line ("#" + std::to_string (self.index_) + " " + self.answer_.kind +
          ": client gone after " + std::to_string (self.sent_) + " bytes (" + err->message + ")");
      self.close ();
    } else if (op->close_after) {
      self.close ();
    }
  }

  void watch_client ()
  {
    auto *ctx = new Holder (shared_from_this ());
    g_input_stream_read_async (g_io_stream_get_input_stream (stream_.get ()), read_buf_, sizeof read_buf_,
        G_PRIORITY_DEFAULT, cancellable_.get (), on_read, ctx);
  }

  /* EOF or an error: the client went away. Anything else is ignored. */
  static void on_read (GObject * source, GAsyncResult * res, gpointer data)
  {
    std::unique_ptr<Holder> ctx (static_cast<Holder *> (data));
    RawConnection & self = **ctx;
    GErrorPtr err;
    const gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, out_error (err));
    if (self.closed_)
      return;
    if (n > 0) {
      self.watch_client ();
      return;
    }
    self.owner_->log_line ("#" + std::to_string (self.index_) + " " + self.answer_.kind +
        ": client disconnected after " + std::to_string (self.sent_) + " bytes sent");
    self.close ();
  }

  static gboolean on_tick (gpointer data)
  {
    auto *self = static_cast<RawConnection *> (data);
    if (!self->writing_)
      self->write (chunk (std::string (self->answer_.chunk_bytes, 'A')), false);
    return G_SOURCE_CONTINUE;
  }

  RawOwner *owner_;
  GObjectPtr<GIOStream> stream_;
  GObjectPtr<GSocket> socket_;
  Answer answer_;
  guint64 index_;
  GObjectPtr<GCancellable> cancellable_;
  guint timer_ = 0;
  bool closed_ = false;
  bool writing_ = false;
  gsize sent_ = 0;
  char read_buf_[4096];
};

}  // namespace

/* ----------------------------------------------------------- setup */

void
Server::Impl::raw_closed (RawConnection * c)
{
  raw.erase (c);
}

std::shared_ptr<const Cassette>
Server::Impl::load_cassette_cached (const std::string & file, std::string & error)
{
  std::string path = file;
  if (!g_path_is_absolute (file.c_str ())) {
    if (opts.recorded_dir.empty ()) {
      error = "\"" + file + "\" is relative but the emulator was started without --recorded-dir";
      return nullptr;
    }
    GCharPtr p (g_build_filename (opts.recorded_dir.c_str (), file.c_str (), nullptr));
    path = p.get ();
  }
  if (auto it = cassettes.find (path); it != cassettes.end ())
    return it->second;
  auto cassette = std::make_shared<Cassette> ();
  if (!load_cassette (path, *cassette, error))
    return nullptr;
  cassettes[path] = cassette;
  return cassette;
}

bool
Server::Impl::set_script (const std::string & json, std::string & error)
{
  JsonNodePtr root = parse_json (json.data (), json.size (), error);
  if (!root) {
    error = "the script is not JSON: " + error;
    return false;
  }
  Script parsed;
  CassetteLoader loader = [this] (const std::string & f, std::string & e) { return load_cassette_cached (f, e); };
  if (!parse_script (root.get (), loader, parsed, error))
    return false;
  script = std::move (parsed);
  next_step = 0;
  return true;
}

bool
Server::Impl::start (std::string & url, std::string & error)
{
  std::string host = opts.host == "localhost" ? "127.0.0.1" : opts.host;
  GObjectPtr<GInetAddress> addr (g_inet_address_new_from_string (host.c_str ()));
  if (!addr) {
    error = "--host must be an IP address (or localhost), not \"" + opts.host + "\"";
    return false;
  }
  if (!g_inet_address_get_is_loopback (addr.get ()) && !opts.allow_remote) {
    error = "refusing to listen on non-loopback address " + host + " without --allow-remote";
    return false;
  }
  const bool tls = !opts.tls_cert_file.empty () || !opts.tls_key_file.empty ();
  GErrorPtr err;
  GObjectPtr<GTlsCertificate> cert;
  if (tls) {
    if (opts.tls_cert_file.empty () || opts.tls_key_file.empty ()) {
      error = "--tls-cert and --tls-key go together";
      return false;
    }
    cert.reset (g_tls_certificate_new_from_files (opts.tls_cert_file.c_str (), opts.tls_key_file.c_str (),
        out_error (err)));
    if (!cert) {
      error = "cannot load the TLS certificate " + opts.tls_cert_file + " / key " + opts.tls_key_file + ": " +
          err->message;
      return false;
    }
  }
  server.reset (soup_server_new ("server-header", "scaffolding on HTTPServer2", nullptr));
  if (cert)
    soup_server_set_tls_certificate (server.get (), cert.get ());
  soup_server_add_handler (server.get (), nullptr, on_request, this, nullptr);
  GObjectPtr<GSocketAddress> sa (g_inet_socket_address_new (addr.get (), opts.port));
  const auto listen_opts = static_cast<SoupServerListenOptions> (tls ? SOUP_SERVER_LISTEN_HTTPS : 0);
  if (!soup_server_listen (server.get (), sa.get (), listen_opts, out_error (err))) {
    error = std::string ("cannot listen on ") + host + ":" + std::to_string (opts.port) + ": " + err->message;
    server.reset ();
    return false;
  }
  GSList *uris = soup_server_get_uris (server.get ());
  const int port = uris ? g_uri_get_port (static_cast<GUri *> (uris->data)) : opts.port;
  g_slist_free_full (uris, reinterpret_cast<GDestroyNotify> (g_uri_unref));
  const bool v6 = g_inet_address_get_family (addr.get ()) == G_SOCKET_FAMILY_IPV6;
  url = (tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string (port);
  return true;
}

void
Server::Impl::stop ()
{
  for (auto & [p, owned] : pending)
    g_clear_handle_id (&owned->source, g_source_remove);
  pending.clear ();
  while (!raw.empty ())
    raw.begin ()->second->close ();
  if (server) {
    soup_server_disconnect (server.get ());
    server.reset ();
  }
  /* Let cancelled async operations report back and drop their references. */
  for (int i = 0; i < 100 && g_main_context_iteration (nullptr, FALSE); i++) {
  }
}

/* ---------------------------------------------------------- routing */

void
Server::Impl::on_request (SoupServer *, SoupServerMessage * msg, const char * path, GHashTable * query,
    gpointer self)
{
  GCharPtr decoded (g_uri_unescape_string (path, nullptr));
  static_cast<Impl *> (self)->route (msg, decoded ? decoded.get () : path, query);
}

void
Server::Impl::route (SoupServerMessage * msg, const std::string & path, GHashTable * query)
{
  if (path.starts_with ("/emulator/")) {
    handle_control (msg, path);
    return;
  }
  const std::string prefix = kApiPrefix, suffix = kGenerateSuffix;
  if (path.starts_with (prefix) && path.ends_with (suffix) && path.size () > prefix.size () + suffix.size ()) {
    const std::string model = path.substr (prefix.size (), path.size () - prefix.size () - suffix.size ());
    if (model.find ('/') == std::string::npos) {
      handle_generate (msg, path, model, query);
      return;
    }
  }
  respond (msg, json_answer (404, error_body (ApiError {404, "NOT_FOUND", "Method not found.", {}}), "error"));
  log_line (std::string (soup_server_message_get_method (msg)) + " " + path + " -> 404 (unknown path)");
}

std::optional<ApiError>
Server::Impl::check_auth (const Exchange & ex) const
{
  if (ex.query_key)
    g_printerr ("gemini-emulator: warning: request #%" G_GUINT64_FORMAT " sent the API key as ?key= in the URL; "
        "URLs end up in logs and proxies, send the x-goog-api-key header instead\n", ex.index);
  if (ex.key.empty ())
    return ApiError {403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without "
        "established identity). Please use API Key or other form of API consumer identity to call this API.", {}};
  if (opts.api_key && *opts.api_key != ex.key) {
    ApiError e = invalid_argument ("API key not valid. Please pass a valid API key.");
    e.details.push_back (error_info_detail ("API_KEY_INVALID"));
    return e;
  }
  return std::nullopt;
}

const Step *
Server::Impl::consume_step (gsize & number)
{
  number = 0;
  if (next_step < script.steps.size ()) {
    number = ++next_step;
    return &script.steps[next_step - 1];
  }
  if (script.then == Then::Cycle && !script.steps.empty ()) {
    next_step = 1;
    number = 1;
    return &script.steps.front ();
  }
  if (script.then == Then::Repeat && !script.steps.empty ()) {
    number = script.steps.size ();
    return &script.steps.back ();
  }
  return nullptr;
}

/* Reads what the request carries; nothing is judged yet. */
Exchange
Server::Impl::read_exchange (SoupServerMessage * msg, const std::string & path, const std::string & model,
    GHashTable * query)
{
  Exchange ex;
  ex.index = ++request_counter;
  ex.received_us = g_get_monotonic_time ();
  if (GUri *uri = soup_server_message_get_uri (msg); uri && g_uri_get_host (uri))
    ex.host = g_uri_get_host (uri);
  ex.method = soup_server_message_get_method (msg);
  ex.path = path;
  ex.model_name = model;
  ex.model = find_model (model);
  const char *h = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "x-goog-api-key");
  const char *q = query ? static_cast<const char *> (g_hash_table_lookup (query, "key")) : nullptr;
  ex.header_key = h && *h;
  ex.query_key = q && *q;
  ex.key = ex.header_key ? h : ex.query_key ? q : "";
  GBytesPtr bytes (soup_message_body_flatten (soup_server_message_get_request_body (msg)));
  gsize len = 0;
  const char *data = static_cast<const char *> (g_bytes_get_data (bytes.get (), &len));
  ex.body_text.assign (data ? data : "", len);
  ex.body = parse_json (ex.body_text.data (), ex.body_text.size (), ex.body_error);
  /* An unknown model is answered 404 later; parse anyway for the log. */
  if (ex.body)
    ex.invalid = RequestParser (ex.model ? *ex.model : known_models ().front (), ex.req).parse (ex.body.get ());
  return ex;
}

/* Method, key and model come first (like Google's front end); only then
 * does the request consume a script step. */
Answer
Server::Impl::decide (const Exchange & ex, gsize & step_number)
{
  step_number = 0;
  if (ex.method != "POST") {
    Answer a = error_answer (ApiError {405, "INVALID_ARGUMENT", "Method " + ex.method +
        " is not allowed for generateContent; use POST.", {}});
    a.headers.emplace_back ("Allow", "POST");
    a.delay_ms = opts.latency_ms;
    return a;
  }
  std::optional<ApiError> refused = check_auth (ex);
  if (!refused && !ex.model)
    refused = ApiError {404, "NOT_FOUND", "models/" + ex.model_name + " is not found for API version v1beta, or "
        "is not supported for generateContent. Call ListModels to see the list of available models and their "
        "supported methods.", {}};
  if (refused) {
    Answer a = error_answer (*refused);
    a.delay_ms = opts.latency_ms;
    return a;
  }
  static const Step kDefaultStep;
  const Step *step = consume_step (step_number);
  Answer a = answer_for (step ? *step : kDefaultStep, ex);
  if (step)
    a.headers.insert (a.headers.end (), step->headers.begin (), step->headers.end ());
  a.delay_ms = step && step->delay_ms ? *step->delay_ms : opts.latency_ms;
  return a;
}

void
Server::Impl::handle_generate (SoupServerMessage * msg, const std::string & path, const std::string & model,
    GHashTable * query)
{
  Exchange ex = read_exchange (msg, path, model, query);
  gsize step_number = 0;
  Answer answer = decide (ex, step_number);
  record (msg, ex, answer);

  std::string line = "#" + std::to_string (ex.index) + " " + ex.method + " " + path + " model=" + model +
      " key=" + (ex.header_key ? "header" : ex.query_key ? "query" : "none") + " " + describe_request (ex);
  if (step_number)
    line += " step=" + std::to_string (step_number) + "/" + std::to_string (script.steps.size ());
  if (answer.delay_ms)
    line += " delay=" + std::to_string (answer.delay_ms) + "ms";
  line += " -> " + (sends_status (answer) ? std::to_string (answer.status) + " " : std::string ()) + answer.kind +
      (answer.detail.empty () ? "" : " " + log_excerpt (answer.detail, 120));
  log_line (line);

  deliver (msg, std::move (answer), ex.index);
}

/* Appends to the /emulator/requests log, which keeps the last kLogCapacity. */
void
Server::Impl::record (SoupServerMessage * msg, const Exchange & ex, const Answer & answer)
{
  JsonObject *entry = log_entry (msg, ex);
  json_object_set_string_member (entry, "answer", answer.kind.c_str ());
  json_object_set_int_member (entry, "status", sends_status (answer) ? answer.status : 0);
  log.emplace_back (node_take_object (entry));
  while (log.size () > kLogCapacity)
    log.pop_front ();
}

JsonObject *
Server::Impl::log_entry (SoupServerMessage * msg, const Exchange & ex)
{
  JsonObject *entry = json_object_new ();
  json_object_set_int_member (entry, "index", gint64 (ex.index));
  json_object_set_string_member (entry, "method", ex.method.c_str ());
  json_object_set_string_member (entry, "path", ex.path.c_str ());
  json_object_set_string_member (entry, "model", ex.model_name.c_str ());
  json_object_set_string_member (entry, "host", ex.host.c_str ());
  json_object_set_int_member (entry, "received_us", ex.received_us);
  json_object_set_boolean_member (entry, "api_key_present", ex.header_key || ex.query_key);
  json_object_set_boolean_member (entry, "query_key_present", ex.query_key);
  JsonObject *headers = json_object_new ();
  SoupMessageHeadersIter it;
  soup_message_headers_iter_init (&it, soup_server_message_get_request_headers (msg));
  const char *name, *value;
  while (soup_message_headers_iter_next (&it, &name, &value)) {
    /* Credentials never leave the emulator. */
    if (g_ascii_strcasecmp (name, "x-goog-api-key") == 0 || g_ascii_strcasecmp (name, "authorization") == 0)
      continue;
    GCharPtr lower (g_ascii_strdown (name, -1));
    std::string v = value;
    if (json_object_has_member (headers, lower.get ()))
      v = std::string (json_object_get_string_member (headers, lower.get ())) + ", " + v;
    json_object_set_string_member (headers, lower.get (), v.c_str ());
  }
  json_object_set_object_member (entry, "headers", headers);
  json_object_set_member (entry, "body", ex.body ? json_node_copy (ex.body.get ())
                                                 : json_node_init_null (json_node_alloc ()));
  return entry;
}

void
Server::Impl::log_line (const std::string & line) const
{
  if (!opts.quiet)
    g_printerr ("gemini-emulator: %s\n", line.c_str ());
}

/* ---------------------------------------------------------- answers */

namespace {

JsonNodePtr
quota_failure_detail (const Step & step, const ModelInfo & model)
{
  return detail_node ("type.googleapis.com/google.rpc.QuotaFailure", [&] (JsonObject * o) {
    JsonObject *v = json_object_new ();
    json_object_set_string_member (v, "quotaMetric",
        "generativelanguage.googleapis.com/generate_content_free_tier_requests");
    json_object_set_string_member (v, "quotaId", step.quota_id.c_str ());
    JsonObject *dims = json_object_new ();
    json_object_set_string_member (dims, "location", "global");
    json_object_set_string_member (dims, "model", model.name);
    json_object_set_object_member (v, "quotaDimensions", dims);
    if (step.limit_zero)
      json_object_set_string_member (v, "quotaValue", "0");
    JsonArray *arr = json_array_new ();
    json_array_add_object_element (arr, v);
    json_object_set_array_member (o, "violations", arr);
  });
}

/* The Google error an "error" / "error-in-200" step describes. */
ApiError
scripted_error (const Step & step, const ModelInfo & model)
{
  const auto [grpc, default_message] = grpc_defaults (step.status);
  ApiError e {step.status, grpc, step.message.value_or (default_message), {}};
  if (step.limit_zero)
    e.message += std::string ("\n* Quota exceeded for metric: generativelanguage.googleapis.com/"
        "generate_content_free_tier_requests, limit: 0, model: ") + model.name;
  if (!step.retry_delay.empty ())
    e.message += "\nPlease retry in " + step.retry_delay + ".";
  if (!step.quota_id.empty ())
    e.details.push_back (quota_failure_detail (step, model));
  if (!step.retry_delay.empty ())
    e.details.push_back (detail_node ("type.googleapis.com/google.rpc.RetryInfo", [&] (JsonObject * o) {
      json_object_set_string_member (o, "retryDelay", step.retry_delay.c_str ());
    }));
  return e;
}

Answer
error_step_answer (const Step & step, const ModelInfo & model)
{
  const ApiError e = scripted_error (step, model);
  Answer a;
  if (step.action == Action::ErrorIn200) {
    a = json_answer (200, error_body (e), "error-in-200");
  } else if (step.status == 502) {
    a.status = 502;
    a.content_type = "text/html; charset=UTF-8";
    a.body = load_balancer_html (502, step.message.value_or (""));
    a.kind = "error";
  } else {
    a = error_answer (e);
  }
  a.detail = std::to_string (e.code) + " " + e.status;
  if (!step.retry_after.empty ())
    a.headers.emplace_back ("Retry-After", step.retry_after);
  return a;
}

Answer
raw_step_answer (const Step & step)
{
  Answer a;
  a.status = step.status;
  a.content_type = step.content_type;
  a.body = step.body;
  a.kind = "raw";
  a.detail = std::to_string (step.body.size ()) + " B " + step.content_type;
  return a;
}

/* reset, hang, endless: no body is built, the connection is the answer. */
Answer
transport_answer (const Step & step)
{
  Answer a;
  a.kind = step.name;
  switch (step.action) {
    case Action::Reset:
      a.transport = Transport::Reset;
      break;
    case Action::Hang:
      a.transport = Transport::Hang;
      break;
    default:
      a.transport = Transport::Endless;
      a.chunk_bytes = step.chunk_bytes;
      a.interval_ms = step.interval_ms;
      a.detail = std::to_string (step.chunk_bytes) + " B every " + std::to_string (step.interval_ms) + " ms";
      break;
  }
  return a;
}

}  // namespace

Answer
Server::Impl::answer_for (const Step & step, const Exchange & ex)
{
  switch (step.action) {
    case Action::Error:
    case Action::ErrorIn200:
      return error_step_answer (step, *ex.model);
    case Action::Replay:
      return replay_answer (step);
    case Action::Raw:
      return raw_step_answer (step);
    case Action::Reset:
    case Action::Hang:
    case Action::Endless:
      return transport_answer (step);
    default:
      return generate (step, ex);
  }
}

namespace {

/* text-only, finish, prompt-blocked: model answers without an image. */
Answer
content_step_answer (const Step & step, ResponseBuilder & rb)
{
  if (step.action == Action::PromptBlocked) {
    JsonObject *feedback = json_object_new ();
    json_object_set_string_member (feedback, "blockReason", step.reason.c_str ());
    if (step.message)
      json_object_set_string_member (feedback, "blockReasonMessage", step.message->c_str ());
    JsonObject *root = json_object_new ();
    json_object_set_object_member (root, "promptFeedback", feedback);
    json_object_set_object_member (root, "usageMetadata", rb.usage (false));
    json_object_set_string_member (root, "modelVersion", rb.model.name);
    json_object_set_string_member (root, "responseId", make_response_id (rb.seed).c_str ());
    return json_answer (200, node_take_object (root), "prompt-blocked:" + step.reason);
  }
  std::optional<std::string> text = step.text;
  if (step.action == Action::TextOnly && !text)
    text = "I can't draw that, but here is a story…";
  JsonArray *parts = nullptr;  /* none: "content": {} */
  if (text) {
    parts = json_array_new ();
    json_array_add_object_element (parts, rb.text_part (*text, rb.model.thinking));
  }
  if (step.action == Action::TextOnly)
    return json_answer (200, rb.candidate_response (parts, "STOP", std::nullopt), "text-only");
  return json_answer (200, rb.candidate_response (parts, step.reason, step.message), "finish:" + step.reason);
}

}  // namespace

/* Actions that answer as the model would: the request must be valid first,
 * exactly as for a normal generation. */
Answer
Server::Impl::generate (const Step & step, const Exchange & ex)
{
  if (!ex.body) {
    ApiError e = invalid_argument ("Invalid JSON payload received. " + ex.body_error);
    e.details.push_back (bad_request_detail (e.message));
    return error_answer (e);
  }
  if (ex.invalid)
    return error_answer (*ex.invalid);
  switch (step.action) {
    case Action::TextOnly:
    case Action::Finish:
    case Action::PromptBlocked: {
      ResponseBuilder rb {*ex.model, ex.req, std::string (ex.model->name) + "\x1f" + ex.body_text};
      return content_step_answer (step, rb);
    }
    case Action::BadBase64:
    case Action::BadImage:
    case Action::Bomb:
      return broken_image_answer (step, ex);
    default:
      break;
  }
  std::string error;
  Answer a = image_answer (ex, error);
  if (!error.empty ())
    return error_answer (invalid_argument (error));
  if (step.action == Action::MalformedJson) {
    a.body.resize (a.body.size () / 2);
    a.kind = "malformed-json";
    a.detail = "cut at " + std::to_string (a.body.size ()) + " B";
  } else if (step.action == Action::Truncate) {
    a.transport = Transport::Truncate;
    a.send_bytes = std::min<gsize> (step.bytes.value_or (a.body.size () / 2), a.body.size ());
    a.kind = "truncate";
    a.detail = std::to_string (a.send_bytes) + " of " + std::to_string (a.body.size ()) + " B";
  }
  return a;
}

namespace {

/* Decodes the (non-thought) reference images. HEIC/HEIF cannot be decoded
 * here: they get a grey swatch and no thumbnail. */
bool
prepare_references (const GenerateRequest & req, std::vector<DecodedImage> & decoded,
    std::vector<Reference> & refs, std::string & error)
{
  /* Reserved up front: refs keep pointers into `decoded`. */
  decoded.reserve (req.images.size ());
  for (const InlineImage & img : req.images) {
    if (img.thought)
      continue;
    Reference ref;
    ref.mean = Rgb {128, 128, 128};
    if (img.mime != "image/heic" && img.mime != "image/heif") {
      DecodedImage out;
      std::string why;
      if (!decode_image (reinterpret_cast<const guint8 *> (img.bytes.data ()), img.bytes.size (), DecodeLimits {},
              out, why)) {
        error = std::string ("Unable to process input image. ") + kTroubleshooting;
        return false;
      }
      decoded.push_back (std::move (out));
      ref.image = &decoded.back ();
      ref.mean = mean_color (decoded.back ());
    }
    refs.push_back (ref);
  }
  return true;
}

bool
encode_picture (const DecodedImage & img, const ModelInfo & model, Picture & out, std::string & error)
{
  std::string bytes;
  const bool ok = model.output_format == ImageFormat::Png ? encode_png (img, bytes, error)
                                                          : encode_jpeg (img, kJpegQuality, bytes, error);
  if (!ok)
    return false;
  out.mime = model.output_mime;
  out.base64 = base64 (bytes);
  out.width = img.width;
  out.height = img.height;
  out.format = model.output_format == ImageFormat::Png ? "PNG" : "JPEG";
  return true;
}

}  // namespace

Answer
Server::Impl::image_answer (const Exchange & ex, std::string & error)
{
  const ModelInfo & model = *ex.model;
  const GenerateRequest & req = ex.req;
  std::vector<DecodedImage> decoded;
  std::vector<Reference> refs;
  if (req.want_image && !prepare_references (req, decoded, refs, error))
    return {};
  std::string ratio = req.aspect_ratio;
  if (ratio.empty () && !decoded.empty ())
    ratio = closest_aspect_ratio (decoded.front ().width, decoded.front ().height);
  int w = 0, h = 0;
  if (!output_size (model.name, ratio, req.image_size, w, h, error))
    return {};

  /* Pictures first: nothing to clean up if encoding fails. */
  const bool thoughts = model.thinking && req.include_thoughts;
  Picture final_pic, draft;
  if (req.want_image) {
    RenderParams rp {req.prompt, model.name, w, h, refs, std::nullopt, ""};
    if (!encode_picture (render_image (rp), model, final_pic, error))
      return {};
    RenderParams dp {req.prompt, model.name, w / 2, h / 2, refs, inverse_color (prompt_color (req.prompt)), "draft"};
    if (thoughts && !encode_picture (render_image (dp), model, draft, error))
      return {};
  }

  ResponseBuilder rb {model, req, std::string (model.name) + "\x1f" + ex.body_text};
  JsonArray *parts = json_array_new ();
  if (thoughts) {
    json_array_add_object_element (parts, rb.text_part ("**Composing the image**\n\nI'm planning a " +
        std::to_string (w) + "x" + std::to_string (h) + " picture of: " + req.prompt, false, true));
    if (req.want_image)
      json_array_add_object_element (parts, rb.image_part (draft.mime, draft.base64, false, true));
  }
  if (req.want_text)
    json_array_add_object_element (parts, rb.text_part (req.want_image ? "Here is an emulated image of: " +
        req.prompt : "Here is an emulated answer to: " + req.prompt, model.thinking));
  if (req.want_image) {
    json_array_add_object_element (parts, rb.image_part (final_pic.mime, final_pic.base64, model.thinking));
    rb.image_tokens = image_token_count (model, req.image_size);
  }
  Answer a = json_answer (200, rb.candidate_response (parts, "STOP", std::nullopt),
      req.want_image ? "image" : "text-only");
  if (req.want_image)
    a.detail = std::to_string (w) + "x" + std::to_string (h) + " " + final_pic.format +
        (thoughts ? " (+ draft " + std::to_string (draft.width) + "x" + std::to_string (draft.height) + ")" : "");
  return a;
}

namespace {

/* A PNG whose IHDR announces width x height; the pixel data is a stub. */
std::string
png_bomb (guint32 width, guint32 height)
{
  auto be32 = [] (std::string & s, guint32 v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      s.push_back (static_cast<char> ((v >> shift) & 0xff));
  };
  auto chunk = [&] (std::string & out, const char * type, const std::string & data) {
    be32 (out, guint32 (data.size ()));
    std::string typed = std::string (type, 4) + data;
    out += typed;
    guint32 crc = 0xffffffffu;  /* CRC-32 as in the PNG spec */
    for (unsigned char c : typed) {
      crc ^= c;
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    be32 (out, crc ^ 0xffffffffu);
  };
  std::string ihdr;
  be32 (ihdr, width);
  be32 (ihdr, height);
  ihdr += std::string ("\x08\x02\x00\x00\x00", 5);  /* 8-bit RGB, no interlace */
  std::string png ("\x89PNG\r\n\x1a\n", 8);
  chunk (png, "IHDR", ihdr);
  chunk (png, "IDAT", std::string ("\x78\x9c\x63\x60\x00\x00\x00\x02\x00\x01", 10));
  chunk (png, "IEND", "");
  return png;
}

}  // namespace

Answer
Server::Impl::broken_image_answer (const Step & step, const Exchange & ex)
{
  ResponseBuilder rb {*ex.model, ex.req, std::string (ex.model->name) + "\x1f" + ex.body_text};
  std::string data, detail;
  if (step.action == Action::BadBase64) {
    data = "iVBORw0KGgo!!not*base64@@" + std::string (64, '#');
    detail = "inlineData.data is not base64";
  } else if (step.action == Action::BadImage) {
    data = base64 (std::string ("\x89PNG\r\n\x1a\n", 8) + pseudo_random_bytes (rb.seed, 2048));
    detail = "PNG signature + 2048 garbage bytes";
  } else {
    data = base64 (png_bomb (guint32 (step.width), guint32 (step.height)));
    detail = "PNG header claims " + std::to_string (step.width) + "x" + std::to_string (step.height);
  }
  JsonArray *parts = json_array_new ();
  if (ex.req.want_text)
    json_array_add_object_element (parts, rb.text_part ("Here is an emulated image of: " + ex.req.prompt,
        ex.model->thinking));
  json_array_add_object_element (parts, rb.image_part ("image/png", data, ex.model->thinking));
  rb.image_tokens = image_token_count (*ex.model, ex.req.image_size);
  Answer a = json_answer (200, rb.candidate_response (parts, "STOP", std::nullopt), step.name);
  a.detail = detail;
  return a;
}

Answer
Server::Impl::replay_answer (const Step & step) const
{
  const Interaction & it = (*step.cassette)[step.interaction];
  Answer a;
  a.status = it.status ? it.status : 200;
  const char *ct = it.response_header ("content-type");
  a.content_type = ct ? ct : kJsonType;
  a.body = it.response_body ? to_json (it.response_body.get ()) : std::string ();
  a.kind = "replay";
  a.detail = step.file + "[" + std::to_string (step.interaction) + "]";
  return a;
}

/* ----------------------------------------------------------- replies */

void
Server::Impl::respond (SoupServerMessage * msg, const Answer & a)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (h, "Content-Type", a.content_type.c_str ());
  soup_message_headers_replace (h, "Vary", "Origin, X-Origin, Referer");
  soup_message_headers_replace (h, "X-Content-Type-Options", "nosniff");
  for (const auto & [name, value] : a.headers)
    soup_message_headers_append (h, name.c_str (), value.c_str ());
  auto *owned = new std::string (a.body);
  GBytesPtr bytes (g_bytes_new_with_free_func (owned->data (), owned->size (),
      [] (gpointer p) { delete static_cast<std::string *> (p); }, owned));
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), bytes.get ());
  soup_server_message_set_status (msg, a.status, nullptr);
}

void
Server::Impl::deliver (SoupServerMessage * msg, Answer answer, guint64 index)
{
  if (answer.transport == Transport::Http && answer.delay_ms == 0) {
    respond (msg, answer);
    return;
  }
  /* Later (a delay, or a connection taken over outside of libsoup's I/O
   * callbacks): pause and come back from a timeout. */
  soup_server_message_pause (msg);
  auto p = std::make_unique<Pending> (Pending {this, ref_object (msg), std::move (answer), index, 0});
  p->source = g_timeout_add (p->answer.delay_ms, on_pending_due, p.get ());
  pending.emplace (p.get (), std::move (p));
}

gboolean
Server::Impl::on_pending_due (gpointer data)
{
  auto *raw_p = static_cast<Pending *> (data);
  Impl *self = raw_p->owner;
  auto node = self->pending.extract (raw_p);
  std::unique_ptr<Pending> p = std::move (node.mapped ());
  p->source = 0;
  if (p->answer.transport == Transport::Http) {
    respond (p->msg.get (), p->answer);
    soup_server_message_unpause (p->msg.get ());
  } else {
    self->start_raw (p->msg.get (), std::move (p->answer), p->index);
  }
  return G_SOURCE_REMOVE;
}

void
Server::Impl::start_raw (SoupServerMessage * msg, Answer answer, guint64 index)
{
  GObjectPtr<GSocket> socket = ref_object (soup_server_message_get_socket (msg));
  GObjectPtr<GIOStream> stream (soup_server_message_steal_connection (msg));
  if (!stream || !socket)
    return;
  auto conn = std::make_shared<RawConnection> (*this, stream.release (), socket.release (), std::move (answer), index);
  raw.emplace (conn.get (), conn);
  conn->start ();
}

/* ---------------------------------------------------------- control */

void
Server::Impl::handle_control (SoupServerMessage * msg, const std::string & path)
{
  const std::string method = soup_server_message_get_method (msg);
  auto reply = [&] (guint status, JsonNode * body, const std::string & detail = "") {
    respond (msg, json_answer (status, body, "control"));
    log_line (method + " " + path + " -> " + std::to_string (status) + (detail.empty () ? "" : " " + detail));
  };
  auto expect = [&] (const char * m) {
    if (method == m)
      return true;
    reply (405, error_body (ApiError {405, "INVALID_ARGUMENT", path + " accepts " + m + " only", {}}));
    return false;
  };
  if (path == "/emulator/script") {
    if (!expect ("POST"))
      return;
    GBytesPtr bytes (soup_message_body_flatten (soup_server_message_get_request_body (msg)));
    gsize len = 0;
    const char *data = static_cast<const char *> (g_bytes_get_data (bytes.get (), &len));
    std::string error;
    if (!set_script (std::string (data ? data : "", len), error)) {
      reply (400, error_body (invalid_argument (error)), error);
      return;
    }
    JsonObject *o = json_object_new ();
    json_object_set_int_member (o, "steps", gint64 (script.steps.size ()));
    json_object_set_string_member (o, "then", then_name (script.then));
    reply (200, node_take_object (o));
  } else if (path == "/emulator/requests") {
    if (!expect ("GET"))
      return;
    JsonArray *arr = json_array_new ();
    for (const JsonNodePtr & e : log)
      json_array_add_element (arr, json_node_copy (e.get ()));
    reply (200, node_take_array (arr));
  } else if (path == "/emulator/reset") {
    if (!expect ("POST"))
      return;
    script = Script {};
    next_step = 0;
    request_counter = 0;
    log.clear ();
    JsonObject *o = json_object_new ();
    json_object_set_boolean_member (o, "reset", TRUE);
    reply (200, node_take_object (o));
  } else if (path == "/emulator/status") {
    if (!expect ("GET"))
      return;
    JsonObject *o = json_object_new ();
    json_object_set_int_member (o, "requests", gint64 (request_counter));
    json_object_set_int_member (o, "script_steps", gint64 (script.steps.size ()));
    json_object_set_int_member (o, "next_step", gint64 (next_step));
    json_object_set_string_member (o, "then", then_name (script.then));
    json_object_set_int_member (o, "pending_replies", gint64 (pending.size ()));
    json_object_set_int_member (o, "open_connections", gint64 (raw.size ()));
    reply (200, node_take_object (o));
  } else {
    reply (404, error_body (ApiError {404, "NOT_FOUND", "Unknown control endpoint " + path +
        " (known: /emulator/script, /emulator/requests, /emulator/reset, /emulator/status)", {}}));
  }
}

/* ----------------------------------------------------------- Server */

Server::Server (ServerOptions options) : impl_ (std::make_unique<Impl> (std::move (options))) {}

Server::~Server ()
{
  stop ();
}

bool
Server::set_script (const std::string & json, std::string & error)
{
  return impl_->set_script (json, error);
}

bool
Server::start (std::string & url, std::string & error)
{
  return impl_->start (url, error);
}

void
Server::stop ()
{
  impl_->stop ();
}

}  // namespace gemini::emulator
