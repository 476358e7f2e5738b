/* Unit tests of plugin/gemini-models.cpp and plugin/gemini-model-list.cpp:
 * the catalogue's invariants, alias resolution, retirement messages,
 * options fitted to a model, and ListModels pages read without trust.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "gemini-model-list.h"
#include "gemini-models.h"
#include "gemini-protocol.h"

#include <gst/check/gstcheck.h>

using namespace gemini;

#define assert_str(expr, expected) \
  G_STMT_START { std::string got_ = (expr); fail_unless_equals_string (got_.c_str (), expected); } G_STMT_END
#define assert_contains(haystack, needle) \
  G_STMT_START { std::string h_ = (haystack); \
    fail_unless (h_.find (needle) != std::string::npos, "\"%s\" does not contain \"%s\"", h_.c_str (), needle); \
  } G_STMT_END

static double
ratio_value (const char *ratio)
{
  int a = 0, b = 0;
  fail_unless (sscanf (ratio, "%d:%d", &a, &b) == 2);
  return double (a) / b;
}

/* Every row is complete and consistent: one edit adds a model, and these
 * checks catch a row that forgot something. */
GST_START_TEST (test_catalogue_rows)
{
  std::set<std::string> ids;
  for (const ModelSpec & m : model_catalogue ()) {
    fail_unless (model_id_is_valid (m.id), "%s", m.id);
    fail_unless (ids.insert (m.id).second, "%s listed twice", m.id);
    fail_unless (m.alias && *m.alias && m.name && *m.name && m.source && *m.source, "%s", m.id);
    fail_unless (m.sizes != 0 && m.takes_size (image_size_index (m.default_size)), "%s", m.id);
    /* The ten common ratios: every model. */
    for (int r = 0; r < 10; r++)
      fail_unless (m.takes_ratio (r), "%s lacks %s", m.id, kAspectRatios[r]);
    fail_unless (g_str_equal (m.output_mime, "image/png") || g_str_equal (m.output_mime, "image/jpeg"));
    fail_unless (m.max_reference_images > 0, "%s", m.id);
    if (m.status == ModelStatus::Served) {
      fail_unless (m.since == nullptr && m.replacement == nullptr, "%s", m.id);
    } else {
      fail_unless (m.since && strlen (m.since) == 10 && m.replacement, "%s needs a date and a replacement", m.id);
      fail_unless (find_model_spec (m.replacement) != nullptr, "%s: replacement %s is not catalogued",
          m.id, m.replacement);
    }
    for (std::size_t s = 0; s < kImageSizes.size (); s++) {
      const bool takes = m.takes_size (static_cast<int> (s));
      fail_unless (takes == (m.price_usd[s] != 0), "%s %s: price and sizes disagree", m.id, kImageSizes[s]);
      fail_unless (m.price_usd[s] == kUnknownPrice || m.price_usd[s] >= 0);
    }
    /* Each offered combination has a size with the ratio's shape (within
     * rounding to multiples of 8 or 16) and the size class's scale. */
    for (std::size_t r = 0; r < kAspectRatios.size (); r++) {
      for (std::size_t s = 0; s < kImageSizes.size (); s++) {
        if (!m.takes_ratio (static_cast<int> (r)) || !m.takes_size (static_cast<int> (s)))
          continue;
        auto px = output_pixels (m, kAspectRatios[r], kImageSizes[s]);
        fail_unless (px.has_value (), "%s %s %s has no pixel size", m.id, kAspectRatios[r], kImageSizes[s]);
        const double shape = double (px->width) / px->height;
        fail_unless (std::fabs (std::log (shape / ratio_value (kAspectRatios[r]))) < 0.1,
            "%s %s %s: %ux%u is not that shape", m.id, kAspectRatios[r], kImageSizes[s], px->width, px->height);
        const double side = std::sqrt (double (px->width) * px->height);
        const double nominal[] = {512, 1024, 2048, 4096};
        const double expected = m.sizes == (1u << 1) ? 1024 : nominal[s];
        /* Extreme ratios trade area for length: within a factor of 1.6. */
        fail_unless (side > expected / 1.6 && side < expected * 1.25, "%s %s %s: %ux%u is not %s",
            m.id, kAspectRatios[r], kImageSizes[s], px->width, px->height, kImageSizes[s]);
      }
    }
  }
}
GST_END_TEST;

/* Facts checked against the sources the rows cite (docs/models.md). */
GST_START_TEST (test_catalogue_facts)
{
  const ModelSpec *flash25 = find_model_spec ("gemini-2.5-flash-image");
  fail_unless (flash25 && flash25->status == ModelStatus::Retired);
  assert_str (flash25->since, "2026-10-02");
  assert_str (flash25->output_mime, "image/png");
  fail_unless_equals_int (flash25->max_reference_images, 3);

  const ModelSpec *pro = find_model_spec ("gemini-3-pro-image");
  fail_unless (pro && pro->status == ModelStatus::Served);
  fail_unless (!pro->takes_size (image_size_index ("512")) && pro->takes_size (image_size_index ("4K")));
  fail_unless (!pro->takes_ratio (aspect_ratio_index ("1:8")));
  fail_unless_equals_int (pro->max_reference_images, 14);
  auto px = output_pixels (*pro, "16:9", "4K");
  fail_unless (px && px->width == 5504 && px->height == 3072);

  const ModelSpec *flash31 = find_model_spec ("gemini-3.1-flash-image");
  fail_unless (flash31 && flash31->status == ModelStatus::Deprecated);
  assert_str (flash31->replacement, "gemini-nano-banana-2.1");
  px = output_pixels (*flash31, "1:8", "512");
  fail_unless (px && px->width == 192 && px->height == 1536);
  px = output_pixels (*flash31, "1:8", "");
  fail_unless (px && px->width == 384 && px->height == 3072);
  fail_unless (flash31->takes_thinking_level (thinking_level_index ("HIGH")));
  fail_unless (!flash31->takes_thinking_level (thinking_level_index ("LOW")));

  for (const char *id : {"gemini-3-pro-image-preview", "gemini-3.1-flash-image-preview"}) {
    const ModelSpec *m = find_model_spec (id);
    fail_unless (m && m->status == ModelStatus::Retired, "%s", id);
    assert_str (m->since, "2026-06-25");
  }
  /* A 1K-only model makes 1K whatever imageSize says. */
  px = output_pixels (*flash25, "16:9", "4K");
  fail_unless (px && px->width == 1344 && px->height == 768);
  fail_if (output_pixels (*flash25, "1:8", "").has_value ());
}
GST_END_TEST;

GST_START_TEST (test_aliases)
{
  ModelChoice c = resolve_model ("nano-banana");
  assert_str (c.id, "gemini-nano-banana-2.1");
  assert_str (c.alias, "nano-banana");
  fail_unless (c.spec && c.spec->status == ModelStatus::Served);
  assert_str (resolve_model ("nano-banana-pro").id, "gemini-3-pro-image");
  assert_str (resolve_model ("nano-banana-lite").id, "gemini-3.1-flash-lite-image");
  assert_str (resolve_model (kDefaultModel).id, "gemini-nano-banana-2.1");

  /* Ids are sent as given, catalogued or not. */
  c = resolve_model ("gemini-3-pro-image-preview");
  assert_str (c.id, "gemini-3-pro-image-preview");
  fail_unless (c.alias.empty () && c.spec && c.spec->status == ModelStatus::Retired);
  c = resolve_model ("gemini-9-ultra-image");
  assert_str (c.id, "gemini-9-ultra-image");
  fail_unless (c.spec == nullptr);

  /* Every alias names a served model; each family has one. */
  auto aliases = model_aliases ();
  fail_unless_equals_int (aliases.size (), 3);
  for (const ModelAlias & a : aliases)
    fail_unless (a.spec->status == ModelStatus::Served, "%s", a.alias);
  const std::string text = describe_aliases ("; ");
  assert_contains (text, "nano-banana = gemini-nano-banana-2.1 (Nano Banana 2.1)");
  assert_contains (text, "nano-banana-pro = gemini-3-pro-image (Nano Banana Pro)");
}
GST_END_TEST;

GST_START_TEST (test_retirement_text)
{
  /* The chain is followed to a model that is served: 2.5 -> 3.1 (itself
   * deprecated) -> 2.1. */
  assert_str (retirement_text (*find_model_spec ("gemini-2.5-flash-image")),
      "gemini-2.5-flash-image (Nano Banana) was shut down by Google on 2026-10-02. Google named "
      "gemini-3.1-flash-image instead, which is deprecated too; use gemini-nano-banana-2.1 "
      "(Nano Banana 2.1, model=nano-banana).");
  assert_str (retirement_text (*find_model_spec ("gemini-3-pro-image-preview")),
      "gemini-3-pro-image-preview (Nano Banana Pro (preview)) was shut down by Google on 2026-06-25. "
      "Use gemini-3-pro-image (Nano Banana Pro, model=nano-banana-pro).");
  assert_str (retirement_text (*find_model_spec ("gemini-3.1-flash-image")),
      "gemini-3.1-flash-image (Nano Banana 2) is deprecated by Google since 2026-10-06. "
      "Use gemini-nano-banana-2.1 (Nano Banana 2.1, model=nano-banana).");
}
GST_END_TEST;

static RequestSettings
settings (const char *size, const char *ratio, const char *level, gsize refs)
{
  RequestSettings s;
  s.image_size = size;
  s.aspect_ratio = ratio;
  s.thinking_level = level;
  for (gsize i = 0; i < refs; i++)
    s.references.push_back (ReferenceImage {"ref" + std::to_string (i) + ".png", "image/png", {}});
  return s;
}

GST_START_TEST (test_fit_to_model)
{
  const ModelSpec *pro = find_model_spec ("gemini-3-pro-image");
  RequestSettings s = settings ("512", "1:8", "LOW", 16);
  auto changes = fit_to_model (pro, pro->id, s);
  fail_unless_equals_int (changes.size (), 4);
  assert_str (changes[0].property, "image-size");
  assert_str (changes[0].text, "image-size=512 is not sent: gemini-3-pro-image takes 1K, 2K, 4K only, "
      "so it makes its default (1K).");
  assert_str (changes[1].property, "aspect-ratio");
  assert_contains (changes[1].text, "aspect-ratio=1:8 is sent as 9:16: gemini-3-pro-image does not take 1:8");
  assert_str (changes[2].property, "thinking-level");
  assert_str (changes[2].text, "thinking-level=low is not sent: for gemini-3-pro-image its thinking "
      "cannot be set.");
  assert_str (changes[3].property, "reference-images");
  assert_str (changes[3].text, "Only the first 14 of 16 reference images are sent: gemini-3-pro-image "
      "takes at most 14.");
  fail_unless (s.image_size.empty ());
  assert_str (s.aspect_ratio, "9:16");
  fail_unless (s.thinking_level.empty ());
  fail_unless_equals_int (s.references.size (), 14);

  /* 8:1 becomes the widest common ratio. */
  s = settings ("", "8:1", "", 0);
  fit_to_model (pro, pro->id, s);
  assert_str (s.aspect_ratio, "21:9");

  /* What the model takes passes unchanged. */
  const ModelSpec *flash31 = find_model_spec ("gemini-3.1-flash-image");
  s = settings ("512", "1:8", "HIGH", 2);
  fail_unless (fit_to_model (flash31, flash31->id, s).empty ());
  assert_str (s.image_size, "512");
  assert_str (s.aspect_ratio, "1:8");
  assert_str (s.thinking_level, "HIGH");

  s = settings ("", "", "LOW", 0);
  changes = fit_to_model (flash31, flash31->id, s);
  fail_unless_equals_int (changes.size (), 1);
  assert_str (changes[0].text, "thinking-level=low is not sent: for gemini-3.1-flash-image it takes "
      "minimal, high only.");

  /* A model the catalogue does not know gets every option as set. */
  s = settings ("512", "1:8", "LOW", 20);
  fail_unless (fit_to_model (nullptr, "gemini-9-ultra-image", s).empty ());
  fail_unless_equals_int (s.references.size (), 20);
}
GST_END_TEST;

static GBytes *
bytes_of (const std::string & s)
{
  return g_bytes_new (s.data (), s.size ());
}

GST_START_TEST (test_list_models_url)
{
  assert_str (build_list_models_url ("https://generativelanguage.googleapis.com", ""),
      "https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000");
  assert_str (build_list_models_url ("http://127.0.0.1:9/v1beta/", "a b&c=d"),
      "http://127.0.0.1:9/v1beta/models?pageSize=1000&pageToken=a%20b%26c%3Dd");
}
GST_END_TEST;

GST_START_TEST (test_parse_model_list)
{
  std::vector<ListedModel> models;
  std::string token, error;
  GBytes *page = bytes_of (R"({"models":[
      {"name":"models/gemini-2.5-flash","displayName":"Gemini 2.5 Flash",
       "supportedGenerationMethods":["generateContent","countTokens"]},
      {"name":"models/imagen-4.0-generate-001","displayName":"Imagen 4","supportedGenerationMethods":["predict"]},
      {"name":"models/gemini-3-pro-image","displayName":"Nano Banana Pro",
       "supportedGenerationMethods":["generateContent"]},
      {"name":"models/bad id/../x","supportedGenerationMethods":["generateContent"]},
      {"name":42}, "not an object",
      {"name":"models/gemini-nano-banana-2.1","displayName":"Nano\nBanana 2.1",
       "supportedGenerationMethods":["generateContent"]}],
      "nextPageToken":"tok-2"})");
  fail_unless (parse_model_list_page (page, models, token, error), "%s", error.c_str ());
  g_bytes_unref (page);
  fail_unless_equals_int (models.size (), 4);
  assert_str (token, "tok-2");
  assert_str (models[3].display_name, "Nano Banana 2.1");
  fail_if (is_image_model (models[0]));
  fail_if (is_image_model (models[1]));   /* an image model, but not generateContent */
  fail_unless (is_image_model (models[2]));
  /* Catalogue order first: 2.1 before Pro. */
  assert_str (describe_image_models (models),
      "gemini-nano-banana-2.1 (Nano Banana 2.1), gemini-3-pro-image (Nano Banana Pro)");
  assert_str (describe_image_models (models, 1), "gemini-nano-banana-2.1 (Nano Banana 2.1) and 1 more");

  /* The last page: no token, maybe no models. */
  page = bytes_of ("{}");
  fail_unless (parse_model_list_page (page, models, token, error));
  g_bytes_unref (page);
  fail_unless (token.empty ());

  for (const char *bad : {"", "[]", "{\"models\":{}}", "{\"models\":[],\"nextPageToken\":\"a\\nb\"}",
           "{\"models\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}) {
    std::vector<ListedModel> none;
    page = bytes_of (bad);
    fail_if (parse_model_list_page (page, none, token, error), "accepted %.40s", bad);
    fail_if (error.empty ());
    g_bytes_unref (page);
  }
}
GST_END_TEST;

GST_START_TEST (test_model_not_found)
{
  fail_unless (is_model_not_found (404, "NOT_FOUND", "models/x is not found for API version v1beta"));
  fail_unless (is_model_not_found (404, "NOT_FOUND",
          "This model models/x is no longer available. Please update your code to use a newer model"));
  fail_if (is_model_not_found (404, "NOT_FOUND", "Method not found."));
  fail_if (is_model_not_found (404, "", "models/x"));
  fail_if (is_model_not_found (400, "NOT_FOUND", "models/x"));
}
GST_END_TEST;

static Suite *
models_suite (void)
{
  Suite *s = suite_create ("models");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_catalogue_rows);
  tcase_add_test (tc, test_catalogue_facts);
  tcase_add_test (tc, test_aliases);
  tcase_add_test (tc, test_retirement_text);
  tcase_add_test (tc, test_fit_to_model);
  tcase_add_test (tc, test_list_models_url);
  tcase_add_test (tc, test_parse_model_list);
  tcase_add_test (tc, test_model_not_found);
  return s;
}

GST_CHECK_MAIN (models);
