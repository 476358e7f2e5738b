/* gst-gemini: ListModels pages, read without trusting them.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-model-list.h"

#include <algorithm>
#include <cstring>

#include "gemini-json.h"
#include "gemini-models.h"
#include "gemini-protocol.h"
#include "glib-raii.h"

namespace gemini {

std::string
build_list_models_url (const std::string & endpoint, const std::string & page_token)
{
  std::string url = build_api_base (endpoint) + "/models?pageSize=" + std::to_string (kModelListPageSize);
  if (!page_token.empty ()) {
    GCharPtr escaped (g_uri_escape_string (page_token.c_str (), nullptr, FALSE));
    url += std::string ("&pageToken=") + escaped.get ();
  }
  return url;
}

bool
parse_model_list_page (GBytes * body, std::vector<ListedModel> & out, std::string & next_page_token,
    std::string & error)
{
  next_page_token.clear ();
  gsize length = 0;
  const char *data = body ? static_cast<const char *> (g_bytes_get_data (body, &length)) : nullptr;
  std::string parse_error;
  JsonNodePtr root = parse_json (data, length, parse_error);
  if (!root) {
    error = "the model list is not JSON (" + parse_error + ")";
    return false;
  }
  if (!JSON_NODE_HOLDS_OBJECT (root.get ())) {
    error = "the model list is not a JSON object";
    return false;
  }
  JsonObject *obj = json_node_get_object (root.get ());
  JsonNode *models = json_object_get_member (obj, "models");
  /* A last page may come without "models" at all. */
  if (models && !JSON_NODE_HOLDS_ARRAY (models) && !JSON_NODE_HOLDS_NULL (models)) {
    error = "\"models\" in the model list is not an array";
    return false;
  }
  if (models && JSON_NODE_HOLDS_ARRAY (models)) {
    JsonArray *arr = json_node_get_array (models);
    for (guint i = 0; i < json_array_get_length (arr) && out.size () < kMaxListedModels; i++) {
      JsonNode *n = json_array_get_element (arr, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      JsonObject *m = json_node_get_object (n);
      JsonNode *name = json_object_get_member (m, "name");
      if (!name || json_node_get_value_type (name) != G_TYPE_STRING)
        continue;
      std::string id = json_node_get_string (name);
      if (id.starts_with ("models/"))
        id.erase (0, 7);
      /* Only what could be a model property: the list is shown to users. */
      if (!model_id_is_valid (id))
        continue;
      ListedModel lm;
      lm.id = id;
      JsonNode *display = json_object_get_member (m, "displayName");
      if (display && json_node_get_value_type (display) == G_TYPE_STRING) {
        /* Shown in messages: printable, short. */
        std::string d = json_node_get_string (display);
        if (d.size () > 80)
          d.resize (80);
        for (char & c : d)
          if (static_cast<unsigned char> (c) < 0x20 || c == 0x7f)
            c = ' ';
        GCharPtr valid (g_utf8_make_valid (d.c_str (), -1));
        lm.display_name = valid.get ();
      }
      JsonNode *methods = json_object_get_member (m, "supportedGenerationMethods");
      if (methods && JSON_NODE_HOLDS_ARRAY (methods)) {
        JsonArray *ma = json_node_get_array (methods);
        for (guint k = 0; k < json_array_get_length (ma); k++) {
          JsonNode *e = json_array_get_element (ma, k);
          if (json_node_get_value_type (e) == G_TYPE_STRING
              && g_strcmp0 (json_node_get_string (e), "generateContent") == 0)
            lm.generate_content = true;
        }
      }
      out.push_back (std::move (lm));
    }
  }
  JsonNode *token = json_object_get_member (obj, "nextPageToken");
  if (token && json_node_get_value_type (token) == G_TYPE_STRING) {
    next_page_token = json_node_get_string (token);
    /* A token goes back into a URL: bounded, printable. */
    if (next_page_token.size () > 1024 || std::any_of (next_page_token.begin (), next_page_token.end (),
            [] (char c) { return static_cast<unsigned char> (c) <= 0x20 || c == 0x7f; })) {
      error = "the model list's nextPageToken is not a page token";
      next_page_token.clear ();
      return false;
    }
  }
  return true;
}

bool
is_image_model (const ListedModel & m)
{
  if (!m.generate_content)
    return false;
  if (find_model_spec (m.id))
    return true;
  GCharPtr name (g_ascii_strdown (m.display_name.c_str (), -1));
  return m.id.find ("image") != std::string::npos || m.id.find ("nano-banana") != std::string::npos
      || strstr (name.get (), "image") || strstr (name.get (), "nano banana");
}

std::string
describe_image_models (const std::vector<ListedModel> & models, gsize max)
{
  std::vector<const ListedModel *> images;
  for (const ListedModel & m : models)
    if (is_image_model (m))
      images.push_back (&m);
  /* Catalogued models first, in the catalogue's order; the rest as listed. */
  auto rank = [] (const ListedModel * m) {
    auto cat = model_catalogue ();
    for (std::size_t i = 0; i < cat.size (); i++)
      if (m->id == cat[i].id)
        return static_cast<std::ptrdiff_t> (i);
    return static_cast<std::ptrdiff_t> (cat.size ());
  };
  std::stable_sort (images.begin (), images.end (),
      [&] (const ListedModel * a, const ListedModel * b) { return rank (a) < rank (b); });

  std::string out;
  gsize named = 0;
  for (const ListedModel *m : images) {
    if (named == max)
      break;
    if (!out.empty ())
      out += ", ";
    out += m->id;
    if (!m->display_name.empty () && m->display_name != m->id)
      out += " (" + m->display_name + ")";
    named++;
  }
  if (images.size () > named)
    out += " and " + std::to_string (images.size () - named) + " more";
  return out;
}

bool
is_model_not_found (guint http_status, const std::string & gemini_status, const std::string & message)
{
  return http_status == 404 && gemini_status == "NOT_FOUND" && message.find ("models/") != std::string::npos;
}

}  // namespace gemini
