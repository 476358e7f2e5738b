/* gst-gemini emulator: what ListModels (GET /v1beta/models) and models.get
 * (GET /v1beta/models/{id}) answer: a fixed set of models that do not make
 * images (text, embedding, Imagen, Veo, ...), then the image models of the
 * catalogue (gemini-models.h) that are served or deprecated. Retired ids
 * are not listed. See docs/emulator.md.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gemini-models.h"

namespace gemini::emulator {

/* pageSize when the request does not set one (or sets 0), and the largest
 * one honoured, like the real API. */
inline constexpr guint kDefaultListPageSize = 50;
inline constexpr guint kMaxListPageSize = 1000;

struct ListedModel {
  std::string id;                 /* "gemini-2.5-flash" (name without "models/") */
  std::string display_name;
  std::string description;
  gint64 input_token_limit = 0;
  gint64 output_token_limit = 0;
  std::vector<std::string> methods;   /* supportedGenerationMethods */
  bool thinking = false;
  const ModelSpec *spec = nullptr;    /* the catalogue row of an image model */
};

/* Everything ListModels lists, in its order: the other models first, then
 * the catalogue's served and deprecated image models. */
const std::vector<ListedModel> & listed_models ();

/* The listed model `id`, or nullptr (unknown or retired). */
const ListedModel *find_listed_model (std::string_view id);

/* One entry of the "models" array, as the API sends it. */
JsonObject *model_entry (const ListedModel & model);

/* The opaque nextPageToken of a page that ends before listed_models ()[index]. */
std::string page_token (gsize index);

/* The index a pageToken stands for; nothing for a token this emulator did
 * not issue (or whose model is no longer listed). */
std::optional<gsize> page_token_index (const std::string & token);

}  // namespace gemini::emulator
