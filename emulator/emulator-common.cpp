/* gst-gemini emulator: the JSON helpers and small utilities shared by the
 * emulator's parts.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator-common.h"

#include <cstring>

#include "glib-raii.h"

namespace gemini::emulator {

/* ------------------------------------------------------------------ JSON */

std::string
to_json (JsonNode * node, bool pretty)
{
  GObjectPtr<JsonGenerator> gen (json_generator_new ());
  json_generator_set_root (gen.get (), node);
  /* Google's front end pretty-prints with two spaces. */
  json_generator_set_pretty (gen.get (), pretty);
  json_generator_set_indent (gen.get (), 2);
  gsize len = 0;
  GCharPtr data (json_generator_to_data (gen.get (), &len));
  return std::string (data.get (), len);
}

JsonNode *
node_take_object (JsonObject * obj)
{
  JsonNode *n = json_node_init_object (json_node_alloc (), obj);
  json_object_unref (obj);
  return n;
}

JsonNode *
node_take_array (JsonArray * arr)
{
  JsonNode *n = json_node_init_array (json_node_alloc (), arr);
  json_array_unref (arr);
  return n;
}

/* Proto-JSON accepts both the lowerCamelCase and the original snake_case name. */
JsonNode *
member (JsonObject * obj, const char * camel, const char * snake)
{
  if (!obj)
    return nullptr;
  if (json_object_has_member (obj, camel))
    return json_object_get_member (obj, camel);
  if (snake && json_object_has_member (obj, snake))
    return json_object_get_member (obj, snake);
  return nullptr;
}

bool
holds_string (JsonNode * n)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING;
}

bool
holds_int (JsonNode * n)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64;
}

bool
holds_bool (JsonNode * n)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN;
}

JsonObject *
as_object (JsonNode * n)
{
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : nullptr;
}

JsonArray *
as_array (JsonNode * n)
{
  return n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : nullptr;
}

/* ------------------------------------------------------ small utilities */

bool
word_in (const char * list, std::string_view word)
{
  for (const char *p = list; *p;) {
    const char *end = strchr (p, ' ');
    std::string_view w (p, end ? static_cast<gsize> (end - p) : strlen (p));
    if (w == word)
      return true;
    if (!end)
      break;
    p = end + 1;
  }
  return false;
}

}  // namespace gemini::emulator
