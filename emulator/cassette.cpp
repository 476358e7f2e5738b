/* gst-gemini emulator: VCR.py YAML cassette reader (libyaml events -> json-glib).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cassette.h"

#include <yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "glib-raii.h"

namespace gemini::emulator {

namespace {

constexpr char kStrTag[] = "tag:yaml.org,2002:str";

JsonNode *
new_string_node (std::string_view s)
{
  JsonNode *node = json_node_alloc ();
  /* json_node_init_string needs a NUL-terminated copy anyway. */
  std::string copy (s);
  return json_node_init_string (node, copy.c_str ());
}

bool
is_one_of (std::string_view s, std::initializer_list<std::string_view> words)
{
  for (auto w : words)
    if (s == w)
      return true;
  return false;
}

/* Plain decimal or 0x integer, within gint64 (others stay strings). */
std::optional<gint64>
parse_int (std::string_view s)
{
  bool negative = false;
  if (!s.empty () && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix (1);
  }
  int base = 10;
  if (s.size () > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix (2);
  }
  if (s.empty ())
    return std::nullopt;
  for (char c : s)
    if (!(base == 16 ? g_ascii_isxdigit (c) : g_ascii_isdigit (c)))
      return std::nullopt;
  std::string digits (s);
  errno = 0;
  char *end = nullptr;
  guint64 v = g_ascii_strtoull (digits.c_str (), &end, base);
  if (errno != 0 || *end != '\0')
    return std::nullopt;
  constexpr guint64 kMaxMagnitude = static_cast<guint64> (G_MAXINT64);
  if (!negative)
    return v <= kMaxMagnitude ? std::optional<gint64> (static_cast<gint64> (v)) : std::nullopt;
  if (v == kMaxMagnitude + 1)
    return G_MININT64;
  return v <= kMaxMagnitude ? std::optional<gint64> (-static_cast<gint64> (v)) : std::nullopt;
}

/* [-+]? ( .digits | digits[.digits*] ) ([eE][-+]?digits)?, with a '.' or an exponent. */
std::optional<double>
parse_float (std::string_view s)
{
  std::size_t i = 0;
  if (i < s.size () && (s[i] == '-' || s[i] == '+'))
    i++;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < s.size () && g_ascii_isdigit (s[i]))
    i++, int_digits++;
  bool dot = i < s.size () && s[i] == '.';
  if (dot) {
    i++;
    while (i < s.size () && g_ascii_isdigit (s[i]))
      i++, frac_digits++;
  }
  if (int_digits + frac_digits == 0)
    return std::nullopt;
  bool exponent = i < s.size () && (s[i] == 'e' || s[i] == 'E');
  if (exponent) {
    i++;
    if (i < s.size () && (s[i] == '-' || s[i] == '+'))
      i++;
    std::size_t exp_digits = 0;
    while (i < s.size () && g_ascii_isdigit (s[i]))
      i++, exp_digits++;
    if (exp_digits == 0)
      return std::nullopt;
  }
  if (i != s.size () || (!dot && !exponent))
    return std::nullopt;
  std::string copy (s);
  double v = g_ascii_strtod (copy.c_str (), nullptr);
  if (!std::isfinite (v))
    return std::nullopt;
  return v;
}

/* Resolves a plain (unquoted) scalar. Numbers are never longer than this;
 * the check keeps MB-long base64 scalars on the fast path. */
constexpr std::size_t kMaxNumberLength = 64;

JsonNode *
resolve_plain_scalar (std::string_view s)
{
  if (s.empty () || is_one_of (s, {"~", "null", "Null", "NULL"}))
    return json_node_init_null (json_node_alloc ());
  if (is_one_of (s, {"true", "True", "TRUE"}))
    return json_node_init_boolean (json_node_alloc (), TRUE);
  if (is_one_of (s, {"false", "False", "FALSE"}))
    return json_node_init_boolean (json_node_alloc (), FALSE);
  if (s.size () <= kMaxNumberLength) {
    if (auto i = parse_int (s))
      return json_node_init_int (json_node_alloc (), *i);
    if (auto d = parse_float (s))
      return json_node_init_double (json_node_alloc (), *d);
  }
  return new_string_node (s);
}

JsonNode *
scalar_to_json (const yaml_event_t & ev)
{
  std::string_view value (reinterpret_cast<const char *> (ev.data.scalar.value),
      ev.data.scalar.length);
  const char *tag = reinterpret_cast<const char *> (ev.data.scalar.tag);
  bool forced_string = tag && (strcmp (tag, kStrTag) == 0 || strcmp (tag, "!") == 0);
  if (ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE || forced_string)
    return new_string_node (value);
  return resolve_plain_scalar (value);
}

struct YamlParser {
  yaml_parser_t parser;
  YamlParser () { yaml_parser_initialize (&parser); }
  ~YamlParser () { yaml_parser_delete (&parser); }
  YamlParser (const YamlParser &) = delete;
  YamlParser & operator= (const YamlParser &) = delete;
};

struct YamlEvent {
  yaml_event_t ev {};
  bool valid = false;
  ~YamlEvent () { reset (); }
  void reset () { if (valid) yaml_event_delete (&ev); valid = false; }
};

/* Builds the JSON tree from the event stream. Containers are linked into
 * their parent as soon as they start, so the tree always has one owner. */
class TreeBuilder {
public:
  bool add_scalar (const yaml_event_t & ev, std::string & error)
  {
    if (expecting_key ()) {
      stack_.back ().key.assign (reinterpret_cast<const char *> (ev.data.scalar.value),
          ev.data.scalar.length);
      stack_.back ().has_key = true;
      return true;
    }
    JsonNode *node = scalar_to_json (ev);
    remember_anchor (ev.data.scalar.anchor, node);
    return attach (node, error);
  }

  bool start_container (bool mapping, const yaml_char_t * anchor, std::string & error)
  {
    if (expecting_key ()) {
      error = "complex (non-scalar) mapping keys are not supported";
      return false;
    }
    JsonNode *node = json_node_alloc ();
    if (mapping) {
      JsonObjectPtr obj (json_object_new ());
      json_node_init_object (node, obj.get ());
    } else {
      JsonArrayPtr arr (json_array_new ());
      json_node_init_array (node, arr.get ());
    }
    remember_anchor (anchor, node);
    if (!attach (node, error))
      return false;
    stack_.push_back (Frame {node, {}, false});
    return true;
  }

  void end_container () { if (!stack_.empty ()) stack_.pop_back (); }

  bool add_alias (const yaml_event_t & ev, std::string & error)
  {
    std::string name (reinterpret_cast<const char *> (ev.data.alias.anchor));
    auto it = anchors_.find (name);
    if (it == anchors_.end ()) {
      error = "unknown alias *" + name;
      return false;
    }
    if (expecting_key ()) {
      if (!JSON_NODE_HOLDS_VALUE (it->second)) {
        error = "alias *" + name + " used as a mapping key is not a scalar";
        return false;
      }
      const char *s = json_node_get_string (it->second);
      stack_.back ().key = s ? s : "";
      stack_.back ().has_key = true;
      return true;
    }
    return attach (json_node_copy (it->second), error);
  }

  bool complete () const { return root_ && stack_.empty (); }
  JsonNodePtr take_root () { return std::move (root_); }

private:
  struct Frame {
    JsonNode *node;  /* borrowed: owned by its parent or by root_ */
    std::string key;
    bool has_key;
  };

  bool expecting_key () const
  {
    return !stack_.empty () && JSON_NODE_HOLDS_OBJECT (stack_.back ().node) &&
        !stack_.back ().has_key;
  }

  void remember_anchor (const yaml_char_t * anchor, JsonNode * node)
  {
    if (anchor)
      anchors_[reinterpret_cast<const char *> (anchor)] = node;
  }

  /* Takes ownership of `node`. */
  bool attach (JsonNode * node, std::string & error)
  {
    if (stack_.empty ()) {
      if (root_) {
        json_node_unref (node);
        error = "more than one root node";
        return false;
      }
      root_.reset (node);
      return true;
    }
    Frame & top = stack_.back ();
    if (JSON_NODE_HOLDS_ARRAY (top.node)) {
      json_array_add_element (json_node_get_array (top.node), node);
    } else {
      json_object_set_member (json_node_get_object (top.node), top.key.c_str (), node);
      top.has_key = false;
    }
    return true;
  }

  JsonNodePtr root_;
  std::vector<Frame> stack_;
  std::unordered_map<std::string, JsonNode *> anchors_;  /* borrowed */
};

std::string
yaml_problem (const yaml_parser_t & p)
{
  std::string msg = p.problem ? p.problem : "YAML syntax error";
  if (p.context)
    msg = std::string (p.context) + ": " + msg;
  return msg + " at line " + std::to_string (p.problem_mark.line + 1) + ", column " +
      std::to_string (p.problem_mark.column + 1);
}

bool
handle_event (TreeBuilder & tree, const yaml_event_t & ev, bool & done, std::string & error)
{
  switch (ev.type) {
    case YAML_SCALAR_EVENT:
      return tree.add_scalar (ev, error);
    case YAML_SEQUENCE_START_EVENT:
      return tree.start_container (false, ev.data.sequence_start.anchor, error);
    case YAML_MAPPING_START_EVENT:
      return tree.start_container (true, ev.data.mapping_start.anchor, error);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      tree.end_container ();
      return true;
    case YAML_ALIAS_EVENT:
      return tree.add_alias (ev, error);
    case YAML_DOCUMENT_END_EVENT:
    case YAML_STREAM_END_EVENT:
      done = true;  /* only the first document is used */
      return true;
    default:
      return true;
  }
}

/* ---- cassette structure ---- */

JsonObject *
object_member (JsonObject * obj, const char * name)
{
  if (!obj || !json_object_has_member (obj, name))
    return nullptr;
  JsonNode *n = json_object_get_member (obj, name);
  return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : nullptr;
}

std::string
scalar_text (JsonNode * n)
{
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return {};
  switch (json_node_get_value_type (n)) {
    case G_TYPE_STRING:
      return json_node_get_string (n);
    case G_TYPE_INT64:
      return std::to_string (json_node_get_int (n));
    case G_TYPE_BOOLEAN:
      return json_node_get_boolean (n) ? "true" : "false";
    case G_TYPE_DOUBLE: {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      return g_ascii_dtostr (buf, sizeof buf, json_node_get_double (n));
    }
    default:
      return {};
  }
}

std::string
string_member (JsonObject * obj, const char * name)
{
  if (!obj || !json_object_has_member (obj, name))
    return {};
  return scalar_text (json_object_get_member (obj, name));
}

/* VCR stores bodies either as `parsed_body` (pydantic-ai's serializer) or as
 * `body: {string: "..."}` / `body: "..."`. */
JsonNodePtr
body_of (JsonObject * side)
{
  if (!side)
    return nullptr;
  if (json_object_has_member (side, "parsed_body"))
    return JsonNodePtr (json_node_copy (json_object_get_member (side, "parsed_body")));
  if (!json_object_has_member (side, "body"))
    return nullptr;
  JsonNode *body = json_object_get_member (side, "body");
  if (JSON_NODE_HOLDS_OBJECT (body))
    body = json_object_get_member (json_node_get_object (body), "string");
  std::string text = scalar_text (body);
  if (text.empty ())
    return nullptr;
  std::string error;
  return parse_json (text.data (), text.size (), error);
}

guint
status_of (JsonObject * response)
{
  if (!response || !json_object_has_member (response, "status"))
    return 0;
  JsonNode *status = json_object_get_member (response, "status");
  if (JSON_NODE_HOLDS_OBJECT (status))
    status = json_object_get_member (json_node_get_object (status), "code");
  if (!status || !JSON_NODE_HOLDS_VALUE (status) ||
      json_node_get_value_type (status) != G_TYPE_INT64)
    return 0;
  return static_cast<guint> (json_node_get_int (status));
}

void
headers_of (JsonObject * response, std::vector<std::pair<std::string, std::string>> & out)
{
  JsonObject *headers = object_member (response, "headers");
  if (!headers)
    return;
  GList *names = json_object_get_members (headers);
  for (GList *l = names; l; l = l->next) {
    const char *name = static_cast<const char *> (l->data);
    JsonNode *v = json_object_get_member (headers, name);
    if (JSON_NODE_HOLDS_ARRAY (v)) {
      JsonArray *arr = json_node_get_array (v);
      for (guint i = 0; i < json_array_get_length (arr); i++)
        out.emplace_back (name, scalar_text (json_array_get_element (arr, i)));
    } else {
      out.emplace_back (name, scalar_text (v));
    }
  }
  g_list_free (names);
}

bool
interaction_from_json (JsonNode * node, guint index, Interaction & out, std::string & error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    error = "interaction " + std::to_string (index) + " is not a mapping";
    return false;
  }
  JsonObject *obj = json_node_get_object (node);
  JsonObject *request = object_member (obj, "request");
  JsonObject *response = object_member (obj, "response");
  if (!request || !response) {
    error = "interaction " + std::to_string (index) + " lacks a request or a response";
    return false;
  }
  out.method = string_member (request, "method");
  out.uri = string_member (request, "uri");
  out.request_body = body_of (request);
  out.status = status_of (response);
  headers_of (response, out.response_headers);
  out.response_body = body_of (response);
  return true;
}

}  // namespace

const char *
Interaction::response_header (const char * name) const
{
  for (const auto & [n, v] : response_headers)
    if (g_ascii_strcasecmp (n.c_str (), name) == 0)
      return v.c_str ();
  return nullptr;
}

JsonNodePtr
yaml_to_json (const char * data, gsize size, std::string & error)
{
  YamlParser p;
  yaml_parser_set_input_string (&p.parser, reinterpret_cast<const unsigned char *> (data), size);
  TreeBuilder tree;
  bool done = false;
  while (!done) {
    YamlEvent ev;
    if (!yaml_parser_parse (&p.parser, &ev.ev)) {
      error = yaml_problem (p.parser);
      return nullptr;
    }
    ev.valid = true;
    if (!handle_event (tree, ev.ev, done, error))
      return nullptr;
  }
  if (!tree.complete ()) {
    error = "the YAML stream holds no document";
    return nullptr;
  }
  return tree.take_root ();
}

bool
load_cassette_from_data (const char * data, gsize size, std::vector<Interaction> & out,
    std::string & error)
{
  JsonNodePtr root = yaml_to_json (data, size, error);
  if (!root)
    return false;
  JsonObject *top = JSON_NODE_HOLDS_OBJECT (root.get ()) ? json_node_get_object (root.get ()) : nullptr;
  JsonNode *list = top && json_object_has_member (top, "interactions")
      ? json_object_get_member (top, "interactions") : nullptr;
  if (!list || !JSON_NODE_HOLDS_ARRAY (list)) {
    error = "not a VCR cassette: no `interactions` list";
    return false;
  }
  JsonArray *arr = json_node_get_array (list);
  std::vector<Interaction> result (json_array_get_length (arr));
  for (guint i = 0; i < result.size (); i++)
    if (!interaction_from_json (json_array_get_element (arr, i), i, result[i], error))
      return false;
  out = std::move (result);
  return true;
}

bool
load_cassette (const std::string & path, std::vector<Interaction> & out, std::string & error)
{
  GErrorPtr err;
  GMappedFile *mapped = g_mapped_file_new (path.c_str (), FALSE, out_error (err));
  if (!mapped) {
    error = err->message;
    return false;
  }
  std::unique_ptr<GMappedFile, decltype (&g_mapped_file_unref)> owner (mapped, g_mapped_file_unref);
  bool ok = load_cassette_from_data (g_mapped_file_get_contents (mapped),
      g_mapped_file_get_length (mapped), out, error);
  if (!ok)
    error = path + ": " + error;
  return ok;
}

}  // namespace gemini::emulator
