/* gst-gemini emulator: the script format (see docs/emulator.md): the steps
 * and their actions, and what happens when the steps run out.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cassette.h"
#include "emulator-answer.h"
#include "emulator-common.h"

namespace gemini::emulator {

/* What a script step does ("do"). Not gemini::Action, the plugin's verdict
 * on an outcome. */
enum class ScriptAction {
  Image, TextOnly, Finish, PromptBlocked, Error, ErrorIn200, Replay, Raw, MalformedJson,
  BadBase64, BadImage, Bomb, Reset, Truncate, Hang, Endless, Stream,
};

using Cassette = std::vector<Interaction>;

struct Step {
  ScriptAction action = ScriptAction::Image;
  std::string name = "image";
  std::optional<guint> delay_ms;
  Headers headers;
  std::optional<std::string> text, message;
  std::string reason;
  guint status = 0;
  std::string retry_delay, quota_id, retry_after;
  bool limit_zero = false;
  std::string content_type, body;
  std::shared_ptr<const Cassette> cassette;
  guint interaction = 0;
  std::string file;
  guint64 width = 100000, height = 100000;
  std::optional<guint64> bytes;
  guint chunk_bytes = 65536, interval_ms = 10;
  SseShape sse;
};

/* What happens when the steps run out. */
enum class Then { Default, Repeat, Cycle };

const char *then_name (Then t);

struct Script {
  std::vector<Step> steps;
  Then then = Then::Default;
  /* "list_page_size": caps ListModels pages while the script is loaded
   * (overrides --list-page-size). */
  std::optional<guint> list_page_size;
};

using CassetteLoader =
    std::function<std::shared_ptr<const Cassette> (const std::string & file, std::string & error)>;

/* Parses a script (an object with "steps" and "then", or an array of
 * steps); "replay" steps load their cassette through `load`. */
bool parse_script (JsonNode * root, const CassetteLoader & load, Script & out, std::string & error);

}  // namespace gemini::emulator
