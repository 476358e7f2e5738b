/* gst-gemini: libFuzzer target for the response classifier and what it feeds.
 *
 * Input layout (make-seeds writes seeds in this layout):
 *
 *   byte 0     bits 0-2: HTTP status, index into
 *                        {200, 400, 429, 500, 503, 302, 301, 404}
 *              bit 7:    a header value follows: Retry-After, or for a 3xx
 *                        the redirect target (the Location)
 *   [byte 1]   only with bit 7: header length n (mod 32)
 *   [n bytes]  only with bit 7: the header value (cut at the first NUL)
 *   rest       the response body
 *
 * For every input: gemini::classify_http_response () on (status, Retry-After,
 * body, redirect target), asked for the model content (ModelContent::Keep,
 * which runs every step of Drop and then serializes candidates[0].content),
 * Response::describe () and outcome_name (), with
 * checks of what callers rely on: describe () ends with exactly one
 * sentence terminator; a server-requested delay is finite, not negative, and
 * comes with its bounded source text; a redirect target is printable
 * scheme://host[:port] without userinfo; a model content only from a 2xx,
 * a JSON object that reads back as the same text, and, sent back as an
 * edit turn by build_request_body (), in the body byte for byte when it is
 * a content with parts (the turn is dropped otherwise). When the outcome is
 * Image, gemini::decode_image () on the decoded bytes with a 4096x4096 pixel
 * limit and, when that fails, mark_undecodable () and describe () as the
 * element does. The same again through classify_http_response_in_place ()
 * (the element's path, decoding base64 inside the body): the same outcome,
 * description, image bytes and model content. Then the small parsers on slices of the body:
 * parse_duration_seconds () and parse_retry_after () on a NUL-terminated copy
 * of its first line, decode_base64_strict () on the body itself (not
 * NUL-terminated: the fuzzer's buffer ends exactly at `size`, so ASan sees any
 * read past `length`).
 *
 * Then the one-pass base64 decoder (gemini::decode_base64 ()) against GLib's
 * decoder behind the strict checks this project had before it: the same
 * verdict and bytes, and in place the same bytes again. Then parse_json ()
 * lifting every "data" and "thoughtSignature" value from 1 byte on against
 * the plain parse: the same error and message, and the same tree once the
 * values are restored. Then check_json ()'s UTF-8 verdict and position
 * against g_utf8_validate_len ().
 *
 * Then the body as a ListModels page (gemini::parse_model_list_page (),
 * asked after a 404): what it keeps is shown to users and sent back in a
 * URL, so every kept id is a valid model id, every display name valid
 * UTF-8 without control characters, and a page token printable and bounded.
 *
 * Then the nesting pre-check against json-glib itself: whatever
 * gemini::check_json () lets through at a limit of 8 levels, json-glib must
 * not find nested deeper (a '"' read differently by the two would let deep
 * brackets through as "text"; at 8 the fuzzer finds it in seconds, where
 * 512 would need it to build half a megabyte).
 *
 * Then the body as an event stream (the previews path): SseSplitter,
 * StreamAnswer over its events and result (), with describe ()'s promise;
 * the draft images it hands out go through decode_image ().
 *
 * Deterministic apart from parse_retry_after ()'s HTTP-date branch, whose
 * result depends on the clock but whose control flow does not. Leak-free:
 * libFuzzer's -detect_leaks (on by default under ASan) checks every input.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gemini-base64.h"
#include "gemini-image.h"
#include "gemini-json.h"
#include "gemini-model-list.h"
#include "gemini-protocol.h"
#include "gemini-sse.h"

namespace {

constexpr guint kStatuses[] = { 200, 400, 429, 500, 503, 302, 301, 404 };
constexpr gsize kMaxLineForParsers = 128;

/* Keeps the optimizer from dropping results it cannot see used. */
volatile gsize sink;

void
consume (const std::string & s)
{
  sink = sink + s.size ();
}

/* describe ()'s promise: whole sentences, so that the element can append
 * " Gave up after ..." (issue 6 item 15). */
void
check_description (const gemini::Response & r)
{
  const std::string text = r.describe ();
  const gsize n = text.size ();
  if (n == 0 || !strchr (".?!", text[n - 1]) || (n >= 2 && text[n - 1] == '.' && text[n - 2] == '.'))
    abort ();
  consume (text);
}

void
check_response (const gemini::Response & r)
{
  check_description (r);
  consume (gemini::outcome_name (r.outcome));
  /* Finite and not negative, with the server's words, bounded. */
  if (r.retry_delay_seconds.has_value () != !r.retry_delay_source.empty ())
    abort ();
  if (r.retry_delay_seconds && !(std::isfinite (*r.retry_delay_seconds) && *r.retry_delay_seconds >= 0))
    abort ();
  if (r.retry_delay_source.size () > 80)
    abort ();
  /* Only scheme://host[:port]: no userinfo, path or unprintable bytes. */
  const std::string & t = r.redirect_target;
  const gsize sep = t.find ("://");
  if (!t.empty () && (sep == std::string::npos || t.find_first_of ("@/?#", sep + 3) != std::string::npos))
    abort ();
  for (char c : t)
    if ((guchar) c < 0x80 && !g_ascii_isgraph (c))  /* the bound's "…" is UTF-8 */
      abort ();
}

/* Edit-mode sends a kept content back: it must parse as the object it came
 * from and, as a history turn, reach the request body unchanged. */
void
check_model_content (guint status, const gemini::Response & r)
{
  const std::string & content = r.model_content;
  if (content.empty ())
    return;
  if (status < 200 || status >= 300)
    abort ();
  std::string message;
  gemini::JsonNodePtr node = gemini::parse_json (content.data (), content.size (), message);
  /* A number past a double (1e400) is written back as "inf", which no
   * parser reads: build_request_body () then drops the turn. */
  if (!node)
    return;
  if (!JSON_NODE_HOLDS_OBJECT (node.get ()))
    abort ();
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_root (gen, node.get ());
  gchar *again = json_generator_to_data (gen, nullptr);
  const bool same = content == again;
  g_free (again);
  g_object_unref (gen);
  if (!same)
    abort ();
  gemini::RequestSettings settings;
  settings.prompt = "next";
  settings.history.push_back (gemini::Turn {"first", {}, content});
  GBytes *sent = gemini::build_request_body (settings);
  gsize sent_size = 0;
  const char *sent_data = static_cast<const char *> (g_bytes_get_data (sent, &sent_size));
  const bool found = std::string_view (sent_data, sent_size).find (content) != std::string_view::npos;
  JsonArray *parts = json_object_get_member (json_node_get_object (node.get ()), "parts")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (node.get ()), "parts"))
      ? json_object_get_array_member (json_node_get_object (node.get ()), "parts") : nullptr;
  bool valid = parts && json_array_get_length (parts) > 0;
  for (guint i = 0; valid && i < json_array_get_length (parts); i++) {
    JsonNode *part = json_array_get_element (parts, i);
    valid = JSON_NODE_HOLDS_OBJECT (part) && json_object_get_size (json_node_get_object (part)) > 0;
  }
  g_bytes_unref (sent);
  if (found != valid)
    abort ();
}

void
fuzz_classifier (guint status, const char *header, const guint8 * body, gsize body_size)
{
  const bool redirect = status >= 300 && status < 400;
  GBytes *bytes = g_bytes_new_static (body, body_size);
  gemini::Response r = gemini::classify_http_response (status, redirect ? nullptr : header, bytes,
      redirect ? header : nullptr, gemini::ModelContent::Keep);
  g_bytes_unref (bytes);
  check_response (r);
  check_model_content (status, r);
  /* Taking the body, as the element does, gives the same answer. */
  gemini::Response taken = gemini::classify_http_response_in_place (status, redirect ? nullptr : header,
      gemini::GBytesPtr (g_bytes_new (body, body_size)), redirect ? header : nullptr, gemini::ModelContent::Keep);
  gsize a = 0, b = 0;
  const void *ia = r.image ? g_bytes_get_data (r.image.get (), &a) : nullptr;
  const void *ib = taken.image ? g_bytes_get_data (taken.image.get (), &b) : nullptr;
  if (taken.outcome != r.outcome || taken.describe () != r.describe () || taken.model_content != r.model_content
      || a != b || (a && std::memcmp (ia, ib, a) != 0))
    abort ();
  /* What the element relies on: an Image outcome carries bytes to decode
   * and says Deliver. */
  if (r.outcome == gemini::Outcome::Image
      && (!r.image || g_bytes_get_size (r.image.get ()) == 0 || r.action != gemini::Action::Deliver))
    abort ();

  if (r.outcome == gemini::Outcome::Image) {
    gsize size = 0;
    const guint8 *data = static_cast<const guint8 *> (g_bytes_get_data (r.image.get (), &size));
    gemini::DecodeLimits limits;
    limits.max_pixels = 4096ull * 4096ull;
    gemini::DecodedImage image;
    std::string error;
    if (gemini::decode_image (data, size, limits, image, error)) {
      if (image.width <= 0 || image.height <= 0
          || (guint64) image.width * (guint64) image.height > limits.max_pixels
          || image.size != image.stride * (gsize) image.height || !image.pixels)
        abort ();
      /* Touch the last pixel row: ASan checks the allocation's size. */
      sink = sink + image.pixels.get ()[image.size - 1];
    } else {
      /* As the element does with bytes that do not decode. */
      gemini::mark_undecodable (r, error, image.over_limit);
      check_description (r);
    }
  }
}

/* GLib's strict decoding as this project did it before it had its own
 * one-pass decoder: validation, then g_base64_decode_step. */
std::optional<std::string>
reference_base64 (const char *text, gsize length)
{
  gsize significant = 0, padding = 0;
  for (gsize i = 0; i < length; i++) {
    char c = text[i];
    if (g_ascii_isalnum (c) || c == '+' || c == '/') {
      if (padding)
        return std::nullopt;
      significant++;
    } else if (c == '=') {
      if (++padding > 2)
        return std::nullopt;
    } else if (c != '\n' && c != '\r' && c != ' ' && c != '\t') {
      return std::nullopt;
    }
  }
  if ((significant + padding) % 4 == 1 || (padding && (significant + padding) % 4 != 0))
    return std::nullopt;
  std::string out ((length / 4) * 3 + 3, '\0');
  gint state = 0;
  guint save = 0;
  auto *o = reinterpret_cast<guchar *> (out.data ());
  gsize n = g_base64_decode_step (text, length, o, &state, &save);
  if (padding == 0 && significant % 4 != 0)
    n += g_base64_decode_step ("==", 4 - significant % 4, o + n, &state, &save);
  out.resize (n);
  return out;
}

/* The one-pass decoder against the reference, and in place against
 * itself. */
void
fuzz_base64 (const guint8 * body, gsize size)
{
  const char *text = reinterpret_cast<const char *> (body);
  std::optional<std::string> expected = reference_base64 (text, size);
  std::vector<guint8> out (gemini::base64_decoded_bound (size));
  std::optional<gsize> n = gemini::decode_base64 (text, size, out.data ());
  if (n.has_value () != expected.has_value ())
    abort ();
  if (!n)
    return;
  if (*n != expected->size () || (*n && std::memcmp (out.data (), expected->data (), *n) != 0))
    abort ();
  std::vector<guint8> in_place (body, body + size);
  std::optional<gsize> m = gemini::decode_base64 (reinterpret_cast<const char *> (in_place.data ()), size,
      in_place.data ());
  if (!m || *m != *n || (*n && std::memcmp (in_place.data (), out.data (), *n) != 0))
    abort ();
}

/* Lifting long values out of json-glib's tree (at a length of 1, so that
 * short inputs reach it) changes nothing: the same error and message, and
 * the tree written out with the values restored is the unlifted tree's
 * text. */
void
fuzz_lifting (const guint8 * body, gsize size)
{
  const char *text = reinterpret_cast<const char *> (body);
  std::string plain_message, lifted_message;
  gemini::JsonError plain_error, lifted_error;
  gemini::JsonNodePtr plain = gemini::parse_json (text, size, plain_message, &plain_error);
  gemini::LiftedStrings lifted;
  lifted.min_length = 1;
  gemini::JsonNodePtr tree = gemini::parse_json (text, size, lifted_message, &lifted_error, &lifted);
  if (plain_error != lifted_error || plain_message != lifted_message || !plain != !tree)
    abort ();
  if (!plain)
    return;
  auto text_of = [] (JsonNode * node) {
    JsonGenerator *gen = json_generator_new ();
    json_generator_set_root (gen, node);
    gsize length = 0;
    gchar *t = json_generator_to_data (gen, &length);
    std::string out (t, length);
    g_free (t);
    g_object_unref (gen);
    return out;
  };
  if (lifted.restore (text_of (tree.get ())) != text_of (plain.get ()))
    abort ();
}

/* The UTF-8 check of the JSON pre-pass gives GLib's verdict and place. */
void
fuzz_utf8 (const guint8 * body, gsize size)
{
  const char *text = reinterpret_cast<const char *> (body);
  const gchar *end = nullptr;
  const bool valid = g_utf8_validate_len (text, size, &end);
  std::string message;
  gemini::JsonError e = gemini::check_json (text, size, 8, message);
  const bool utf8_error = message.find ("not UTF-8 text") != std::string::npos;
  if (valid == utf8_error)
    abort ();
  if (!valid) {
    guint line = 1;
    gsize line_start = 0;
    for (gsize i = 0; i < gsize (end - text); i++) {
      if (text[i] == '\n') {
        line++;
        line_start = i + 1;
      }
    }
    const std::string expected = std::to_string (line) + ":" + std::to_string (end - text - line_start + 1)
        + ": Parse error: not UTF-8 text";
    if (e != gemini::JsonError::Invalid || message != expected)
      abort ();
  }
}

void
fuzz_parsers (const guint8 * body, gsize body_size)
{
  /* The first line, NUL-terminated, as a Duration and as a Retry-After. */
  gsize n = 0;
  while (n < body_size && n < kMaxLineForParsers && body[n] != '\n' && body[n] != '\0')
    n++;
  std::string line (reinterpret_cast<const char *> (body), n);
  if (auto d = gemini::parse_duration_seconds (line.c_str ())) {
    if (!(*d >= 0))
      abort ();  /* documented: finite and not negative */
  }
  if (auto d = gemini::parse_retry_after (line.c_str ())) {
    if (!(*d >= 0))
      abort ();
  }

  /* The whole body as base64, bounded by its length. Accepted text must
   * decode to exactly 6 bits per alphabet character, rounded down, padded
   * or not (the header promises "padding optional"). */
  if (GBytes *decoded = gemini::decode_base64_strict (reinterpret_cast<const char *> (body), body_size)) {
    gsize significant = 0;
    for (gsize i = 0; i < body_size; i++)
      significant += g_ascii_isalnum (body[i]) || body[i] == '+' || body[i] == '/';
    if (g_bytes_get_size (decoded) != significant * 3 / 4)
      abort ();
    g_bytes_unref (decoded);
  }
}

/* Deepest nesting of a json-glib tree, without recursion. */
guint
tree_depth (JsonNode * root)
{
  guint deepest = 0;
  std::vector<std::pair<JsonNode *, guint>> todo = { { root, 0 } };
  while (!todo.empty ()) {
    auto [node, depth] = todo.back ();
    todo.pop_back ();
    if (JSON_NODE_HOLDS_ARRAY (node)) {
      deepest = std::max (deepest, depth + 1);
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        todo.emplace_back (json_array_get_element (a, i), depth + 1);
    } else if (JSON_NODE_HOLDS_OBJECT (node)) {
      deepest = std::max (deepest, depth + 1);
      GList *members = json_object_get_values (json_node_get_object (node));
      for (GList *l = members; l; l = l->next)
        todo.emplace_back (static_cast<JsonNode *> (l->data), depth + 1);
      g_list_free (members);
    }
  }
  return deepest;
}

void
fuzz_nesting_check (const guint8 * body, gsize body_size)
{
  constexpr guint kLimit = 8;
  std::string message;
  const char *text = reinterpret_cast<const char *> (body);
  if (gemini::check_json (text, body_size, kLimit, message) != gemini::JsonError::None)
    return;
  JsonParser *parser = json_parser_new ();
  if (json_parser_load_from_data (parser, text, (gssize) body_size, nullptr)) {
    JsonNode *root = json_parser_get_root (parser);
    if (root && tree_depth (root) > kLimit)
      abort ();
  }
  g_object_unref (parser);
}

/* A ListModels page: see the header comment for what is checked. */
void
fuzz_model_list (const guint8 * body, gsize size)
{
  GBytes *bytes = g_bytes_new (body, size);
  std::vector<gemini::ListedModel> models;
  std::string token, error;
  const bool ok = gemini::parse_model_list_page (bytes, models, token, error);
  g_bytes_unref (bytes);
  if (!ok && error.empty ())
    abort ();
  if (models.size () > gemini::kMaxListedModels || token.size () > 1024)
    abort ();
  for (char c : token)
    if (static_cast<unsigned char> (c) <= 0x20 || c == 0x7f)
      abort ();
  for (const auto & m : models) {
    if (!gemini::model_id_is_valid (m.id) || !g_utf8_validate (m.display_name.data (), m.display_name.size (), nullptr))
      abort ();
    for (char c : m.display_name)
      if (static_cast<unsigned char> (c) < 0x20 || c == 0x7f)
        abort ();
  }
  consume (gemini::describe_image_models (models));
}

/* The body as a streamGenerateContent?alt=sse stream: split into events
 * (SseSplitter), merged (StreamAnswer) and classified as the streaming path
 * does, with describe ()'s promise; each draft's bytes are decoded like a
 * preview. */
void
fuzz_stream (const guint8 * body, gsize size)
{
  gemini::SseSplitter splitter (1024 * 1024);
  std::vector<std::string> events;
  splitter.feed (reinterpret_cast<const char *> (body), size, events);
  gemini::StreamAnswer answer;
  std::vector<gemini::GBytesPtr> drafts;
  for (const std::string & e : events)
    answer.add_event (e.data (), e.size (), &drafts);
  gemini::Response r = answer.result (gemini::ModelContent::Keep);
  check_description (r);
  if (r.outcome == gemini::Outcome::Image && !r.image)
    abort ();
  for (const gemini::GBytesPtr & d : drafts) {
    gemini::DecodedImage image;
    gemini::DecodeLimits limits;
    limits.max_pixels = 4096ull * 4096ull;
    std::string error;
    sink = sink + gemini::decode_image (d.get (), limits, image, error);
  }
}

}  // namespace

extern "C" int
LLVMFuzzerInitialize (int *, char ***)
{
  /* One-time GLib/json-glib type registrations happen here, not inside the
   * first input, so that libFuzzer's per-input leak check never sees them. */
  static const char warmup[] = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}";
  GBytes *b = g_bytes_new_static (warmup, sizeof warmup - 1);
  gemini::Response r = gemini::classify_http_response (200, "Thu, 01 Jan 2099 00:00:00 GMT", b, nullptr,
      gemini::ModelContent::Keep);
  g_bytes_unref (b);
  consume (r.describe ());
  check_model_content (200, r);
  return 0;
}

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  if (size < 1)
    return 0;
  const guint status = kStatuses[data[0] & 0x07];
  const bool has_retry_after = (data[0] & 0x80) != 0;
  gsize pos = 1;

  std::string retry_after;
  if (has_retry_after) {
    if (pos >= size)
      return 0;
    gsize n = data[pos++] % 32;
    if (n > size - pos)
      n = size - pos;
    retry_after.assign (reinterpret_cast<const char *> (data + pos), n);
    retry_after.resize (strnlen (retry_after.c_str (), retry_after.size ()));
    pos += n;
  }

  const guint8 *body = data + pos;
  const gsize body_size = size - pos;
  fuzz_classifier (status, has_retry_after ? retry_after.c_str () : nullptr, body, body_size);
  fuzz_parsers (body, body_size);
  fuzz_base64 (body, body_size);
  fuzz_lifting (body, body_size);
  fuzz_utf8 (body, body_size);
  fuzz_model_list (body, body_size);
  fuzz_nesting_check (body, body_size);
  fuzz_stream (body, body_size);
  return 0;
}
