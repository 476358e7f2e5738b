/* gst-gemini: JSON from the network, parsed without trusting its shape.
 *
 * json-glib's parser is recursive: about 80,000 nested '[' overflow a
 * thread's stack. Every document that arrives from outside (Gemini's
 * answers in the plugin, request bodies and scripts in the emulator) goes
 * through parse_json () here, which first checks the nesting in one linear
 * pass, and the json-glib owners live here too, for the plugin, the
 * emulator and the tests alike.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gemini {

struct JsonNodeUnref {
  void operator() (JsonNode * n) const { if (n) json_node_unref (n); }
};
struct JsonObjectUnref {
  void operator() (JsonObject * o) const { if (o) json_object_unref (o); }
};
struct JsonArrayUnref {
  void operator() (JsonArray * a) const { if (a) json_array_unref (a); }
};
using JsonNodePtr = std::unique_ptr<JsonNode, JsonNodeUnref>;
using JsonObjectPtr = std::unique_ptr<JsonObject, JsonObjectUnref>;
using JsonArrayPtr = std::unique_ptr<JsonArray, JsonArrayUnref>;

/* Deepest nesting of arrays and objects accepted from outside. Gemini's
 * answers are under 20 deep; json-glib parses 512 levels on a 64 KiB
 * thread stack. */
inline constexpr guint kMaxJsonDepth = 512;

enum class JsonError {
  None,
  Empty,     /* no bytes at all */
  TooDeep,   /* arrays and objects nested deeper than the limit */
  Invalid,   /* not JSON (from the pre-check or from json-glib) */
};

/* The linear pass parse_json () runs before json-glib: counts nesting
 * outside strings and refuses what would make its idea of where strings
 * are differ from json-glib's. That is anything outside RFC 8259 in the
 * lexical layer: text that is not UTF-8, characters JSON does not use
 * outside strings (json-glib also reads comments and single-quoted
 * strings), escapes other than JSON's own, unpaired surrogates, raw control
 * characters in strings.
 * Does not check the grammar: json-glib does. On failure, `message` says
 * what and where ("1:513: nested deeper than 512 levels"). */
JsonError check_json (const char *data, gsize length, guint max_depth, std::string & message);

/* Long string values that parse_json () leaves in the document instead of
 * json-glib's tree, which would copy each twice (its scanner's buffer, then
 * the node): the base64 of images and the thought signatures of Gemini's
 * answers, megabytes each. Lifted are the values of "data",
 * "thoughtSignature" and "thought_signature" of kLiftMinLength bytes or
 * more that are printable ASCII (no DEL) without escapes, so that their JSON text is
 * their value. The tree holds a stand-in: U+0001 and the value's index (a
 * document that itself has a U+0001 escape gets nothing lifted). Valid as
 * long as the document's bytes are. */
inline constexpr gsize kLiftMinLength = 4096;
inline constexpr int kLiftMark = 0x0001;

class LiftedStrings {
 public:
  struct Span {
    gsize offset;
    gsize length;
  };
  /* The value a string from the tree stands for: its span of the document
   * for a stand-in (not NUL-terminated), else the string itself. */
  std::string_view value (const char *s) const;
  /* JSON text json-glib generated from (part of) the tree, with the values
   * put back in place of the stand-ins. */
  std::string restore (std::string_view json) const;
  gsize count () const { return spans_.size (); }
  /* Values this long or longer are lifted; lower only to test and fuzz. */
  gsize min_length = kLiftMinLength;

 private:
  friend JsonNodePtr parse_json (const char *, gsize, std::string &, JsonError *, LiftedStrings *);
  const char *document_ = nullptr;
  std::vector<Span> spans_;
};

/* What scan_json () found to lift. */
struct LiftScan {
  gsize min_length = kLiftMinLength;
  std::vector<LiftedStrings::Span> spans;
  bool mark_seen = false;   /* an escaped U+0001: lift nothing */
};

/* check_json (), and with `lift` the values to lift. */
JsonError scan_json (const char *data, gsize length, guint max_depth, std::string & message, LiftScan *lift);

/* Parses an untrusted document: check_json () with kMaxJsonDepth, then
 * json-glib. Returns nullptr on failure and sets `message` ("empty
 * document", "1:513: nested deeper than 512 levels", "1:14: Parse error:
 * unexpected character ...") and, if given, `error`. With `lifted`, long
 * values are lifted (above) and `lifted` tells them; errors are the same
 * either way. */
JsonNodePtr parse_json (const char *data, gsize length, std::string & message, JsonError *error = nullptr,
    LiftedStrings *lifted = nullptr);

}  // namespace gemini
