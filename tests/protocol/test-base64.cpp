/* Unit tests of plugin/gemini-base64: strict one-pass base64, in place.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <optional>
#include <string>
#include <vector>

#include "gemini-base64.h"

#include <gst/check/gstcheck.h>

using namespace gemini;

static std::optional<std::string>
decode (const std::string & text)
{
  std::vector<guint8> out (base64_decoded_bound (text.size ()) + 1);
  std::optional<gsize> n = decode_base64 (text.data (), text.size (), out.data ());
  if (!n)
    return std::nullopt;
  fail_unless (*n <= base64_decoded_bound (text.size ()));
  return std::string (reinterpret_cast<const char *> (out.data ()), *n);
}

/* The RFC 4648 vectors, with and without padding, and whitespace anywhere. */
GST_START_TEST (test_vectors)
{
  const struct { const char *text, *plain; } cases[] = {
    {"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"},
    {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"},
    {"Zg", "f"}, {"Zm8", "fo"}, {"Zm9vYg", "foob"}, {"Zm9vYmE", "fooba"},
    {"Zm9v\nYmFy\n", "foobar"}, {" Z m 9 v\r\n\tYg = = ", "foob"}, {"Zm9vYmE=\n", "fooba"},
    {"+/+/", "\xfb\xff\xbf"},
  };
  for (const auto & c : cases) {
    std::optional<std::string> got = decode (c.text);
    fail_unless (got.has_value (), "refused: \"%s\"", c.text);
    fail_unless (*got == c.plain, "\"%s\" gave \"%s\"", c.text, got->c_str ());
  }
}
GST_END_TEST;

/* What GLib's decoder would have skipped or misread is refused. */
GST_START_TEST (test_refused)
{
  const char *cases[] = {
    "Z", "Zm9vY", "Zg=", "Zm8==", "Zm9v=", "Zm9v==", "Zg===", "Zg==Zg==", "Zg==\nZ", "Zm9v!mFy",
    "Zm9v-_Fy", "Zm9v\x80", "Zm9v\vYmFy", "====", "=", "Zm9vYmFy\x00", "Zm9vYmFy.",
  };
  for (const char *text : cases) {
    std::string s (text);
    if (s == "Zm9vYmFy")     /* the embedded NUL case */
      s.push_back ('\0');
    fail_if (decode (s).has_value (), "accepted: \"%s\"", text);
  }
}
GST_END_TEST;

/* In place: out == text gives the same bytes as a separate buffer, for
 * every length of a long input and with whitespace that shifts the
 * groups; so does an output that starts before the text. */
GST_START_TEST (test_in_place)
{
  std::string plain;
  for (int i = 0; i < 3000; i++)
    plain.push_back (static_cast<char> ((i * 131 + 7) & 0xff));
  for (gsize len : {gsize (0), gsize (1), gsize (2), gsize (3), gsize (4), gsize (100), gsize (2999), gsize (3000)}) {
    gchar *b64 = g_base64_encode (reinterpret_cast<const guchar *> (plain.data ()), len);
    for (bool wrap : {false, true}) {
      std::string text = b64;
      if (wrap) {
        for (gsize at = 5; at < text.size (); at += 61)
          text.insert (at, "\r\n");
      }
      std::optional<std::string> separate = decode (text);
      fail_unless (separate && *separate == plain.substr (0, len));
      std::vector<guint8> buf (64 + text.size ());
      for (gsize offset : {gsize (0), gsize (1), gsize (64)}) {
        std::copy (text.begin (), text.end (), buf.begin () + offset);
        std::optional<gsize> n = decode_base64 (reinterpret_cast<const char *> (buf.data () + offset), text.size (),
            buf.data ());
        fail_unless (n && *n == len);
        fail_unless (std::string (reinterpret_cast<const char *> (buf.data ()), *n) == plain.substr (0, len),
            "length %" G_GSIZE_FORMAT " offset %" G_GSIZE_FORMAT " differs", len, offset);
      }
    }
    g_free (b64);
  }
}
GST_END_TEST;

/* The same bytes as GLib's decoder on everything GLib encodes. */
GST_START_TEST (test_matches_glib)
{
  GRand *rand = g_rand_new_with_seed (11);
  for (int round = 0; round < 500; round++) {
    std::string plain;
    const int len = g_rand_int_range (rand, 0, 400);
    for (int i = 0; i < len; i++)
      plain.push_back (static_cast<char> (g_rand_int_range (rand, 0, 256)));
    gchar *b64 = g_base64_encode (reinterpret_cast<const guchar *> (plain.data ()), plain.size ());
    gsize glib_len = 0;
    guchar *glib = g_base64_decode (b64, &glib_len);
    std::optional<std::string> ours = decode (b64);
    fail_unless (ours && *ours == std::string (reinterpret_cast<const char *> (glib), glib_len));
    g_free (glib);
    g_free (b64);
  }
  g_rand_free (rand);
}
GST_END_TEST;

static Suite *
base64_suite (void)
{
  Suite *s = suite_create ("base64");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_vectors);
  tcase_add_test (tc, test_refused);
  tcase_add_test (tc, test_in_place);
  tcase_add_test (tc, test_matches_glib);
  return s;
}

GST_CHECK_MAIN (base64);
