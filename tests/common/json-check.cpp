/* gst-gemini tests: json_at () that fails the test.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json-check.h"

#include <gst/check/gstcheck.h>

namespace gemini::test {

JsonNode *
must_at (JsonNode * node, const char *path)
{
  JsonNode *n = json_at (node, path);
  fail_unless (n != nullptr, "no %s", path);
  return n;
}

/* The value at `path`, which must be of `type` (`what` names it). */
static JsonNode *
value_at (JsonNode * node, const char *path, GType type, const char *what)
{
  JsonNode *n = must_at (node, path);
  fail_unless (json_node_get_value_type (n) == type, "%s is not %s", path, what);
  return n;
}

const char *
str_at (JsonNode * node, const char *path)
{
  return json_node_get_string (value_at (node, path, G_TYPE_STRING, "a string"));
}

gint64
int_at (JsonNode * node, const char *path)
{
  return json_node_get_int (value_at (node, path, G_TYPE_INT64, "an integer"));
}

bool
bool_at (JsonNode * node, const char *path)
{
  return json_node_get_boolean (value_at (node, path, G_TYPE_BOOLEAN, "a boolean"));
}

guint
length_at (JsonNode * node, const char *path)
{
  JsonNode *n = must_at (node, path);
  if (JSON_NODE_HOLDS_ARRAY (n))
    return json_array_get_length (json_node_get_array (n));
  fail_unless (JSON_NODE_HOLDS_OBJECT (n), "%s is neither an array nor an object", path);
  return json_object_get_size (json_node_get_object (n));
}

}  // namespace gemini::test
