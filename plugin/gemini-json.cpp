/* gst-gemini: JSON from the network, parsed without trusting its shape.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-json.h"

#include <algorithm>
#include <cstring>

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

/* Eight bytes at once: non-zero when one of them needs a look of its own
 * in a string ('"', '\\', a control character, DEL, which json-glib writes
 * escaped, or a byte of 0x80 or more, to validate). Zero for a word of
 * printable ASCII, which is almost every word of the megabytes of base64
 * in an image answer. */
inline guint64
string_stops (guint64 w)
{
  constexpr guint64 ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  auto zero_byte = [] (guint64 v) { return (v - ones) & ~v & highs; };
  return zero_byte (w ^ (ones * '"')) | zero_byte (w ^ (ones * '\\')) | ((w - ones * 0x20) & ~w & highs)
      | zero_byte (w ^ (ones * 0x7f)) | (w & highs);
}

/* g_utf8_validate_len (), with the same verdict and `end`, eight ASCII
 * bytes at a time: it takes one byte at a time, a millisecond for the 2 MB
 * of an image answer. Each run of non-ASCII bytes goes to GLib: a sequence
 * cannot span ASCII, so the runs hold whole sequences or the first error. */
bool
validate_utf8 (const char *data, gsize length, const gchar **end)
{
  constexpr guint64 ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  gsize i = 0;
  while (i < length) {
    while (length - i >= 8) {
      guint64 w;
      memcpy (&w, data + i, 8);
      /* A non-ASCII byte, or a NUL (which GLib refuses). */
      if ((w & highs) || ((w - ones) & ~w & highs))
        break;
      i += 8;
    }
    if (i >= length)
      break;
    const guchar c = data[i];
    if (c == 0) {
      *end = data + i;
      return false;
    }
    if (c < 0x80) {
      i++;
      continue;
    }
    gsize run = i + 1;
    while (run < length && static_cast<guchar> (data[run]) >= 0x80)
      run++;
    if (!g_utf8_validate_len (data + i, run - i, end))
      return false;
    i = run;
  }
  *end = data + length;
  return true;
}

/* The keys whose long values are lifted: base64 image data and the thought
 * signatures sent back in edit-mode. */
bool
liftable_key (const char *key, gsize len)
{
  auto is = [&] (const char *name) { return len == strlen (name) && memcmp (key, name, len) == 0; };
  return is ("data") || is ("thoughtSignature") || is ("thought_signature");
}

}  // namespace

/* check_json () and, with `lift`, the long string values parse_json () may
 * leave out of json-glib's tree. */
JsonError
scan_json (const char *data, gsize length, guint max_depth, std::string & message, LiftScan *lift)
{
  guint depth = 0;
  gsize i = 0;
  /* Text that is not UTF-8 is refused first, wherever it is (a decoder
   * that meets a broken sequence may swallow the '"' after it). A success
   * has validated every byte on the way (answers are megabytes, and each
   * pass over them costs more than its arithmetic); a failure checks the
   * whole text first. */
  auto fail = [&] (JsonError error, gsize at, const std::string & what) {
    const gchar *end = nullptr;
    if (!validate_utf8 (data, length, &end)) {
      message = position (data, end - data) + "Parse error: not UTF-8 text";
      return JsonError::Invalid;
    }
    message = position (data, at) + what;
    return error;
  };
  /* For lifting: the last key seen and whether a ':' came after it. */
  gsize key_start = 0, key_len = 0;
  bool after_colon = false;
  while (i < length) {
    const guchar c = data[i];
    if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        GCharPtr what (g_strdup_printf ("nested deeper than %u levels", max_depth));
        return fail (JsonError::TooDeep, i, what.get ());
      }
      after_colon = false;
      i++;
    } else if (c == ']' || c == '}') {
      /* A stray closer is json-glib's to report; never count below 0. */
      if (depth > 0)
        depth--;
      after_colon = false;
      i++;
    } else if (c == '"') {
      /* A string: it ends exactly where json-glib ends it, because every
       * escape accepted here is one it reads the same way. */
      const gsize start = i + 1;
      bool plain = true;   /* printable ASCII, no escape: the text is the value */
      for (i++;; i++) {
        while (length - i >= 8) {
          guint64 w;
          memcpy (&w, data + i, 8);
          if (string_stops (w))
            break;
          i += 8;
        }
        if (i >= length)
          return JsonError::None;  /* unterminated: json-glib says so */
        const guchar s = data[i];
        if (s == '"')
          break;
        if (s < 0x20)
          return fail (JsonError::Invalid, i, "Parse error: unescaped " + describe_byte (s) + " in a string");
        if (s >= 0x80) {
          /* A run of non-ASCII bytes holds whole sequences or an error. */
          gsize run = i + 1;
          while (run < length && static_cast<guchar> (data[run]) >= 0x80)
            run++;
          if (!g_utf8_validate_len (data + i, run - i, nullptr))
            return fail (JsonError::Invalid, i, "Parse error: not UTF-8 text");
          plain = false;
          i = run - 1;
          continue;
        }
        if (s == 0x7f)
          plain = false;
        if (s != '\\')
          continue;
        plain = false;
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
        if (unit == kLiftMark && lift)
          lift->mark_seen = true;
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
      const gsize len = i - start;
      i++;
      if (lift) {
        if (after_colon && plain && len >= lift->min_length && liftable_key (data + key_start, key_len)) {
          lift->spans.push_back ({start, len});
        } else {
          /* A key if a ':' follows. */
          gsize j = i;
          while (j < length && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r'))
            j++;
          if (j < length && data[j] == ':') {
            key_start = start;
            key_len = len;
          }
        }
        after_colon = false;
      }
    } else if (allowed_outside_strings (c)) {
      if (c == ':')
        after_colon = true;
      else if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        after_colon = false;
      i++;
    } else {
      /* Notably '/' and '\'': json-glib reads comments and single-quoted
       * strings, inside which a '"' would put us out of step with it. */
      return fail (JsonError::Invalid, i, "Parse error: unexpected " + describe_byte (c) + " outside a string");
    }
  }
  return JsonError::None;
}

JsonError
check_json (const char *data, gsize length, guint max_depth, std::string & message)
{
  return scan_json (data, length, max_depth, message, nullptr);
}

std::string_view
LiftedStrings::value (const char *s) const
{
  if (!s)
    return {};
  if (s[0] != kLiftMark || spans_.empty ())
    return s;
  char *end = nullptr;
  const guint64 index = g_ascii_strtoull (s + 1, &end, 10);
  if (end == s + 1 || *end != '\0' || index >= spans_.size ())
    return s;
  return {document_ + spans_[index].offset, spans_[index].length};
}

std::string
LiftedStrings::restore (std::string_view json) const
{
  if (spans_.empty ())
    return std::string (json);
  /* json-glib writes U+0001 as \u0001, and the document had none of its own
   * (nothing is lifted from one that has). */
  static constexpr std::string_view mark = "\\u0001";
  std::string out;
  gsize size = json.size ();
  for (const Span & span : spans_)
    size += span.length;
  out.reserve (size);
  gsize from = 0;
  for (gsize at = json.find (mark); at != std::string_view::npos; at = json.find (mark, from)) {
    gsize digits = at + mark.size (), end = digits;
    guint64 index = 0;
    while (end < json.size () && g_ascii_isdigit (json[end]) && end - digits < 20)
      index = index * 10 + (json[end++] - '0');
    out.append (json.substr (from, at - from));
    if (end > digits && end < json.size () && json[end] == '"' && index < spans_.size ())
      out.append (document_ + spans_[index].offset, spans_[index].length);
    else
      out.append (json.substr (at, end - at));
    from = end;
  }
  out.append (json.substr (from));
  return out;
}

namespace {

JsonNodePtr
load_with_json_glib (const char *data, gsize length, std::string & message, JsonError & e)
{
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

}  // namespace

JsonNodePtr
parse_json (const char *data, gsize length, std::string & message, JsonError *error, LiftedStrings *lifted)
{
  JsonError dummy;
  JsonError & e = error ? *error : dummy;
  LiftScan scan;
  if (lifted) {
    scan.min_length = std::max<gsize> (lifted->min_length, 1);
    *lifted = LiftedStrings ();
    lifted->min_length = scan.min_length;
  }
  if (!data || length == 0) {
    e = JsonError::Empty;
    message = "empty document";
    return nullptr;
  }
  e = scan_json (data, length, kMaxJsonDepth, message, lifted ? &scan : nullptr);
  if (e != JsonError::None)
    return nullptr;
  if (scan.spans.empty () || scan.mark_seen)
    return load_with_json_glib (data, length, message, e);

  /* json-glib gets the document with each lifted value replaced by a
   * stand-in: U+0001 and the value's index. */
  std::string compact;
  gsize lifted_bytes = 0;
  for (const LiftedStrings::Span & span : scan.spans)
    lifted_bytes += span.length;
  compact.reserve (length - lifted_bytes + scan.spans.size () * 16);
  gsize from = 0;
  for (gsize k = 0; k < scan.spans.size (); k++) {
    compact.append (data + from, scan.spans[k].offset - from);
    compact.append ("\\u0001");
    compact.append (std::to_string (k));
    from = scan.spans[k].offset + scan.spans[k].length;
  }
  compact.append (data + from, length - from);
  JsonNodePtr root = load_with_json_glib (compact.data (), compact.size (), message, e);
  if (!root) {
    /* Its error positions are the document's own only without stand-ins. */
    return load_with_json_glib (data, length, message, e);
  }
  lifted->document_ = data;
  lifted->spans_ = std::move (scan.spans);
  return root;
}

}  // namespace gemini
