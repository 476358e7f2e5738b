/* gst-gemini: the prompt-file parser.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-input.h"

#include <glib/gstdio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gemini-json.h"
#include "gemini-models.h"
#include "gemini-protocol.h"
#include "gemini-reference.h"
#include "glib-raii.h"

namespace gemini {

namespace {

constexpr const char *kKeyList = "prompt, model, aspect-ratio, image-size, seed, "
    "reference-images, system-instruction, temperature";
constexpr const char *kKeys[] = {"prompt", "model", "aspect-ratio", "image-size", "seed",
  "reference-images", "system-instruction", "temperature"};

std::string_view
trim (std::string_view s)
{
  while (!s.empty () && g_ascii_isspace (s.front ()))
    s.remove_prefix (1);
  while (!s.empty () && g_ascii_isspace (s.back ()))
    s.remove_suffix (1);
  return s;
}

bool
ends_with_ci (const std::string & s, std::string_view suffix)
{
  return s.size () >= suffix.size ()
      && g_ascii_strncasecmp (s.c_str () + s.size () - suffix.size (), suffix.data (), suffix.size ()) == 0;
}

/* A value from the file, quoted for a message: escaped so a stray control
 * character cannot break the line, and cut so a 1 MiB value does not
 * become a 1 MiB message. */
std::string
quote (std::string_view s)
{
  constexpr gsize kMax = 80;
  std::string out = "\"";
  gsize i = 0;
  for (; i < s.size () && i < kMax; i++) {
    const guchar c = s[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += (char) c;
    } else if (c < 0x20 || c == 0x7f) {
      GCharPtr e (g_strdup_printf ("\\x%02x", c));
      out += e.get ();
    } else {
      out += (char) c;
    }
  }
  if (i < s.size ()) {
    /* Back to a character boundary before the ellipsis. */
    while (!out.empty () && ((guchar) out.back () & 0xc0) == 0x80)
      out.pop_back ();
    if (!out.empty () && (guchar) out.back () >= 0xc0)
      out.pop_back ();
    out += "\xe2\x80\xa6";
  }
  return out + "\"";
}

template <typename Values>
std::string
one_of (const Values & values)
{
  std::string out;
  for (const char *v : values)
    out += (out.empty () ? "" : ", ") + std::string (v);
  return out;
}

/* "a string", "an array", ...: what a value is, for a type error. */
std::string
type_name (JsonNode * n, bool want_integer)
{
  if (JSON_NODE_HOLDS_NULL (n)) return "null";
  if (JSON_NODE_HOLDS_OBJECT (n)) return "an object";
  if (JSON_NODE_HOLDS_ARRAY (n)) return "an array";
  const GType t = json_node_get_value_type (n);
  if (t == G_TYPE_STRING) return "a string";
  if (t == G_TYPE_BOOLEAN) return "a boolean";
  if (t == G_TYPE_DOUBLE && want_integer) return "a number with a fraction or an exponent";
  return "a number";
}

bool
holds (JsonNode * n, GType type)
{
  return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == type;
}

/* json-glib ends its strings at a "\u0000" without a word: the prompt
 * would be cut silently. Outside strings check_json () refuses '\'. */
bool
has_nul_escape (std::string_view s)
{
  for (gsize i = 0; i + 1 < s.size (); i++) {
    if (s[i] != '\\')
      continue;
    if (s.substr (i + 1, 5) == "u0000")
      return true;
    i++;
  }
  return false;
}

/* json-glib 1.6 wraps an integer past 64 bits without a word
 * (99999999999999999999 reads as -1), and a wrapped seed or temperature
 * can land in range: long integer literals are refused before it reads
 * them. Returns the first one, or "". */
std::string_view
long_integer (std::string_view s)
{
  bool in_string = false;
  for (gsize i = 0; i < s.size (); i++) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    if (c != '-' && !g_ascii_isdigit (c))
      continue;
    gsize j = i, digits = 0;
    bool integer = true;
    for (; j < s.size () && (g_ascii_isdigit (s[j]) || strchr ("+-.eE", s[j])); j++) {
      digits += g_ascii_isdigit (s[j]) ? 1 : 0;
      integer = integer && (g_ascii_isdigit (s[j]) || s[j] == '-');
    }
    if (integer && digits > 18)
      return s.substr (i, j - i);
    i = j - 1;
  }
  return {};
}

/* ',' separates, so a ',' in a name becomes "\,". */
std::string
join_references (const std::vector<std::string> & names)
{
  std::string out;
  for (const auto & name : names) {
    if (!out.empty ())
      out += ',';
    for (char c : name) {
      if (c == ',')
        out += '\\';
      out += c;
    }
  }
  return out;
}

struct Parser {
  const std::string & name;
  const std::string & base_dir;
  std::string & error;
  guint line = 0;

  bool fail (const std::string & what)
  {
    error = name + " line " + std::to_string (line) + ": " + what + ".";
    return false;
  }

  bool plain_line (std::string_view text, PromptEntry & entry)
  {
    for (const char *p = text.data (); p < text.data () + text.size (); p = g_utf8_next_char (p)) {
      const gunichar c = g_utf8_get_char (p);
      if ((c < 0x20 && c != '\t') || (c >= 0x7f && c <= 0x9f)) {
        GCharPtr what (g_strdup_printf ("contains the control character U+%04X: a prompt is one "
                "line of text (use JSON Lines for anything else)", c));
        return fail (what.get ());
      }
    }
    entry.prompt = text;
    return true;
  }

  bool string_key (JsonObject * obj, const char *key, std::optional<std::string> & into)
  {
    JsonNode *n = json_object_get_member (obj, key);
    if (!n)
      return true;
    if (!holds (n, G_TYPE_STRING))
      return fail (std::string ("\"") + key + "\" is " + type_name (n, false) + ", not a string");
    into = json_node_get_string (n);
    return true;
  }

  bool references (JsonNode * n, std::string & into)
  {
    std::vector<std::string> names;
    if (holds (n, G_TYPE_STRING)) {
      names = split_reference_list (json_node_get_string (n));
    } else if (JSON_NODE_HOLDS_ARRAY (n)) {
      JsonArray *a = json_node_get_array (n);
      for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonNode *e = json_array_get_element (a, i);
        const std::string item = "\"reference-images\" item " + std::to_string (i + 1);
        if (!holds (e, G_TYPE_STRING))
          return fail (item + " is " + type_name (e, false) + ", not a string");
        if (trim (json_node_get_string (e)).empty ())
          return fail (item + " is empty");
        names.emplace_back (json_node_get_string (e));
      }
    } else {
      return fail ("\"reference-images\" is " + type_name (n, false)
          + ", not a string or an array of strings");
    }
    /* Relative to the prompt file, wherever the pipeline runs. */
    if (!base_dir.empty () && base_dir != ".") {
      for (auto & name : names) {
        if (!g_path_is_absolute (name.c_str ())) {
          GCharPtr full (g_build_filename (base_dir.c_str (), name.c_str (), nullptr));
          name = full.get ();
        }
      }
    }
    into = join_references (names);
    /* The element reads the list back with split_reference_list (): a name
     * it would not give back (white space around it, a '\' before the
     * separator) must fail here, not read another file. */
    auto back = split_reference_list (into);
    for (gsize i = 0; i < names.size (); i++) {
      if (i >= back.size () || back[i] != names[i])
        return fail ("\"reference-images\" item " + std::to_string (i + 1) + ", " + quote (names[i])
            + ", cannot be passed on: a name must not start or end with white space or end in '\\'");
    }
    return true;
  }

  bool json_line (std::string_view text, PromptEntry & entry)
  {
    if (has_nul_escape (text))
      return fail ("a string contains \\u0000 (a NUL character)");
    std::string message;
    JsonNodePtr root = parse_json (text.data (), text.size (), message);
    if (!root)
      return fail ("not a JSON object (" + message + ")");
    if (auto big = long_integer (text); !big.empty ())
      return fail ("the number " + (big.size () > 40 ? std::string (big.substr (0, 40)) + "\xe2\x80\xa6"
              : std::string (big)) + " is too large");
    if (!JSON_NODE_HOLDS_OBJECT (root.get ()))
      return fail ("not a JSON object (it is " + type_name (root.get (), false) + ")");
    JsonObject *obj = json_node_get_object (root.get ());

    /* Unknown keys first: "promt" is a typo, not a missing prompt. */
    std::unique_ptr<GList, decltype (&g_list_free)> members (json_object_get_members (obj), g_list_free);
    for (GList *l = members.get (); l; l = l->next) {
      const std::string_view key = static_cast<const char *> (l->data);
      bool known = false;
      for (const char *k : kKeys)
        known = known || key == k;
      if (!known)
        return fail ("unknown key " + quote (key) + " (keys: " + kKeyList + ")");
    }

    std::optional<std::string> prompt;
    if (!string_key (obj, "prompt", prompt))
      return false;
    if (!prompt)
      return fail ("no \"prompt\"");
    if (trim (*prompt).empty ())
      return fail ("\"prompt\" is empty");
    entry.prompt = trim (*prompt);

    if (!string_key (obj, "model", entry.model))
      return false;
    if (entry.model && !model_id_is_valid (*entry.model))
      return fail ("\"model\" is " + quote (*entry.model) + ", which is not a model id (letters, "
          "digits, '-', '.' and '_', at most 128)");

    if (!string_key (obj, "aspect-ratio", entry.aspect_ratio))
      return false;
    if (entry.aspect_ratio && aspect_ratio_index (*entry.aspect_ratio) < 0)
      return fail ("\"aspect-ratio\" is " + quote (*entry.aspect_ratio) + ", which is not one of "
          + one_of (kAspectRatios));

    if (!string_key (obj, "image-size", entry.image_size))
      return false;
    if (entry.image_size && image_size_index (*entry.image_size) < 0) {
      GCharPtr upper (g_ascii_strup (entry.image_size->c_str (), -1));
      return fail ("\"image-size\" is " + quote (*entry.image_size) + ", which is not one of "
          + one_of (kImageSizes) + (image_size_index (upper.get ()) >= 0 ? " (the K is upper-case)" : ""));
    }

    if (JsonNode *n = json_object_get_member (obj, "seed")) {
      if (!holds (n, G_TYPE_INT64))
        return fail ("\"seed\" is " + type_name (n, true) + ", not an integer");
      const gint64 seed = json_node_get_int (n);
      if (seed < 0 || seed > G_MAXINT32)
        return fail ("\"seed\" is " + std::to_string (seed) + ", which is not in 0.."
            + std::to_string (G_MAXINT32));
      entry.seed = seed;
    }

    if (JsonNode *n = json_object_get_member (obj, "reference-images")) {
      std::string list;
      if (!references (n, list))
        return false;
      entry.reference_images = std::move (list);
    }

    if (!string_key (obj, "system-instruction", entry.system_instruction))
      return false;

    if (JsonNode *n = json_object_get_member (obj, "temperature")) {
      if (!holds (n, G_TYPE_INT64) && !holds (n, G_TYPE_DOUBLE))
        return fail ("\"temperature\" is " + type_name (n, false) + ", not a number");
      const double t = json_node_get_double (n);
      if (!(t >= 0.0 && t <= 2.0)) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        return fail (std::string ("\"temperature\" is ") + g_ascii_formatd (buf, sizeof buf, "%g", t)
            + ", which is not in 0..2");
      }
      entry.temperature = t;
    }
    return true;
  }
};

/* The next line of [pos, end) without its "\n" or "\r\n"; advances pos. */
std::string_view
next_line (const char *& pos, const char *end)
{
  const char *nl = static_cast<const char *> (memchr (pos, '\n', end - pos));
  const char *stop = nl ? nl : end;
  std::string_view line (pos, stop - pos);
  pos = nl ? nl + 1 : end;
  if (!line.empty () && line.back () == '\r')
    line.remove_suffix (1);
  return line;
}

struct Fd {
  int fd;
  ~Fd () { if (fd >= 0) close (fd); }
};

bool
skipped (std::string_view trimmed)
{
  return trimmed.empty () || trimmed.front () == '#';
}

}  // namespace

bool
parse_prompt_file (const std::string & name, const std::string & base_dir, const char *data,
    gsize length, std::vector<PromptEntry> & out, std::string & error)
{
  out.clear ();
  const char *pos = data, *end = data + length;
  if (length >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    pos += 3;

  bool jsonl = ends_with_ci (name, ".jsonl") || ends_with_ci (name, ".ndjson");
  for (const char *p = pos; !jsonl && p < end;) {
    std::string_view t = trim (next_line (p, end));
    if (!skipped (t)) {
      jsonl = t.front () == '{';
      break;
    }
  }

  Parser parser {name, base_dir, error};
  std::vector<PromptEntry> entries;
  while (pos < end) {
    parser.line++;
    std::string_view line = next_line (pos, end);
    if (line.size () > kMaxPromptLineBytes)
      return parser.fail ("longer than 1 MiB");
    const gchar *bad = nullptr;
    if (!g_utf8_validate_len (line.data (), line.size (), &bad)) {
      GCharPtr what (*bad ? g_strdup_printf ("not valid UTF-8 (byte %" G_GSIZE_FORMAT " is 0x%02X)",
              (gsize) (bad - line.data ()) + 1, (guchar) *bad)
          : g_strdup_printf ("contains a NUL byte (byte %" G_GSIZE_FORMAT ")", (gsize) (bad - line.data ()) + 1));
      return parser.fail (what.get ());
    }
    std::string_view text = trim (line);
    if (skipped (text))
      continue;
    if (entries.size () == kMaxPromptFileLines)
      return parser.fail ("more than " + std::to_string (kMaxPromptFileLines)
          + " prompts in one file: split it");
    PromptEntry entry;
    entry.line = parser.line;
    /* JSON gets the whole line, so json-glib's columns are the file's. */
    if (!(jsonl ? parser.json_line (line, entry) : parser.plain_line (text, entry)))
      return false;
    entries.push_back (std::move (entry));
  }
  if (entries.empty ()) {
    error = name + ": no prompts (every line is blank or a comment).";
    return false;
  }
  out = std::move (entries);
  return true;
}

bool
load_prompt_file (const std::string & path, std::vector<PromptEntry> & out, PromptFileError & kind,
    std::string & error)
{
  out.clear ();
  kind = PromptFileError::None;
  auto fail = [&] (PromptFileError k, const std::string & why) {
    kind = k;
    error = path + ": cannot be read: " + why + ".";
    return false;
  };
  /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer. */
  const Fd f {g_open (path.c_str (), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0)};
  const int fd = f.fd;
  if (fd < 0)
    return fail (PromptFileError::OpenRead, g_strerror (errno));
  struct stat st;
  if (fstat (fd, &st) != 0)
    return fail (PromptFileError::OpenRead, g_strerror (errno));
  if (S_ISDIR (st.st_mode))
    return fail (PromptFileError::Settings, "it is a directory, not a regular file");
  if (!S_ISREG (st.st_mode))
    return fail (PromptFileError::Settings, "it is not a regular file");
  const std::string too_big = "it is larger than 16 MiB";
  if ((guint64) st.st_size > kMaxPromptFileBytes)
    return fail (PromptFileError::Settings, too_big);

  /* One byte over the bound proves a file that grew while read too big. */
  std::string data ((gsize) st.st_size + 1, '\0');
  gsize used = 0;
  for (;;) {
    if (used == data.size ()) {
      if (used > kMaxPromptFileBytes)
        return fail (PromptFileError::Settings, too_big);
      data.resize (std::min (data.size () * 2, kMaxPromptFileBytes + 1));
    }
    const ssize_t n = read (fd, data.data () + used, data.size () - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail (PromptFileError::OpenRead, g_strerror (errno));
    if (n == 0)
      break;
    used += (gsize) n;
  }
  if (used > kMaxPromptFileBytes)
    return fail (PromptFileError::Settings, too_big);

  GCharPtr dir (g_path_get_dirname (path.c_str ()));
  if (!parse_prompt_file (path, dir.get (), data.data (), used, out, error)) {
    kind = PromptFileError::Settings;
    return false;
  }
  return true;
}

}  // namespace gemini
