/* gst-gemini emulator: reading and validating a script.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator-script.h"

#include <cstring>
#include <string_view>
#include <utility>

namespace gemini::emulator {

const char *
then_name (Then t)
{
  switch (t) {
    case Then::Repeat: return "repeat";
    case Then::Cycle: return "cycle";
    default: return "default";
  }
}

namespace {

struct ActionSpec {
  const char *name;
  ScriptAction action;
  const char *keys;  /* space-separated parameters besides the common ones */
};

constexpr ActionSpec kActions[] = {
  {"image", ScriptAction::Image, ""},
  {"text-only", ScriptAction::TextOnly, "text"},
  {"finish", ScriptAction::Finish, "reason message text"},
  {"prompt-blocked", ScriptAction::PromptBlocked, "reason message"},
  {"error", ScriptAction::Error, "status message retry_delay quota_id limit_zero retry_after"},
  {"error-in-200", ScriptAction::ErrorIn200, "status message retry_delay quota_id limit_zero retry_after"},
  {"replay", ScriptAction::Replay, "file interaction"},
  {"raw", ScriptAction::Raw, "status content_type body"},
  {"malformed-json", ScriptAction::MalformedJson, ""},
  {"bad-base64", ScriptAction::BadBase64, ""},
  {"bad-image", ScriptAction::BadImage, ""},
  {"bomb", ScriptAction::Bomb, "width height"},
  {"reset", ScriptAction::Reset, ""},
  {"truncate", ScriptAction::Truncate, "bytes"},
  {"hang", ScriptAction::Hang, ""},
  {"endless", ScriptAction::Endless, "chunk_bytes interval_ms"},
  {"stream", ScriptAction::Stream,
   "first_event_ms gap_ms write_bytes write_gap_ms cut_at separator signature_bytes drafts"},
};
constexpr char kCommonKeys[] = "do delay_ms headers comment";

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
    case ScriptAction::TextOnly:
      return r.optional_string ("text", s.text, error);
    case ScriptAction::Finish:
      s.reason = "NO_IMAGE";
      return r.string ("reason", s.reason, error) && r.optional_string ("message", s.message, error) &&
          r.optional_string ("text", s.text, error);
    case ScriptAction::PromptBlocked:
      s.reason = "PROHIBITED_CONTENT";
      return r.string ("reason", s.reason, error) && r.optional_string ("message", s.message, error);
    case ScriptAction::Error:
    case ScriptAction::ErrorIn200:
      return read_error_params (r, s, error);
    case ScriptAction::Replay:
      return read_replay_params (r, s, load, error);
    case ScriptAction::Raw:
      v = 200;
      s.content_type = kJsonType;
      if (!r.number ("status", 100, 599, v, error) || !r.string ("content_type", s.content_type, error) ||
          !r.string ("body", s.body, error))
        return false;
      s.status = guint (v);
      return true;
    case ScriptAction::Bomb:
      return r.number ("width", 1, G_MAXINT32, s.width, error) &&
          r.number ("height", 1, G_MAXINT32, s.height, error);
    case ScriptAction::Truncate:
      if (!r.has ("bytes"))
        return true;
      if (!r.number ("bytes", 0, G_MAXINT64, v, error))
        return false;
      s.bytes = v;
      return true;
    case ScriptAction::Endless: {
      guint64 chunk = s.chunk_bytes, interval = s.interval_ms;
      if (!r.number ("chunk_bytes", 1, 16 * 1024 * 1024, chunk, error) ||
          !r.number ("interval_ms", 0, 60000, interval, error))
        return false;
      s.chunk_bytes = guint (chunk);
      s.interval_ms = guint (interval);
      return true;
    }
    case ScriptAction::Stream: {
      guint64 first = 0, gap = 0, bytes = 0, write_gap = 0, signature = 0;
      std::string sep = "crlf";
      if (!r.number ("first_event_ms", 0, 3600000, first, error) || !r.number ("gap_ms", 0, 3600000, gap, error) ||
          !r.number ("write_bytes", 0, 16 * 1024 * 1024, bytes, error) ||
          !r.number ("write_gap_ms", 0, 60000, write_gap, error) ||
          !r.number ("signature_bytes", 0, 64 * 1024 * 1024, signature, error) ||
          !r.string ("separator", sep, error))
        return false;
      if (r.has ("cut_at")) {
        if (!r.number ("cut_at", 0, 1000, v, error))
          return false;
        s.sse.cut_at = guint (v);
      }
      if (r.has ("drafts")) {
        if (!r.number ("drafts", 0, 4, v, error))
          return false;
        s.sse.drafts = guint (v);
      }
      if (sep == "crlf") {
        s.sse.separator = "\r\n";
      } else if (sep == "lf") {
        s.sse.separator = "\n";
      } else if (sep == "cr") {
        s.sse.separator = "\r";
      } else {
        error = r.where () + ": \"separator\" must be \"crlf\", \"lf\" or \"cr\"";
        return false;
      }
      s.sse.first_event_ms = guint (first);
      s.sse.gap_ms = guint (gap);
      s.sse.write_bytes = guint (bytes);
      s.sse.write_gap_ms = guint (write_gap);
      s.sse.signature_bytes = signature;
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

}  // namespace

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
    if (JsonNode *cap = json_object_get_member (obj, "list_page_size")) {
      if (!holds_int (cap) || json_node_get_int (cap) < 1 || json_node_get_int (cap) > 1000) {
        error = "\"list_page_size\" must be a number from 1 to 1000";
        return false;
      }
      script.list_page_size = guint (json_node_get_int (cap));
    }
    GList *keys = json_object_get_members (obj);
    for (GList *l = keys; l; l = l->next)
      if (!word_in ("steps then comment list_page_size", static_cast<const char *> (l->data)))
        error = std::string ("unknown script member \"") + static_cast<const char *> (l->data) + "\"";
    g_list_free (keys);
    if (!error.empty ())
      return false;
  } else if (!steps) {
    error = "a script is {\"steps\": [...], \"then\": \"default\"|\"repeat\"|\"cycle\", \"list_page_size\": N} "
        "or an array of steps";
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

}  // namespace gemini::emulator
