/* Test helper: walks a dotted path ("candidates.0.content.parts.1") through
 * JSON objects and arrays. Returns nullptr when a step is missing.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

namespace gemini::test {

inline JsonNode *
json_at (JsonNode * node, const char *path)
{
  GStrv parts = g_strsplit (path, ".", -1);
  for (int i = 0; parts[i] && node; i++) {
    if (JSON_NODE_HOLDS_ARRAY (node)) {
      JsonArray *a = json_node_get_array (node);
      guint idx = static_cast<guint> (g_ascii_strtoull (parts[i], nullptr, 10));
      node = idx < json_array_get_length (a) ? json_array_get_element (a, idx) : nullptr;
    } else if (JSON_NODE_HOLDS_OBJECT (node)) {
      JsonObject *o = json_node_get_object (node);
      node = json_object_has_member (o, parts[i]) ? json_object_get_member (o, parts[i]) : nullptr;
    } else {
      node = nullptr;
    }
  }
  g_strfreev (parts);
  return node;
}

}  // namespace gemini::test
