/* gst-gemini emulator: reader for VCR.py YAML cassettes (the recorded Gemini
 * exchanges the tests replay), producing json-glib trees.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gemini-json.h"

namespace gemini::emulator {

/* The json-glib owners are the plugin's (gemini-json.h); these names keep
 * emulator::JsonNodePtr and friends meaning the same types. */
using gemini::JsonArrayPtr;
using gemini::JsonNodePtr;
using gemini::JsonObjectPtr;

/* One recorded request/response pair. */
struct Interaction {
  std::string method;
  std::string uri;
  /* request.parsed_body, or request.body parsed as JSON; nullptr when the
   * cassette has neither (or the body is not JSON). */
  JsonNodePtr request_body;
  guint status = 0;
  /* One pair per recorded value, names as recorded (VCR lower-cases them). */
  std::vector<std::pair<std::string, std::string>> response_headers;
  /* response.parsed_body, or response.body parsed as JSON; may be nullptr. */
  JsonNodePtr response_body;

  /* First value of a response header (case-insensitive), or nullptr. */
  const char *response_header (const char * name) const;
};

/* Converts the first document of a YAML stream to JSON. Quoted scalars are
 * strings; plain scalars are typed like YAML's core schema: integers, floats,
 * true/false, null/~, anything else a string. Mapping keys are always
 * strings. Returns nullptr and sets `error` (with line/column) on failure. */
JsonNodePtr yaml_to_json (const char * data, gsize size, std::string & error);

/* Loads every interaction of a VCR cassette held in memory. */
bool load_cassette_from_data (const char * data, gsize size,
    std::vector<Interaction> & out, std::string & error);

/* Loads a cassette file (memory-mapped; MB-sized base64 strings are fine). */
bool load_cassette (const std::string & path, std::vector<Interaction> & out,
    std::string & error);

}  // namespace gemini::emulator
