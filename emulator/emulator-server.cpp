/* gst-gemini emulator: the HTTP server (SoupServer wiring, routing), the
 * generateContent, ListModels and models.get answers, the request log and
 * the /emulator/ control endpoints. Models, formats and sizes come from the
 * model catalogue (gemini-models.h); the list's entries from
 * emulator-models. The script format is in emulator-script, the request reading
 * in emulator-request, the stolen connections in raw-connection.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator-server.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cassette.h"
#include "emulator-answer.h"
#include "emulator-common.h"
#include "emulator-image.h"
#include "emulator-models.h"
#include "emulator-request.h"
#include "emulator-script.h"
#include "gemini-image.h"
#include "glib-raii.h"
#include "image-encode.h"
#include "raw-connection.h"

namespace gemini::emulator {

namespace {

constexpr char kModelsPath[] = "/v1beta/models";
constexpr char kApiPrefix[] = "/v1beta/models/";
constexpr char kEventStreamType[] = "text/event-stream";
constexpr guint kLogCapacity = 64;
constexpr int kJpegQuality = 90;
constexpr int kTokensPerReference = 258;
constexpr int kThoughtsTokens = 174;
constexpr gsize kSignatureBytes = 3072;

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

/* ------------------------------------------------------------- answers */

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
  const ModelSpec & model;
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
    const int thoughts = model.thinks && with_candidates ? kThoughtsTokens : 0;
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
    json_object_set_string_member (root, "modelVersion", model.id);
    json_object_set_string_member (root, "responseId", make_response_id (seed).c_str ());
    return node_take_object (root);
  }
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
  if (!ex.req.thinking_level.empty ())
    s += " thinkingLevel=" + ex.req.thinking_level;
  if (ex.req.google_search)
    s += " googleSearch";
  return s;
}

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
      GHashTable * query, bool stream = false);
  void handle_models (SoupServerMessage * msg, const std::string & path, const std::string & model,
      GHashTable * query);
  Answer list_models (GHashTable * query, std::string & detail) const;
  void handle_control (SoupServerMessage * msg, const std::string & path);
  std::optional<gsize> peek_step () const;
  const Step *consume_step (gsize & number);
  Answer decide (const Exchange & ex, gsize & step_number);
  Answer answer_for (const Step & step, const Exchange & ex);
  Answer generate (const Step & step, const Exchange & ex);
  Answer image_answer (const Exchange & ex, std::string & error_out, guint drafts = 1);
  Answer broken_image_answer (const Step & step, const Exchange & ex);
  Answer replay_answer (const Step & step) const;
  static void to_sse (Answer & a, const std::string & seed);

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
  const std::string prefix = kApiPrefix;
  if (path == kModelsPath) {
    handle_models (msg, path, "", query);
    return;
  }
  /* models.get: /v1beta/models/{id}, no method suffix. */
  if (path.starts_with (prefix) && path.size () > prefix.size () &&
      path.find_first_of ("/:", prefix.size ()) == std::string::npos) {
    handle_models (msg, path, path.substr (prefix.size ()), query);
    return;
  }
  if (std::optional<GeneratePath> where = parse_generate_path (path)) {
    handle_generate (msg, path, where->model, query, where->stream);
    return;
  }
  respond (msg, json_answer (404, error_body (ApiError {404, "NOT_FOUND", "Method not found.", {}}), "error"));
  log_line (std::string (soup_server_message_get_method (msg)) + " " + path + " -> 404 (unknown path)");
}

/* The index of the step the next generateContent request would take. */
std::optional<gsize>
Server::Impl::peek_step () const
{
  if (next_step < script.steps.size ())
    return next_step;
  if (script.steps.empty ())
    return std::nullopt;
  if (script.then == Then::Cycle)
    return 0;
  if (script.then == Then::Repeat)
    return script.steps.size () - 1;
  return std::nullopt;
}

const Step *
Server::Impl::consume_step (gsize & number)
{
  number = 0;
  const std::optional<gsize> i = peek_step ();
  if (!i)
    return nullptr;
  next_step = *i + 1;
  number = *i + 1;
  return &script.steps[*i];
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
  std::optional<ApiError> refused = check_auth (ex, opts.api_key, opts.access_token);
  /* A retired id is gone, as for Google; but a recording of it still
   * replays, so old cassettes keep working. */
  const auto replays_next = [this] {
    const std::optional<gsize> i = peek_step ();
    return i && script.steps[*i].action == ScriptAction::Replay;
  };
  if (!refused && ex.vertex && (!ex.model || (!serves (*ex.model) && !replays_next ())))
    refused = ApiError {404, "NOT_FOUND", "Publisher Model `" + (ex.project.empty () ? std::string ()
        : "projects/" + ex.project + "/locations/" + ex.location + "/") + "publishers/google/models/"
        + ex.model_name + "` was not found or your project does not have access to it. Please ensure you are "
        "using a valid model version. For more information, see: "
        "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions", {}};
  else if (!refused && (!ex.model || (!serves (*ex.model) && !replays_next ())))
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
  if (step) {
    a.headers.insert (a.headers.end (), step->headers.begin (), step->headers.end ());
    a.sse = step->sse;
  }
  a.delay_ms = step && step->delay_ms ? *step->delay_ms : opts.latency_ms;
  return a;
}

void
Server::Impl::handle_generate (SoupServerMessage * msg, const std::string & path, const std::string & model,
    GHashTable * query, bool stream)
{
  Exchange ex = read_exchange (msg, ++request_counter, path, model, query);
  ex.stream = stream;
  gsize step_number = 0;
  Answer answer;
  const char *alt = query ? static_cast<const char *> (g_hash_table_lookup (query, "alt")) : nullptr;
  if (stream && (!alt || strcmp (alt, "sse") != 0)) {
    /* Without alt=sse Google streams a JSON array; the emulator serves SSE only. */
    answer = error_answer (invalid_argument ("The emulator serves streamGenerateContent with alt=sse only."));
  } else {
    answer = decide (ex, step_number);
    if (stream)
      to_sse (answer, std::string (ex.model ? ex.model->id : "") + "\x1f" + ex.body_text);
  }
  record (msg, ex, answer);

  /* key= says how the request authenticated, never with what. */
  std::string line = "#" + std::to_string (ex.index) + " " + ex.method + " " + path + " model=" + model +
      " key=" + auth_kind (ex) + " " + describe_request (ex);
  if (step_number)
    line += " step=" + std::to_string (step_number) + "/" + std::to_string (script.steps.size ());
  if (answer.delay_ms)
    line += " delay=" + std::to_string (answer.delay_ms) + "ms";
  line += " -> " + (sends_status (answer) ? std::to_string (answer.status) + " " : std::string ()) + answer.kind +
      (answer.detail.empty () ? "" : " " + log_excerpt (answer.detail, 120));
  log_line (line);

  deliver (msg, std::move (answer), ex.index);
}

/* ListModels (GET /v1beta/models) and models.get (GET /v1beta/models/{id}):
 * method, then key, then the answer. Logged like generateContent; they
 * never take a script step. */
void
Server::Impl::handle_models (SoupServerMessage * msg, const std::string & path, const std::string & model,
    GHashTable * query)
{
  Exchange ex = read_exchange (msg, ++request_counter, path, model, query);
  const bool list = model.empty ();
  const char *page_size = query ? static_cast<const char *> (g_hash_table_lookup (query, "pageSize")) : nullptr;
  const char *token = query ? static_cast<const char *> (g_hash_table_lookup (query, "pageToken")) : nullptr;
  Answer answer;
  std::string detail;
  if (ex.method != "GET") {
    answer = error_answer (ApiError {405, "INVALID_ARGUMENT", "Method " + ex.method + " is not allowed for " +
        (list ? "ListModels" : "GetModel") + "; use GET.", {}});
    answer.headers.emplace_back ("Allow", "GET");
  } else if (std::optional<ApiError> refused = check_auth (ex, opts.api_key)) {
    answer = error_answer (*refused);
  } else if (list) {
    answer = list_models (query, detail);
  } else if (const ListedModel *m = find_listed_model (model)) {
    answer = json_answer (200, node_take_object (model_entry (*m)), "get-model");
  } else {
    answer = error_answer (ApiError {404, "NOT_FOUND", "models/" + model + " is not found for API version v1beta.",
        {}});
  }
  if (!detail.empty ())
    answer.detail = detail;

  JsonObject *entry = log_entry (msg, ex);
  json_object_set_string_member (entry, "page_size", page_size ? page_size : "");
  json_object_set_string_member (entry, "page_token", token ? token : "");
  json_object_set_string_member (entry, "answer", answer.kind.c_str ());
  json_object_set_int_member (entry, "status", answer.status);
  log.emplace_back (node_take_object (entry));
  while (log.size () > kLogCapacity)
    log.pop_front ();

  std::string line = "#" + std::to_string (ex.index) + " " + ex.method + " " + path;
  if (page_size)
    line += " pageSize=" + log_excerpt (page_size, 20);
  if (token)
    line += " pageToken=" + log_excerpt (token, 80);
  line += std::string (" key=") + (ex.header_key ? "header" : ex.query_key ? "query" : "none") + " -> " +
      std::to_string (answer.status) + " " + answer.kind +
      (answer.detail.empty () ? "" : " " + log_excerpt (answer.detail, 120));
  log_line (line);
  respond (msg, answer);
}

/* One page of listed_models (): pageSize (default 50, at most 1000, and at
 * most the --list-page-size or script cap) from the pageToken on. */
Answer
Server::Impl::list_models (GHashTable * query, std::string & detail) const
{
  const char *size_text = query ? static_cast<const char *> (g_hash_table_lookup (query, "pageSize")) : nullptr;
  const char *token = query ? static_cast<const char *> (g_hash_table_lookup (query, "pageToken")) : nullptr;
  gint64 size = 0;
  if (size_text) {
    gchar *end = nullptr;
    size = g_ascii_strtoll (size_text, &end, 10);
    if (!*size_text || *end || size < G_MININT32 || size > G_MAXINT32)
      return error_answer (invalid_argument (std::string ("Invalid value at 'page_size' (TYPE_INT32), \"") +
          size_text + "\""));
  }
  guint page = size <= 0 ? kDefaultListPageSize : guint (std::min<gint64> (size, kMaxListPageSize));
  const guint cap = script.list_page_size.value_or (opts.list_page_size);
  if (cap)
    page = std::min (page, cap);
  gsize start = 0;
  if (token && *token) {
    const std::optional<gsize> at = page_token_index (token);
    if (!at)
      return error_answer (invalid_argument ("Invalid page token."));
    start = *at;
  }
  const std::vector<ListedModel> & all = listed_models ();
  const gsize end = std::min (all.size (), start + page);
  JsonArray *models = json_array_new ();
  for (gsize i = start; i < end; i++)
    json_array_add_object_element (models, model_entry (all[i]));
  JsonObject *root = json_object_new ();
  json_object_set_array_member (root, "models", models);
  if (end < all.size ())
    json_object_set_string_member (root, "nextPageToken", page_token (end).c_str ());
  detail = std::to_string (end - start) + " models from #" + std::to_string (start) +
      (end < all.size () ? ", more" : ", last page");
  return json_answer (200, node_take_object (root), "list-models");
}

/* Appends to the /emulator/requests log, which keeps the last kLogCapacity. */
void
Server::Impl::record (SoupServerMessage * msg, const Exchange & ex, const Answer & answer)
{
  JsonObject *entry = log_entry (msg, ex);
  json_object_set_string_member (entry, "aspect_ratio", ex.req.aspect_ratio.c_str ());
  json_object_set_string_member (entry, "image_size", ex.req.image_size.c_str ());
  json_object_set_string_member (entry, "thinking_level", ex.req.thinking_level.c_str ());
  json_object_set_boolean_member (entry, "google_search", ex.req.google_search);
  json_object_set_boolean_member (entry, "include_thoughts", ex.req.include_thoughts);
  json_object_set_boolean_member (entry, "stream", ex.stream);
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
  json_object_set_string_member (entry, "api", ex.vertex ? "vertex" : "gemini");
  json_object_set_string_member (entry, "project", ex.project.c_str ());
  json_object_set_string_member (entry, "location", ex.location.c_str ());
  json_object_set_string_member (entry, "auth", auth_kind (ex));
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
quota_failure_detail (const Step & step, const ModelSpec & model)
{
  return detail_node ("type.googleapis.com/google.rpc.QuotaFailure", [&] (JsonObject * o) {
    JsonObject *v = json_object_new ();
    json_object_set_string_member (v, "quotaMetric",
        "generativelanguage.googleapis.com/generate_content_free_tier_requests");
    json_object_set_string_member (v, "quotaId", step.quota_id.c_str ());
    JsonObject *dims = json_object_new ();
    json_object_set_string_member (dims, "location", "global");
    json_object_set_string_member (dims, "model", model.id);
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
scripted_error (const Step & step, const ModelSpec & model)
{
  const auto [grpc, default_message] = grpc_defaults (step.status);
  ApiError e {step.status, grpc, step.message.value_or (default_message), {}};
  if (step.limit_zero)
    e.message += std::string ("\n* Quota exceeded for metric: generativelanguage.googleapis.com/"
        "generate_content_free_tier_requests, limit: 0, model: ") + model.id;
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
error_step_answer (const Step & step, const ModelSpec & model)
{
  const ApiError e = scripted_error (step, model);
  Answer a;
  if (step.action == ScriptAction::ErrorIn200) {
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
    case ScriptAction::Reset:
      a.transport = Transport::Reset;
      break;
    case ScriptAction::Hang:
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
    case ScriptAction::Error:
    case ScriptAction::ErrorIn200:
      return error_step_answer (step, *ex.model);
    case ScriptAction::Replay:
      return replay_answer (step);
    case ScriptAction::Raw:
      return raw_step_answer (step);
    case ScriptAction::Reset:
    case ScriptAction::Hang:
    case ScriptAction::Endless:
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
  if (step.action == ScriptAction::PromptBlocked) {
    JsonObject *feedback = json_object_new ();
    json_object_set_string_member (feedback, "blockReason", step.reason.c_str ());
    if (step.message)
      json_object_set_string_member (feedback, "blockReasonMessage", step.message->c_str ());
    JsonObject *root = json_object_new ();
    json_object_set_object_member (root, "promptFeedback", feedback);
    json_object_set_object_member (root, "usageMetadata", rb.usage (false));
    json_object_set_string_member (root, "modelVersion", rb.model.id);
    json_object_set_string_member (root, "responseId", make_response_id (rb.seed).c_str ());
    return json_answer (200, node_take_object (root), "prompt-blocked:" + step.reason);
  }
  std::optional<std::string> text = step.text;
  if (step.action == ScriptAction::TextOnly && !text)
    text = "I can't draw that, but here is a story…";
  JsonArray *parts = nullptr;  /* none: "content": {} */
  if (text) {
    parts = json_array_new ();
    json_array_add_object_element (parts, rb.text_part (*text, rb.model.thinks));
  }
  if (step.action == ScriptAction::TextOnly)
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
    case ScriptAction::TextOnly:
    case ScriptAction::Finish:
    case ScriptAction::PromptBlocked: {
      ResponseBuilder rb {*ex.model, ex.req, std::string (ex.model->id) + "\x1f" + ex.body_text};
      return content_step_answer (step, rb);
    }
    case ScriptAction::BadBase64:
    case ScriptAction::BadImage:
    case ScriptAction::Bomb:
      return broken_image_answer (step, ex);
    default:
      break;
  }
  std::string error;
  /* A stream shows its drafts: two unless the step says otherwise. */
  Answer a = image_answer (ex, error, step.sse.drafts.value_or (ex.stream ? 2 : 1));
  if (!error.empty ())
    return error_answer (invalid_argument (error));
  if (step.action == ScriptAction::MalformedJson) {
    a.body.resize (a.body.size () / 2);
    a.kind = "malformed-json";
    a.detail = "cut at " + std::to_string (a.body.size ()) + " B";
  } else if (step.action == ScriptAction::Truncate) {
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
encode_picture (const DecodedImage & img, const ModelSpec & model, Picture & out, std::string & error)
{
  std::string bytes;
  const bool png = output_format (model) == ImageFormat::Png;
  const bool ok = png ? encode_png (img, bytes, error) : encode_jpeg (img, kJpegQuality, bytes, error);
  if (!ok)
    return false;
  out.mime = model.output_mime;
  out.base64 = base64 (bytes);
  out.width = img.width;
  out.height = img.height;
  out.format = png ? "PNG" : "JPEG";
  return true;
}

}  // namespace

Answer
Server::Impl::image_answer (const Exchange & ex, std::string & error, guint drafts)
{
  const ModelSpec & model = *ex.model;
  const GenerateRequest & req = ex.req;
  std::vector<DecodedImage> decoded;
  std::vector<Reference> refs;
  if (req.want_image && !prepare_references (req, decoded, refs, error))
    return {};
  std::string ratio = req.aspect_ratio;
  if (ratio.empty () && !decoded.empty ())
    ratio = closest_aspect_ratio (decoded.front ().width, decoded.front ().height, model.ratios);
  int w = 0, h = 0;
  if (!output_size (model, ratio, req.image_size, w, h, error))
    return {};

  /* Pictures first: nothing to clean up if encoding fails. */
  const bool thoughts = model.thinks && req.include_thoughts;
  Picture final_pic, draft, draft2;
  if (req.want_image) {
    RenderParams rp {req.prompt, model.id, w, h, refs, std::nullopt, ""};
    if (!encode_picture (render_image (rp), model, final_pic, error))
      return {};
    RenderParams dp {req.prompt, model.id, w / 2, h / 2, refs, inverse_color (prompt_color (req.prompt)), "draft"};
    if (thoughts && !encode_picture (render_image (dp), model, draft, error))
      return {};
    /* A stream's second draft: a quarter size, labelled apart. */
    RenderParams dp2 {req.prompt, model.id, std::max (w / 4, 1), std::max (h / 4, 1), refs,
        inverse_color (prompt_color (req.prompt)), "draft 2"};
    if (thoughts && drafts > 1 && !encode_picture (render_image (dp2), model, draft2, error))
      return {};
  }

  ResponseBuilder rb {model, req, std::string (model.id) + "\x1f" + ex.body_text};
  JsonArray *parts = json_array_new ();
  if (thoughts) {
    json_array_add_object_element (parts, rb.text_part ("**Composing the image**\n\nI'm planning a " +
        std::to_string (w) + "x" + std::to_string (h) + " picture of: " + req.prompt, false, true));
    if (req.want_image && drafts > 0)
      json_array_add_object_element (parts, rb.image_part (draft.mime, draft.base64, false, true));
    if (req.want_image && drafts > 1)
      json_array_add_object_element (parts, rb.image_part (draft2.mime, draft2.base64, false, true));
  }
  if (req.want_text)
    json_array_add_object_element (parts, rb.text_part (req.want_image ? "Here is an emulated image of: " +
        req.prompt : "Here is an emulated answer to: " + req.prompt, model.thinks));
  if (req.want_image) {
    json_array_add_object_element (parts, rb.image_part (final_pic.mime, final_pic.base64, model.thinks));
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
  ResponseBuilder rb {*ex.model, ex.req, std::string (ex.model->id) + "\x1f" + ex.body_text};
  std::string data, detail;
  if (step.action == ScriptAction::BadBase64) {
    data = "iVBORw0KGgo!!not*base64@@" + std::string (64, '#');
    detail = "inlineData.data is not base64";
  } else if (step.action == ScriptAction::BadImage) {
    data = base64 (std::string ("\x89PNG\r\n\x1a\n", 8) + pseudo_random_bytes (rb.seed, 2048));
    detail = "PNG signature + 2048 garbage bytes";
  } else {
    data = base64 (png_bomb (guint32 (step.width), guint32 (step.height)));
    detail = "PNG header claims " + std::to_string (step.width) + "x" + std::to_string (step.height);
  }
  JsonArray *parts = json_array_new ();
  if (ex.req.want_text)
    json_array_add_object_element (parts, rb.text_part ("Here is an emulated image of: " + ex.req.prompt,
        ex.model->thinks));
  json_array_add_object_element (parts, rb.image_part ("image/png", data, ex.model->thinks));
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

/* ----------------------------------------------------------- streams */

namespace {

/* One event of a stream: a partial GenerateContentResponse. */
std::string
stream_event (JsonObject * content_or_null, JsonObject * root, const char * finish_reason, const char * finish_message,
    bool usage)
{
  JsonObject *cand = json_object_new ();
  JsonObject *content = content_or_null ? content_or_null : json_object_new ();
  if (!content_or_null)
    json_object_set_string_member (content, "role", "model");
  json_object_set_object_member (cand, "content", content);
  if (finish_reason)
    json_object_set_string_member (cand, "finishReason", finish_reason);
  if (finish_message)
    json_object_set_string_member (cand, "finishMessage", finish_message);
  json_object_set_int_member (cand, "index", 0);
  JsonArray *cands = json_array_new ();
  json_array_add_object_element (cands, cand);
  JsonObject *event = json_object_new ();
  json_object_set_array_member (event, "candidates", cands);
  JsonNode *u = json_object_get_member (root, "usageMetadata");
  if (usage && u)
    json_object_set_member (event, "usageMetadata", json_node_copy (u));
  for (const char *name : {"modelVersion", "responseId"})
    if (JsonNode *n = json_object_get_member (root, name))
      json_object_set_member (event, name, json_node_copy (n));
  JsonNodePtr node (node_take_object (event));
  return to_json (node.get (), false);
}

}  // namespace

/* A 200 JSON answer as streamGenerateContent?alt=sse sends it: one event
 * per part (thoughts first, as they come), then one with the finishReason
 * and usageMetadata. An answer without candidates (an error object, a
 * blocked prompt) is one event. Errors and transport failures are left as
 * they are: they happen before the stream starts. */
void
Server::Impl::to_sse (Answer & a, const std::string & seed)
{
  if (a.transport != Transport::Http || a.status != 200)
    return;
  std::string message;
  JsonNodePtr root = parse_json (a.body.data (), a.body.size (), message);
  JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT (root.get ()) ? json_node_get_object (root.get ()) : nullptr;
  JsonArray *cands = obj ? as_array (json_object_get_member (obj, "candidates")) : nullptr;
  JsonObject *cand = cands && json_array_get_length (cands) > 0 ? as_object (json_array_get_element (cands, 0)) : nullptr;
  if (!cand) {
    /* Malformed on purpose, an error in the 200, a blocked prompt: as is. */
    std::string line = obj ? to_json (root.get (), false) : a.body;
    for (char & c : line)
      if (c == '\n' || c == '\r')
        c = ' ';
    a.events.push_back (std::move (line));
  } else {
    JsonObject *content = as_object (json_object_get_member (cand, "content"));
    JsonArray *parts = content ? as_array (json_object_get_member (content, "parts")) : nullptr;
    const guint n = parts ? json_array_get_length (parts) : 0;
    /* The final image: its signature may be made huge (one event of many MB). */
    gint last_image = -1;
    for (guint i = 0; i < n; i++) {
      JsonObject *p = as_object (json_array_get_element (parts, i));
      JsonNode *t = p ? json_object_get_member (p, "thought") : nullptr;
      if (p && json_object_has_member (p, "inlineData") && !(t && holds_bool (t) && json_node_get_boolean (t)))
        last_image = gint (i);
    }
    for (guint i = 0; i < n; i++) {
      JsonObject *p = as_object (json_array_get_element (parts, i));
      if (p && gint (i) == last_image && a.sse.signature_bytes > 0)
        json_object_set_string_member (p, "thoughtSignature",
            base64 (pseudo_random_bytes (seed + "\x1f" "big", a.sse.signature_bytes)).c_str ());
      JsonArray *one = json_array_new ();
      json_array_add_element (one, json_node_copy (json_array_get_element (parts, i)));
      JsonObject *c = json_object_new ();
      json_object_set_array_member (c, "parts", one);
      json_object_set_string_member (c, "role", "model");
      a.events.push_back (stream_event (c, obj, nullptr, nullptr, false));
    }
    JsonNode *fr = json_object_get_member (cand, "finishReason");
    JsonNode *fm = json_object_get_member (cand, "finishMessage");
    a.events.push_back (stream_event (nullptr, obj, holds_string (fr) ? json_node_get_string (fr) : "STOP",
        holds_string (fm) ? json_node_get_string (fm) : nullptr, true));
  }
  gsize bytes = 0;
  for (const std::string & e : a.events)
    bytes += e.size ();
  a.transport = Transport::Sse;
  a.content_type = kEventStreamType;
  a.body.clear ();
  a.kind = "sse:" + a.kind;
  a.detail += std::string (a.detail.empty () ? "" : ", ") + std::to_string (a.events.size ()) + " events, " +
      std::to_string (bytes) + " B" + (a.sse.cut_at ? ", cut in event " + std::to_string (*a.sse.cut_at) : "");
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
  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  soup_message_body_append_bytes (body, bytes.get ());
  /* A step's "headers" can ask for Transfer-Encoding: chunked, as the API
   * answers: such a body is only sent whole once it is marked complete. */
  if (soup_message_headers_get_encoding (h) == SOUP_ENCODING_CHUNKED)
    soup_message_body_complete (body);
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
    if (script.list_page_size)
      json_object_set_int_member (o, "list_page_size", *script.list_page_size);
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
