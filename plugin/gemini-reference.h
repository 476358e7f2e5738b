/* gst-gemini: reference images named by the reference-images property.
 *
 * Reads the files with a bound: regular files only (a FIFO would block the
 * state change, /dev/zero would never end), at most the request's byte
 * budget plus one byte, checked by magic bytes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <string>
#include <vector>

#include "gemini-protocol.h"

namespace gemini {

/* Splits "a.png, b\,c.jpg" into {"a.png", "b,c.jpg"}: ',' separates, "\,"
 * is a comma inside a name, names are trimmed, empty ones dropped. */
std::vector<std::string> split_reference_list (const std::string & list);

/* Raw bytes of reference images that fit in Gemini's 100 MB inline request
 * once base64-encoded (4/3), with room for the prompt. */
inline constexpr gsize kMaxReferenceBytes = 100u * 1000u * 1000u / 4 * 3 - 64 * 1024;

enum class ReferenceError { None, OpenRead, Settings };

/* Reads every file of `list` in order. On failure returns false, sets
 * `kind` (OpenRead: missing or unreadable; Settings: not a regular file,
 * not an image Gemini takes, over the budget) and a sentence naming the
 * file and what to do. `max_total` is the budget for all files together. */
bool load_reference_images (const std::string & list, gsize max_total,
    std::vector<ReferenceImage> & out, ReferenceError & kind, std::string & error);

}  // namespace gemini
