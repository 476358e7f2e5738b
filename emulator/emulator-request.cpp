/* gst-gemini emulator: reading and validating a generateContent request,
 * the key check, and the Google error bodies.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator-request.h"

#include <algorithm>
#include <array>

#include "emulator-common.h"
#include "glib-raii.h"

namespace gemini::emulator {

/* --------------------------------------------------------- Google errors */

JsonNodePtr
detail_node (const char * type, std::function<void (JsonObject *)> fill)
{
  JsonObject *obj = json_object_new ();
  json_object_set_string_member (obj, "@type", type);
  fill (obj);
  return JsonNodePtr (node_take_object (obj));
}

JsonNodePtr
error_info_detail (const char * reason, const char * service)
{
  return detail_node ("type.googleapis.com/google.rpc.ErrorInfo", [reason, service] (JsonObject * o) {
    json_object_set_string_member (o, "reason", reason);
    json_object_set_string_member (o, "domain", "googleapis.com");
    JsonObject *meta = json_object_new ();
    json_object_set_string_member (meta, "service", service);
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

namespace {

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

/* Proto-JSON `bytes` as Google's front end reads them: standard or
 * URL-safe alphabet, padding optional but only at the end; anything else
 * (including whitespace) is an error. Not gemini::decode_base64_strict (),
 * which reads what Gemini sends back: standard alphabet, whitespace
 * skipped. */
bool
decode_proto_bytes (std::string_view in, std::string & out)
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

/* -------------------------------------------------------- the request */

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

  /* `spec` nullptr: a model the catalogue does not know (answered 404
   * later); only what every model checks is checked. */
  RequestParser (const ModelSpec * spec, const std::string & id, GenerateRequest & req)
      : spec_ (spec), id_ (id), req_ (req) {}

  std::optional<ApiError> parse (JsonNode * root)
  {
    JsonObject *body = as_object (root);
    if (!body)
      return invalid_argument ("Invalid JSON payload received. Unknown name \"\": Root element "
          "must be a message.");
    parse_tools (as_array (member (body, "tools")));
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
    if (spec_ && spec_->thinks && role == "model" && !thought && !signed_part)
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
    const bool data_ok = holds_string (b64) && decode_proto_bytes (json_node_get_string (b64), img.bytes) &&
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
      keep (invalid_argument ("Multiple candidates is not enabled for models/" + id_));
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

  /* "A, B, C" of the values whose bit is set. */
  template <std::size_t N>
  static std::string list_of (const std::array<const char *, N> & values, guint bits)
  {
    std::string list;
    for (std::size_t i = 0; i < N; i++)
      if ((bits >> i) & 1u)
        list += (list.empty () ? "" : ", ") + std::string (values[i]);
    return list;
  }

  /* Known values, and those the model takes (what the message lists). */
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
    const guint all_ratios = (1u << kAspectRatios.size ()) - 1, all_sizes = (1u << kImageSizes.size ()) - 1;
    const guint ratios = spec_ ? spec_->ratios : all_ratios, sizes = spec_ ? spec_->sizes : all_sizes;
    const int ratio_index = aspect_ratio_index (req_.aspect_ratio);
    if (ar && (!holds_string (ar) || ratio_index < 0 || !((ratios >> ratio_index) & 1u)))
      return invalid_argument ("* GenerateContentRequest.generation_config.image_config.aspect_ratio: "
          "Unsupported aspect ratio \"" + req_.aspect_ratio + "\". Supported values are " +
          list_of (kAspectRatios, ratios) + ".\n");
    const int size_index = image_size_index (req_.image_size);
    if (size && (!holds_string (size) || size_index < 0 || !((sizes >> size_index) & 1u)))
      return invalid_argument ("* GenerateContentRequest.generation_config.image_config.image_size: "
          "Unsupported image size \"" + req_.image_size + "\". Supported values are " +
          list_of (kImageSizes, sizes) + ".\n");
    return std::nullopt;
  }

  std::optional<ApiError> parse_thinking (JsonObject * tc)
  {
    if (!tc)
      return std::nullopt;
    JsonNode *include = member (tc, "includeThoughts", "include_thoughts");
    req_.include_thoughts = holds_bool (include) && json_node_get_boolean (include);
    JsonNode *level = member (tc, "thinkingLevel", "thinking_level");
    if (member (tc, "thinkingBudget", "thinking_budget") && level)
      return invalid_argument ("You can only set only one of thinking budget and thinking level.");
    if (!level)
      return std::nullopt;
    /* An enum: proto-JSON takes the value name; the REST examples write
     * it in lower case ("low"), the SDKs in upper case. */
    GCharPtr up (g_ascii_strup (holds_string (level) ? json_node_get_string (level) : "?", -1));
    req_.thinking_level = up.get ();
    const int index = thinking_level_index (req_.thinking_level);
    if (index < 0 || req_.thinking_level == "THINKING_LEVEL_UNSPECIFIED")
      return invalid_argument ("Invalid value at 'generation_config.thinking_config.thinking_level' "
          "(type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), \"" +
          req_.thinking_level + "\"");
    if (spec_ && !spec_->thinking_levels)
      return invalid_argument ("Thinking level is not supported for this model.");
    if (spec_ && !spec_->takes_thinking_level (index))
      return invalid_argument ("Thinking level " + req_.thinking_level + " is not supported for this model. "
          "Supported values are " + list_of (kThinkingLevels, spec_->thinking_levels) + ".");
    return std::nullopt;
  }

  /* tools: [{"googleSearch": {}}] grounds the image in Google Search; other
   * tools are accepted and ignored. */
  void parse_tools (JsonArray * tools)
  {
    for (guint i = 0; tools && i < json_array_get_length (tools); i++)
      if (JsonObject *tool = as_object (json_array_get_element (tools, i)))
        if (member (tool, "googleSearch", "google_search"))
          req_.google_search = true;
  }

  const ModelSpec *spec_;
  const std::string & id_;
  GenerateRequest & req_;
};

}  // namespace

/* Reads what the request carries; nothing is judged yet. */
Exchange
read_exchange (SoupServerMessage * msg, guint64 index, const std::string & path, const std::string & model,
    GHashTable * query)
{
  Exchange ex;
  ex.index = index;
  ex.received_us = g_get_monotonic_time ();
  if (GUri *uri = soup_server_message_get_uri (msg); uri && g_uri_get_host (uri))
    ex.host = g_uri_get_host (uri);
  ex.method = soup_server_message_get_method (msg);
  ex.path = path;
  ex.model_name = model;
  ex.model = find_model_spec (model);
  if (std::optional<GeneratePath> where = parse_generate_path (path)) {
    ex.vertex = where->vertex;
    ex.project = where->project;
    ex.location = where->location;
  }
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  if (const char *auth = soup_message_headers_get_one (headers, "Authorization");
      auth && g_ascii_strncasecmp (auth, "Bearer ", 7) == 0)
    ex.bearer = auth + 7;
  const char *h = soup_message_headers_get_one (headers, "x-goog-api-key");
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
    ex.invalid = RequestParser (ex.model, ex.model_name, ex.req).parse (ex.body.get ());
  return ex;
}

std::optional<GeneratePath>
parse_generate_path (const std::string & path)
{
  static const std::string unary = ":generateContent", streamed = ":streamGenerateContent";
  const bool stream = path.ends_with (streamed);
  if (!stream && !path.ends_with (unary))
    return std::nullopt;
  const std::string rest = path.substr (0, path.size () - (stream ? streamed : unary).size ());
  std::vector<std::string> seg;
  for (gsize start = 0;;) {
    const gsize slash = rest.find ('/', start);
    seg.push_back (rest.substr (start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos)
      break;
    start = slash + 1;
  }
  /* seg[0] is "" (the leading '/'); no segment may be empty. */
  if (seg.size () < 4 || !seg[0].empty ()
      || std::any_of (seg.begin () + 1, seg.end (), [] (const std::string & x) { return x.empty (); }))
    return std::nullopt;
  GeneratePath g;
  g.stream = stream;
  if (seg.size () == 4 && seg[1] == "v1beta" && seg[2] == "models") {
    g.model = seg[3];
    return g;
  }
  if (seg[1] != "v1" && seg[1] != "v1beta1")
    return std::nullopt;
  gsize i = 2;
  if (seg.size () == 10 && seg[2] == "projects" && seg[4] == "locations") {
    g.project = seg[3];
    g.location = seg[5];
    i = 6;
  }
  if (seg.size () != i + 4 || seg[i] != "publishers" || seg[i + 1] != "google" || seg[i + 2] != "models")
    return std::nullopt;
  g.vertex = true;
  g.model = seg[i + 3];
  return g;
}

const char *
auth_kind (const Exchange & ex)
{
  return !ex.bearer.empty () ? "bearer" : ex.header_key ? "header" : ex.query_key ? "query" : "none";
}

std::optional<ApiError>
check_auth (const Exchange & ex, const std::optional<std::string> & api_key,
    const std::optional<std::string> & access_token)
{
  if (!ex.bearer.empty ()) {
    if (access_token && *access_token != ex.bearer) {
      /* What Vertex AI answers to an expired or foreign token. */
      ApiError e {401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 "
          "access token, login cookie or other valid authentication credential. See "
          "https://developers.google.com/identity/sign-in/web/devconsole-project.", {}};
      e.details.push_back (error_info_detail ("ACCESS_TOKEN_TYPE_UNSUPPORTED", ex.vertex
              ? "aiplatform.googleapis.com" : "generativelanguage.googleapis.com"));
      return e;
    }
    return std::nullopt;
  }
  if (ex.vertex && !ex.project.empty () && ex.key.empty ()) {
    ApiError e {401, "UNAUTHENTICATED", "Request is missing required authentication credential. Expected OAuth 2 "
        "access token, login cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.", {}};
    e.details.push_back (error_info_detail ("CREDENTIALS_MISSING", "aiplatform.googleapis.com"));
    return e;
  }
  if (ex.query_key)
    g_printerr ("gemini-emulator: warning: request #%" G_GUINT64_FORMAT " sent the API key as ?key= in the URL; "
        "URLs end up in logs and proxies, send the x-goog-api-key header instead\n", ex.index);
  if (ex.key.empty ())
    return ApiError {403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without "
        "established identity). Please use API Key or other form of API consumer identity to call this API.", {}};
  if (api_key && *api_key != ex.key) {
    ApiError e = invalid_argument ("API key not valid. Please pass a valid API key.");
    e.details.push_back (error_info_detail ("API_KEY_INVALID"));
    return e;
  }
  return std::nullopt;
}

}  // namespace gemini::emulator
