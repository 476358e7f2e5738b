/* gst-gemini: the prompt-file parser — many prompts, one per line, each
 * with its own options.
 *
 * The whole file is read and checked before the element sends anything, so
 * a typo on line 900 fails at once rather than after 899 billed images.
 * The file is untrusted input: regular files only, bounded in bytes, lines
 * and line length, every JSON line through parse_json ().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <optional>
#include <string>
#include <vector>

namespace gemini {

/* One line of a prompt file: the prompt and what it overrides (unset = the
 * element's property). */
struct PromptEntry {
  guint line = 0;                              /* 1-based line in the file, for messages */
  std::string prompt;                          /* trimmed, never empty */
  std::optional<std::string> model;            /* an alias or an id; model_id_is_valid () */
  std::optional<std::string> aspect_ratio;     /* one of kAspectRatios */
  std::optional<std::string> image_size;       /* one of kImageSizes */
  std::optional<gint64> seed;                  /* 0 .. G_MAXINT32 (the API's seed is int32) */
  /* The reference-images property's syntax (',' separates, "\," is a comma
   * in a name), relative names already resolved against the prompt file's
   * directory. "" = no reference images for this prompt. */
  std::optional<std::string> reference_images;
  std::optional<std::string> system_instruction;   /* "" = none for this prompt */
  std::optional<double> temperature;           /* 0.0 .. 2.0 */
};

inline constexpr gsize kMaxPromptFileBytes = 16 * 1024 * 1024;
inline constexpr gsize kMaxPromptFileLines = 100000;      /* entries, not lines */
inline constexpr gsize kMaxPromptLineBytes = 1024 * 1024;

enum class PromptFileError {
  None,
  OpenRead,   /* missing or unreadable */
  Settings,   /* not a regular file, too large, or what it says is wrong */
};

/* Reads and parses the whole file: a regular file only (a FIFO or a device
 * is refused without blocking or reading), at most kMaxPromptFileBytes, at
 * most kMaxPromptFileLines entries, each line at most kMaxPromptLineBytes.
 *
 * The file is JSON Lines when its name ends in ".jsonl" or ".ndjson" (any
 * case), or when the first line that is neither blank nor a comment starts
 * with '{' (after white space); otherwise plain text. A UTF-8 byte order
 * mark at the start is skipped; lines end in "\n" or "\r\n".
 *
 * Plain text: every line that is not blank and does not start with '#'
 * (after white space) is one prompt, trimmed of the white space around it.
 * It must be UTF-8 without control characters other than tab.
 *
 * JSON Lines: blank lines and lines starting with '#' are skipped; every
 * other line is one object with "prompt" (a non-empty string, trimmed) and
 * optionally "model", "aspect-ratio", "image-size", "system-instruction"
 * (strings), "seed" (an integer), "temperature" (a number) and
 * "reference-images" (a string in the property's syntax, or an array of
 * names). Any other key is an error (it is most likely a typo).
 *
 * On failure returns false with `out` empty, `kind` set and `error` one
 * sentence naming the file as given, the line and what is wrong:
 *   prompts.jsonl line 3: "aspect-ratio" is "7:5", which is not one of 1:1, ..., 8:1.
 *   prompts.txt: cannot be read: No such file or directory. */
bool load_prompt_file (const std::string & path, std::vector<PromptEntry> & out,
    PromptFileError & kind, std::string & error);

/* The same on bytes already read (for unit tests and fuzzing): `name`
 * goes into messages and decides the format by its ending, relative
 * reference names are resolved against `base_dir` ("" or ".": left as
 * they are). Every failure here is a Settings one. */
bool parse_prompt_file (const std::string & name, const std::string & base_dir,
    const char *data, gsize length, std::vector<PromptEntry> & out, std::string & error);

}  // namespace gemini
