/* gst-gemini: prompt buffers (the prompt_sink pad) to prompt text.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-prompt-text.h"

#include <cstring>

namespace gemini {

namespace {

void
append_text (GMarkupParseContext *, const gchar * text, gsize len, gpointer user_data,
    GError **)
{
  static_cast<std::string *> (user_data)->append (text, len);
}

/* Only text is kept: tags and their attributes are formatting. */
const GMarkupParser kTextOnly = { nullptr, nullptr, append_text, nullptr, nullptr };

/* `<` starts a tag only when followed by a name (or `/name`): "a < b" keeps
 * its `<`, as a human would read it. */
bool
starts_tag (const std::string & s, gsize i)
{
  gsize j = i + 1;
  if (j < s.size () && s[j] == '/')
    j++;
  return j < s.size () && g_ascii_isalpha (s[j]);
}

void
replace_entities (std::string & s)
{
  static const struct { const char *entity; char c; } kEntities[] = {
    { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
  };
  std::string out;
  out.reserve (s.size ());
  for (gsize i = 0; i < s.size (); ) {
    bool replaced = false;
    if (s[i] == '&') {
      for (const auto & e : kEntities) {
        gsize n = strlen (e.entity);
        if (s.compare (i, n, e.entity) == 0) {
          out += e.c;
          i += n;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced)
      out += s[i++];
  }
  s = std::move (out);
}

std::string
strip_tags (const std::string & markup)
{
  std::string out;
  out.reserve (markup.size ());
  for (gsize i = 0; i < markup.size (); ) {
    if (markup[i] == '<' && starts_tag (markup, i)) {
      gsize end = markup.find ('>', i);
      if (end != std::string::npos) {
        i = end + 1;
        continue;
      }
    }
    out += markup[i++];
  }
  replace_entities (out);
  return out;
}

bool
is_space (gunichar c)
{
  return g_unichar_isspace (c) || c == 0xFEFF;
}

/* Trims Unicode whitespace (and byte-order marks) at both ends; `s` is
 * valid UTF-8. */
std::string
trim (const std::string & s)
{
  const char *begin = s.c_str ();
  const char *end = begin + s.size ();
  while (begin < end && is_space (g_utf8_get_char (begin)))
    begin = g_utf8_next_char (begin);
  while (end > begin) {
    const char *prev = g_utf8_find_prev_char (begin, end);
    if (!prev || !is_space (g_utf8_get_char (prev)))
      break;
    end = prev;
  }
  return std::string (begin, end);
}

std::string
normalise_newlines (const std::string & s)
{
  std::string out;
  out.reserve (s.size ());
  for (gsize i = 0; i < s.size (); i++) {
    if (s[i] == '\r' && i + 1 < s.size () && s[i + 1] == '\n')
      continue;
    out += s[i];
  }
  return out;
}

}  // namespace

bool
prompt_format_from_caps (const GstCaps * caps, PromptFormat & format)
{
  if (!caps || gst_caps_get_size (caps) < 1)
    return false;
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_has_name (s, "text/x-raw"))
    return false;
  const gchar *f = gst_structure_get_string (s, "format");
  if (!f)
    return false;
  if (g_str_equal (f, "utf8")) {
    format = PromptFormat::Utf8;
    return true;
  }
  if (g_str_equal (f, "pango-markup")) {
    format = PromptFormat::PangoMarkup;
    return true;
  }
  return false;
}

std::string
pango_markup_to_text (const std::string & markup)
{
  /* Pango markup is a fragment (text with tags, no root): wrapped so that
   * GMarkup sees one document. */
  std::string doc = "<markup>" + markup + "</markup>";
  std::string text;
  GMarkupParseContext *ctx = g_markup_parse_context_new (&kTextOnly,
      (GMarkupParseFlags) 0, &text, nullptr);
  GError *error = nullptr;
  bool ok = g_markup_parse_context_parse (ctx, doc.data (), (gssize) doc.size (), &error)
      && g_markup_parse_context_end_parse (ctx, &error);
  g_markup_parse_context_free (ctx);
  if (error)
    g_error_free (error);
  /* Bad markup (a stray `&` or `<` from a hand-written file) still carries
   * the words the user meant: keep them rather than drop the prompt. */
  return ok ? text : strip_tags (markup);
}

bool
prompt_from_buffer (GstBuffer * buf, PromptFormat format, std::string & text,
    std::string & problem)
{
  gsize size = gst_buffer_get_size (buf);
  if (size == 0) {
    problem = "the prompt buffer is empty; send text, or drop empty buffers upstream";
    return false;
  }
  /* Checked before mapping: a 100 MB buffer is refused without touching it. */
  if (size > kMaxPromptBytes) {
    problem = "the prompt buffer is " + std::to_string (size) + " bytes, over the limit of "
        + std::to_string (kMaxPromptBytes) + " bytes; send a shorter prompt or split the "
        "text upstream";
    return false;
  }
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    problem = "the prompt buffer could not be mapped for reading; check the upstream element";
    return false;
  }
  std::string raw (reinterpret_cast<const char *> (map.data), map.size);
  gst_buffer_unmap (buf, &map);

  gsize nul = raw.find ('\0');
  if (nul != std::string::npos) {
    problem = "the prompt contains a NUL byte at offset " + std::to_string (nul)
        + "; send plain text without NUL terminators or binary data";
    return false;
  }
  const gchar *bad = nullptr;
  if (!g_utf8_validate_len (raw.data (), raw.size (), &bad)) {
    problem = "the prompt is not valid UTF-8 at byte offset "
        + std::to_string (bad - raw.data ()) + "; convert it to UTF-8 upstream "
        "(for example subparse sub-encoding=WINDOWS-1252 for subtitles, or iconv for files)";
    return false;
  }

  std::string plain = format == PromptFormat::PangoMarkup ? pango_markup_to_text (raw) : raw;
  std::string result = trim (normalise_newlines (plain));
  if (result.empty ()) {
    problem = format == PromptFormat::PangoMarkup
        ? "the prompt markup holds no text, only tags or whitespace; send text to generate from"
        : "the prompt buffer holds only whitespace; send text to generate from";
    return false;
  }
  text = std::move (result);
  return true;
}

}  // namespace gemini
