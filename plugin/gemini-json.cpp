/* gst-gemini: JSON from the network, parsed without trusting its shape.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-json.h"

#include "glib-raii.h"

namespace gemini {

namespace {

/* "line:column: " of a byte offset, as json-glib words its errors. Only
 * computed on failure, so the pass itself stays one comparison per byte. */
std::string
position (const char *data, gsize offset)
{
  guint line = 1;
  gsize line_start = 0;
  for (gsize i = 0; i < offset; i++) {
    if (data[i] == '\n') {
      line++;
      line_start = i + 1;
    }
  }
  GCharPtr s (g_strdup_printf ("%u:%" G_GSIZE_FORMAT ": ", line, offset - line_start + 1));
  return s.get ();
}

std::string
describe_byte (guchar c)
{
  GCharPtr s (c >= 0x21 && c < 0x7f ? g_strdup_printf ("character `%c'", c) : g_strdup_printf ("byte 0x%02x", c));
  return s.get ();
}

/* The value of four hex digits at `p`, or -1. */
int
hex4 (const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int d = g_ascii_xdigit_value (p[i]);
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Characters JSON has outside strings: whitespace, structure, and those of
 * numbers and of true/false/null (any ASCII letter: json-glib names a wrong
 * word better than we would). */
bool
allowed_outside_strings (guchar c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' || c == '-' || c == '+'
      || c == '.' || g_ascii_isalnum (c);
}

}  // namespace

JsonError
check_json (const char *data, gsize length, guint max_depth, std::string & message)
{
  guint depth = 0;
  gsize i = 0;
  auto fail = [&] (JsonError error, gsize at, const std::string & what) {
    message = position (data, at) + what;
    return error;
  };
  /* A decoder that meets a broken sequence may swallow the '"' after it. */
  const gchar *end = nullptr;
  if (!g_utf8_validate_len (data, length, &end))
    return fail (JsonError::Invalid, end - data, "Parse error: not UTF-8 text");
  while (i < length) {
    const guchar c = data[i];
    if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        GCharPtr what (g_strdup_printf ("nested deeper than %u levels", max_depth));
        return fail (JsonError::TooDeep, i, what.get ());
      }
      i++;
    } else if (c == ']' || c == '}') {
      /* A stray closer is json-glib's to report; never count below 0. */
      if (depth > 0)
        depth--;
      i++;
    } else if (c == '"') {
      /* A string: it ends exactly where json-glib ends it, because every
       * escape accepted here is one it reads the same way. */
      for (i++;; i++) {
        if (i >= length)
          return JsonError::None;  /* unterminated: json-glib says so */
        const guchar s = data[i];
        if (s == '"')
          break;
        if (s < 0x20)
          return fail (JsonError::Invalid, i, "Parse error: unescaped " + describe_byte (s) + " in a string");
        if (s != '\\')
          continue;
        const gsize escape = i;
        if (++i >= length)
          return JsonError::None;
        switch (data[i]) {
          case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            continue;
          case 'u':
            break;
          default:
            return fail (JsonError::Invalid, escape, "Parse error: invalid escape in a string");
        }
        const int unit = length - i >= 5 ? hex4 (data + i + 1) : -1;
        if (unit < 0)
          return fail (JsonError::Invalid, escape, "Parse error: invalid \\u escape in a string");
        i += 4;
        if (unit >= 0xDC00 && unit <= 0xDFFF)
          return fail (JsonError::Invalid, escape, "Parse error: unpaired surrogate escape in a string");
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          /* Only a low surrogate may follow: json-glib reads on for one. */
          const int low = (length - i > 6 && data[i + 1] == '\\' && data[i + 2] == 'u') ? hex4 (data + i + 3) : -1;
          if (low < 0xDC00 || low > 0xDFFF)
            return fail (JsonError::Invalid, escape, "Parse error: unpaired surrogate escape in a string");
          i += 6;
        }
      }
      i++;
    } else if (allowed_outside_strings (c)) {
      i++;
    } else {
      /* Notably '/' and '\'': json-glib reads comments and single-quoted
       * strings, inside which a '"' would put us out of step with it. */
      return fail (JsonError::Invalid, i, "Parse error: unexpected " + describe_byte (c) + " outside a string");
    }
  }
  return JsonError::None;
}

JsonNodePtr
parse_json (const char *data, gsize length, std::string & message, JsonError *error)
{
  JsonError dummy;
  JsonError & e = error ? *error : dummy;
  if (!data || length == 0) {
    e = JsonError::Empty;
    message = "empty document";
    return nullptr;
  }
  e = check_json (data, length, kMaxJsonDepth, message);
  if (e != JsonError::None)
    return nullptr;
  GObjectPtr<JsonParser> parser (json_parser_new ());
  GErrorPtr err;
  if (!json_parser_load_from_data (parser.get (), data, static_cast<gssize> (length), out_error (err))) {
    e = JsonError::Invalid;
    message = err ? err->message : "invalid JSON";
    /* "<data>:1:14: Parse error: ..." -> "1:14: Parse error: ..." */
    if (message.starts_with ("<data>:"))
      message.erase (0, 7);
    return nullptr;
  }
  JsonNode *root = json_parser_get_root (parser.get ());
  if (!root) {
    /* Whitespace only. */
    e = JsonError::Empty;
    message = "empty document";
    return nullptr;
  }
  e = JsonError::None;
  return JsonNodePtr (json_node_ref (root));
}

}  // namespace gemini
