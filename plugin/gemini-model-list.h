/* gst-gemini: ListModels (GET /v1beta/models), asked when the API answers
 * 404 for a model, so that the error can name the image models the key can
 * use.
 *
 * Builds the page URLs and reads each page without trusting it: bounded
 * parsing (gemini-json), ids checked like the model property, a cap on
 * entries and pages. The HTTP exchange itself is the caller's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <string>
#include <vector>

namespace gemini {

/* Pages followed at most, and entries kept at most: the real list is about
 * 50 models on one page; a server that pages forever is cut off. */
inline constexpr guint kMaxModelListPages = 20;
inline constexpr gsize kMaxListedModels = 2000;
/* Asked per page (the API's maximum is 1000). */
inline constexpr guint kModelListPageSize = 1000;
/* Largest page body read. */
inline constexpr gsize kMaxModelListPageBytes = 4 * 1024 * 1024;

struct ListedModel {
  std::string id;             /* "gemini-3-pro-image" (name without "models/") */
  std::string display_name;   /* "Nano Banana Pro", or "" */
  bool generate_content = false;   /* supportedGenerationMethods has generateContent */
};

/* "<endpoint>/v1beta/models?pageSize=N[&pageToken=T]", the token escaped. */
std::string build_list_models_url (const std::string & endpoint, const std::string & page_token);

/* Appends one page's models to `out` (up to kMaxListedModels) and sets
 * `next_page_token` ("" on the last page). False, with `error` saying why,
 * when the body is not a ListModels page. */
bool parse_model_list_page (GBytes * body, std::vector<ListedModel> & out,
    std::string & next_page_token, std::string & error);

/* An image-generation model: generateContent, and an id or display name
 * that says image ("gemini-3-pro-image", "... Image", "nano-banana"). */
bool is_image_model (const ListedModel & model);

/* "gemini-3-pro-image (Nano Banana Pro), gemini-3.1-flash-image (Nano
 * Banana 2)": the image models of a list, catalogue rows first, at most
 * `max` named ("and N more"). "" when there are none. */
std::string describe_image_models (const std::vector<ListedModel> & models, gsize max = 12);

/* True for a 404 that is about the model, not the URL: error.status
 * NOT_FOUND and a message that names "models/". */
bool is_model_not_found (guint http_status, const std::string & gemini_status,
    const std::string & message);

}  // namespace gemini
