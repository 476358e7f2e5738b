/* gst-gemini tests: json_at () (json-at.h) for check tests, failing the
 * running test when the path is missing or holds another type. This header
 * does not include <gst/check/gstcheck.h>.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "json-at.h"

namespace gemini::test {

/* The node at `path` ("candidates.0.content.parts.1"); fails the test when
 * a step is missing. */
JsonNode *must_at (JsonNode * node, const char *path);
/* The string at `path`; fails unless it is a string. */
const char *str_at (JsonNode * node, const char *path);
/* The integer at `path`; fails unless it is an integer. */
gint64 int_at (JsonNode * node, const char *path);
/* The boolean at `path`; fails unless it is a boolean. */
bool bool_at (JsonNode * node, const char *path);
/* Elements of the array, or members of the object, at `path`. */
guint length_at (JsonNode * node, const char *path);

}  // namespace gemini::test
