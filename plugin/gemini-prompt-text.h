/* gst-gemini: prompt buffers (the prompt_sink pad) to prompt text.
 *
 * No element state: the pad's chain function calls these and prefixes the
 * pad name to any problem.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include <string>

namespace gemini {

enum class PromptFormat { Utf8, PangoMarkup };

/* Reads the format field of text/x-raw caps: "utf8" or "pango-markup".
 * False for anything else (other media types, other formats, no format). */
bool prompt_format_from_caps (const GstCaps * caps, PromptFormat & format);

/* Largest prompt buffer taken. Gemini's input limit is counted in tokens
 * (tens of thousands for the image models, a token being a few bytes of
 * text), so 1 MiB is far above any prompt the API accepts, yet bounds what a
 * hostile or broken upstream (filesrc on the wrong file) makes us copy,
 * escape and send. */
inline constexpr gsize kMaxPromptBytes = 1024 * 1024;

/* Maps `buf` and turns it into prompt text: Pango markup (what subparse
 * sends) reduced to its text, CR LF made LF, surrounding whitespace and a
 * leading byte-order mark removed. On refusal returns false and sets
 * `problem` to one sentence saying what was wrong and what to do (the
 * caller prefixes the pad name): empty or whitespace-only, over
 * kMaxPromptBytes, an embedded NUL, not UTF-8 (with the byte offset). */
bool prompt_from_buffer (GstBuffer * buf, PromptFormat format, std::string & text,
    std::string & problem);

/* The text of Pango markup: GMarkup parses it inside a root element, so
 * entities are decoded and tags dropped; markup that does not parse falls
 * back to the raw text with anything tag-like removed and the XML entities
 * decoded. `markup` must be valid UTF-8. Exposed for the tests. */
std::string pango_markup_to_text (const std::string & markup);

}  // namespace gemini
