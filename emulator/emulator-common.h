/* gst-gemini emulator: the JSON helpers and small definitions shared by the
 * server, the script reader, the request reader and the raw connections.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cassette.h"
#include "gemini-json.h"

namespace gemini::emulator {

using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr char kJsonType[] = "application/json; charset=UTF-8";

/* ------------------------------------------------------------------ JSON */

/* Parsing is gemini::parse_json () (gemini-json.h): bounded, as request
 * bodies and scripts come from outside. */
std::string to_json (JsonNode * node, bool pretty = true);
JsonNode *node_take_object (JsonObject * obj);
JsonNode *node_take_array (JsonArray * arr);

/* Proto-JSON accepts both the lowerCamelCase and the original snake_case name. */
JsonNode *member (JsonObject * obj, const char * camel, const char * snake = nullptr);

bool holds_string (JsonNode * n);
bool holds_int (JsonNode * n);
bool holds_bool (JsonNode * n);
JsonObject *as_object (JsonNode * n);
JsonArray *as_array (JsonNode * n);

/* ------------------------------------------------------ small utilities */

/* Whether `word` is one of the space-separated words of `list`. */
bool word_in (const char * list, std::string_view word);

}  // namespace gemini::emulator
