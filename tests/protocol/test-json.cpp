/* Unit tests of plugin/gemini-json: long values lifted out of json-glib's
 * tree, and the UTF-8 check of the pre-pass.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string>

#include "gemini-json.h"
#include "glib-raii.h"

#include <gst/check/gstcheck.h>

using namespace gemini;

static std::string
text_of (JsonNode * node)
{
  GObjectPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), node);
  gsize length = 0;
  GCharPtr text (json_generator_to_data (gen.get (), &length));
  return std::string (text.get (), length);
}

static std::string
base64ish (gsize n, char salt = 'A')
{
  std::string s;
  const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (gsize i = 0; i < n; i++)
    s.push_back (alphabet[(i * 7 + salt) % 64]);
  return s;
}

/* The answer's shape: image data and signatures are lifted, the tree holds
 * stand-ins, value () gives the document's own bytes back, and the tree
 * written out with restore () is the tree parsed without lifting. */
GST_START_TEST (test_lifted_values)
{
  const std::string image = base64ish (kLiftMinLength + 5), sig = base64ish (kLiftMinLength * 3, 'x');
  const std::string doc = "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"hi\", \"thoughtSignature\": \"" + sig +
      "\"}, {\"inlineData\": {\"mimeType\": \"image/png\", \"data\" :\n \"" + image + "\"}}]}}]}";
  std::string message;
  LiftedStrings lifted;
  JsonNodePtr root = parse_json (doc.data (), doc.size (), message, nullptr, &lifted);
  fail_unless (root != nullptr, "%s", message.c_str ());
  fail_unless_equals_int (lifted.count (), 2);

  JsonObject *cand = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (root.get ()), "candidates"), 0);
  JsonArray *parts = json_object_get_array_member (json_object_get_object_member (cand, "content"), "parts");
  const char *s0 = json_object_get_string_member (json_array_get_object_element (parts, 0), "thoughtSignature");
  const char *s1 = json_object_get_string_member (
      json_object_get_object_member (json_array_get_object_element (parts, 1), "inlineData"), "data");
  fail_unless_equals_int (s0[0], kLiftMark);
  fail_unless (strlen (s0) < 8 && strlen (s1) < 8);
  std::string_view v0 = lifted.value (s0), v1 = lifted.value (s1);
  fail_unless (v0 == sig && v1 == image);
  /* Views of the document itself, not copies. */
  fail_unless (v1.data () >= doc.data () && v1.data () + v1.size () <= doc.data () + doc.size ());
  fail_unless (lifted.value ("text") == "text");
  fail_unless (lifted.value ("\x01" "7") == "\x01" "7");   /* no such index */

  JsonNodePtr plain = parse_json (doc.data (), doc.size (), message);
  const std::string restored = lifted.restore (text_of (root.get ())), expected = text_of (plain.get ());
  gsize at = 0;
  while (at < restored.size () && at < expected.size () && restored[at] == expected[at])
    at++;
  fail_unless (restored == expected, "restored text differs at %" G_GSIZE_FORMAT ": %s", at,
      restored.substr (at > 20 ? at - 20 : 0, 60).c_str ());
}
GST_END_TEST;

/* Only long printable-ASCII values of the three keys, without escapes, in
 * a document without U+0001 of its own. */
GST_START_TEST (test_not_lifted)
{
  const std::string big = base64ish (kLiftMinLength);
  const std::string docs[] = {
    "{\"data\": \"" + big.substr (1) + "\"}",                          /* one byte short */
    "{\"text\": \"" + big + "\"}",                                       /* another key */
    "{\"data\": [\"" + big + "\"]}",                                     /* not the key's value */
    "{\"data\": \"" + big + "\\/\"}",                                    /* an escape */
    "{\"data\": \"" + big + "\xc3\xa9\"}",                               /* not ASCII */
    "{\"data\": \"" + big + "\", \"x\": \"\\u0001\"}",                   /* U+0001 of its own */
    "{\"da\\u0074a\": \"" + big + "\"}",                                 /* the key escaped */
    "[\"data\", \"" + big + "\"]",                                       /* a value, not a key */
  };
  for (const std::string & doc : docs) {
    std::string message;
    LiftedStrings lifted;
    JsonNodePtr root = parse_json (doc.data (), doc.size (), message, nullptr, &lifted);
    fail_unless (root != nullptr, "%s", message.c_str ());
    fail_unless_equals_int (lifted.count (), 0);
    JsonNodePtr plain = parse_json (doc.data (), doc.size (), message);
    fail_unless (json_node_equal (root.get (), plain.get ()), "%s", doc.substr (0, 40).c_str ());
  }
  /* Lifted: the key "data" with a long value, after whitespace and ':'. */
  const std::string yes = "{\"thought_signature\"\t:\r\n\"" + big + "\"}";
  std::string message;
  LiftedStrings lifted;
  fail_unless (parse_json (yes.data (), yes.size (), message, nullptr, &lifted) != nullptr);
  fail_unless_equals_int (lifted.count (), 1);
}
GST_END_TEST;

/* A broken document says the same with lifting as without: its positions
 * are the document's, not those of the copy json-glib parsed. */
GST_START_TEST (test_errors_unchanged)
{
  const std::string big = base64ish (kLiftMinLength * 2);
  const std::string docs[] = {
    "{\"data\": \"" + big + "\", \"x\": tru}",
    "{\"data\": \"" + big + "\" \"y\": 1}",
    "{\"data\": \"" + big + "\",\n\"data\": \"" + big + "\"]",
    "{\"data\": \"" + big + "\"",
    "{\"data\": \"" + big + "\", \"z\": \"\xff\"}",
    "{\"data\": \"" + big + "\", \"z\": " + std::string (600, '[') + "]}",
  };
  for (const std::string & doc : docs) {
    std::string with, without;
    JsonError e1 = JsonError::None, e2 = JsonError::None;
    LiftedStrings lifted;
    fail_if (parse_json (doc.data (), doc.size (), with, &e1, &lifted), "parsed: %s", doc.substr (doc.size () - 30).c_str ());
    fail_if (parse_json (doc.data (), doc.size (), without, &e2));
    fail_unless_equals_int ((int) e1, (int) e2);
    fail_unless_equals_string (with.c_str (), without.c_str ());
    fail_unless (g_str_has_prefix (with.c_str (), "1:") || g_str_has_prefix (with.c_str (), "2:"), "%s", with.c_str ());
  }
}
GST_END_TEST;

/* The pre-pass's UTF-8 check gives GLib's verdict and position, with
 * ASCII runs of every alignment before the bad byte. */
GST_START_TEST (test_utf8_positions)
{
  const char *bad[] = {"\xff", "\xc3", "\xc3(", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf"};
  for (gsize lead = 0; lead < 20; lead++) {
    for (const char *b : bad) {
      std::string doc = "[\"" + std::string (lead, 'a') + "\xc3\xa9" + b + "\"]";
      std::string message;
      fail_unless_equals_int ((int) check_json (doc.data (), doc.size (), 8, message), (int) JsonError::Invalid);
      const gchar *end = nullptr;
      fail_if (g_utf8_validate_len (doc.data (), doc.size (), &end));
      gchar *expected = g_strdup_printf ("1:%d: Parse error: not UTF-8 text", (int) (end - doc.data ()) + 1);
      fail_unless_equals_string (message.c_str (), expected);
      g_free (expected);
    }
    /* A NUL, which GLib refuses too. */
    std::string doc = "[\"" + std::string (lead, 'a') + "\"]";
    doc.insert (2 + lead / 2, 1, '\0');
    std::string message;
    fail_unless_equals_int ((int) check_json (doc.data (), doc.size (), 8, message), (int) JsonError::Invalid);
    gchar *expected = g_strdup_printf ("1:%d: Parse error: not UTF-8 text", (int) (2 + lead / 2) + 1);
    fail_unless_equals_string (message.c_str (), expected);
    g_free (expected);
  }
  const std::string good = "[\"" + std::string (37, 'a') + "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" + "b\"]";
  std::string message;
  fail_unless_equals_int ((int) check_json (good.data (), good.size (), 8, message), (int) JsonError::None);
}
GST_END_TEST;

static Suite *
json_suite (void)
{
  Suite *s = suite_create ("json");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_lifted_values);
  tcase_add_test (tc, test_not_lifted);
  tcase_add_test (tc, test_errors_unchanged);
  tcase_add_test (tc, test_utf8_positions);
  return s;
}

GST_CHECK_MAIN (json);
