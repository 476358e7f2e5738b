/* gst-gemini: the model catalogue. To add or retire a model, edit kModels
 * below (docs/models.md walks through it); nothing else in the project
 * lists model ids.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-models.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gemini-protocol.h"

namespace gemini {

namespace {

constexpr guint bit (int i) { return 1u << i; }

/* Bits of kImageSizes and kAspectRatios. */
constexpr guint k512 = bit (0), k1K = bit (1), k2K = bit (2), k4K = bit (3);
constexpr guint kCommonRatios = (1u << 10) - 1;          /* 1:1 ... 21:9 */
constexpr guint kAllRatios = (1u << kAspectRatios.size ()) - 1;
/* Bits of kThinkingLevels. */
constexpr guint kMinimal = bit (0), kMedium = bit (2), kHigh = bit (3);

/* Scales a 1K row by a factor, for the tables Google gives as exact
 * multiples (2K = 2 x 1K, 4K = 4 x 1K). */
constexpr PixelSize times (PixelSize s, int f)
{
  return PixelSize {guint16 (s.width * f), guint16 (s.height * f)};
}

/* gemini-2.5-flash-image: one size (1K), whatever imageSize says.
 * https://ai.google.dev/gemini-api/docs/image-generation ("Aspect ratios
 * and image size", Gemini 2.5 Flash Image table). */
constexpr PixelTable make_flash25_table ()
{
  constexpr std::array<PixelSize, 10> k1K_ {{
    {1024, 1024}, {832, 1248}, {1248, 832}, {864, 1184}, {1184, 864},
    {896, 1152}, {1152, 896}, {768, 1344}, {1344, 768}, {1536, 672}}};
  PixelTable t {};
  for (std::size_t r = 0; r < k1K_.size (); r++)
    t[r][1] = k1K_[r];
  return t;
}

/* Gemini 3 Pro Image: 1K, 2K (2 x 1K), 4K (4 x 1K). Same page, Gemini 3
 * Pro Image table. */
constexpr PixelTable make_pro_table ()
{
  constexpr std::array<PixelSize, 10> k1K_ {{
    {1024, 1024}, {848, 1264}, {1264, 848}, {896, 1200}, {1200, 896},
    {928, 1152}, {1152, 928}, {768, 1376}, {1376, 768}, {1584, 672}}};
  PixelTable t {};
  for (std::size_t r = 0; r < k1K_.size (); r++) {
    t[r][1] = k1K_[r];
    t[r][2] = times (k1K_[r], 2);
    t[r][3] = times (k1K_[r], 4);
  }
  return t;
}

/* Gemini 3.1 Flash Image: 512, 1K, 2K, 4K and the four extreme ratios.
 * The image-generation page's Gemini 3.1 Flash Image table, as copied by
 * third parties (2026-10); its 512 21:9 entry reads 792x168, taken here as
 * 792x336, half of 1K like every other row. */
constexpr PixelTable make_flash31_table ()
{
  /* {512, 1K} per ratio, like kAspectRatios; 2K and 4K are 2x and 4x of 1K. */
  constexpr std::array<std::array<PixelSize, 2>, 14> rows {{
    {{{512, 512}, {1024, 1024}}},
    {{{424, 632}, {848, 1264}}},
    {{{632, 424}, {1264, 848}}},
    {{{448, 600}, {896, 1200}}},
    {{{600, 448}, {1200, 896}}},
    {{{464, 576}, {928, 1152}}},
    {{{576, 464}, {1152, 928}}},
    {{{384, 688}, {768, 1376}}},
    {{{688, 384}, {1376, 768}}},
    {{{792, 336}, {1584, 672}}},
    {{{256, 1024}, {512, 2048}}},
    {{{1024, 256}, {2048, 512}}},
    {{{192, 1536}, {384, 3072}}},
    {{{1536, 192}, {3072, 384}}},
  }};
  PixelTable t {};
  for (std::size_t r = 0; r < rows.size (); r++) {
    t[r][0] = rows[r][0];
    t[r][1] = rows[r][1];
    t[r][2] = times (rows[r][1], 2);
    t[r][3] = times (rows[r][1], 4);
  }
  return t;
}

constexpr PixelTable kFlash25Pixels = make_flash25_table ();
constexpr PixelTable kProPixels = make_pro_table ();
constexpr PixelTable kFlash31Pixels = make_flash31_table ();

constexpr double kUnknown = kUnknownPrice;

/* Sources, cited per row (docs/models.md has the full list with what each
 * one says). */
constexpr const char *kChangelog = "https://ai.google.dev/gemini-api/docs/changelog";
constexpr const char *kDeprecations = "https://ai.google.dev/gemini-api/docs/deprecations";
constexpr const char *kImageDocs = "https://ai.google.dev/gemini-api/docs/image-generation";

/* The catalogue. Newest first within a family: an alias stands for the
 * first served, not deprecated, row of its family. */
constexpr std::array<ModelSpec, 8> kModels {{
  /* id, alias, name, status, since, replacement,
   * sizes, default size, ratios, thinking levels, thinks, output,
   * pixels, documented, max references, price per 512/1K/2K/4K,
   * confirmed, source */
  {"gemini-nano-banana-2.1", "nano-banana", "Nano Banana 2.1", ModelStatus::Served, nullptr, nullptr,
   k1K | k2K | k4K, "1K", kAllRatios, kMinimal | kMedium | kHigh, true, "image/jpeg",
   &kFlash31Pixels, false, 14, {0, 0.0336, kUnknown, 0.1134},
   true, kChangelog},
  {"gemini-3.1-flash-image", "nano-banana", "Nano Banana 2", ModelStatus::Deprecated,
   "2026-10-06", "gemini-nano-banana-2.1",
   k512 | k1K | k2K | k4K, "1K", kAllRatios, kMinimal | kHigh, true, "image/jpeg",
   &kFlash31Pixels, true, 14, {0.045, 0.067, 0.101, 0.151},
   true, kChangelog},
  {"gemini-3.1-flash-image-preview", "nano-banana", "Nano Banana 2 (preview)", ModelStatus::Retired,
   "2026-06-25", "gemini-3.1-flash-image",
   k512 | k1K | k2K | k4K, "1K", kAllRatios, kMinimal | kHigh, true, "image/jpeg",
   &kFlash31Pixels, true, 14, {0.045, 0.067, 0.101, 0.151},
   true, kDeprecations},
  {"gemini-2.5-flash-image", "nano-banana", "Nano Banana", ModelStatus::Retired,
   "2026-10-02", "gemini-3.1-flash-image",
   k1K, "1K", kCommonRatios, 0, false, "image/png",
   &kFlash25Pixels, true, 3, {0, 0.039, 0, 0},
   true, kDeprecations},
  {"gemini-2.5-flash-image-preview", "nano-banana", "Nano Banana (preview)", ModelStatus::Retired,
   "2026-01-15", "gemini-2.5-flash-image",
   k1K, "1K", kCommonRatios, 0, false, "image/png",
   &kFlash25Pixels, true, 3, {0, 0.039, 0, 0},
   true, kChangelog},
  {"gemini-3-pro-image", "nano-banana-pro", "Nano Banana Pro", ModelStatus::Served, nullptr, nullptr,
   k1K | k2K | k4K, "1K", kCommonRatios, 0, true, "image/jpeg",
   &kProPixels, true, 14, {0, 0.134, 0.134, 0.24},
   true, kImageDocs},
  {"gemini-3-pro-image-preview", "nano-banana-pro", "Nano Banana Pro (preview)", ModelStatus::Retired,
   "2026-06-25", "gemini-3-pro-image",
   k1K | k2K | k4K, "1K", kCommonRatios, 0, true, "image/jpeg",
   &kProPixels, true, 14, {0, 0.134, 0.134, 0.24},
   true, kDeprecations},
  {"gemini-3.1-flash-lite-image", "nano-banana-lite", "Nano Banana 2 Lite", ModelStatus::Served,
   nullptr, nullptr,
   k1K, "1K", kCommonRatios, kMinimal | kHigh, true, "image/jpeg",
   &kFlash31Pixels, false, 14, {0, 0.034, 0, 0},
   true, "https://ai.google.dev/gemini-api/docs/models/gemini-3.1-flash-lite-image"},
}};

/* An alias names the first served row of its family; a deprecated row
 * only when the family has nothing newer. */
const ModelSpec *
alias_target (std::string_view alias)
{
  const ModelSpec *fallback = nullptr;
  for (const ModelSpec & m : kModels) {
    if (alias != m.alias)
      continue;
    if (m.status == ModelStatus::Served)
      return &m;
    if (m.status == ModelStatus::Deprecated && !fallback)
      fallback = &m;
  }
  return fallback;
}

template <std::size_t N>
int
index_in (const std::array<const char *, N> & values, std::string_view v)
{
  for (std::size_t i = 0; i < N; i++)
    if (v == values[i])
      return static_cast<int> (i);
  return -1;
}

/* log(w/h) of "W:H". */
double
ratio_log (const char *ratio)
{
  int a = 0, b = 0;
  if (std::sscanf (ratio, "%d:%d", &a, &b) != 2 || a <= 0 || b <= 0)
    return 0;
  return std::log (double (a) / b);
}

/* The ratio `spec` takes that is closest in shape to `ratio`. */
const char *
closest_ratio (const ModelSpec & spec, const char *ratio)
{
  const double target = ratio_log (ratio);
  const char *best = nullptr;
  double best_distance = INFINITY;
  for (std::size_t i = 0; i < kAspectRatios.size (); i++) {
    if (!spec.takes_ratio (static_cast<int> (i)))
      continue;
    const double d = std::fabs (ratio_log (kAspectRatios[i]) - target);
    if (d < best_distance) {
      best_distance = d;
      best = kAspectRatios[i];
    }
  }
  return best;
}

template <std::size_t N>
std::string
list_of (const std::array<const char *, N> & values, guint bits)
{
  std::string out;
  for (std::size_t i = 0; i < N; i++) {
    if (!((bits >> i) & 1u))
      continue;
    if (!out.empty ())
      out += ", ";
    out += values[i];
  }
  return out;
}

std::string
lower (const char *s)
{
  std::string out (s);
  for (char & c : out)
    c = g_ascii_tolower (c);
  return out;
}

}  // namespace

int
image_size_index (std::string_view size)
{
  return index_in (kImageSizes, size);
}

int
aspect_ratio_index (std::string_view ratio)
{
  return index_in (kAspectRatios, ratio);
}

int
thinking_level_index (std::string_view level)
{
  return index_in (kThinkingLevels, level);
}

std::span<const ModelSpec>
model_catalogue ()
{
  return kModels;
}

const ModelSpec *
find_model_spec (std::string_view id)
{
  for (const ModelSpec & m : kModels)
    if (id == m.id)
      return &m;
  return nullptr;
}

std::vector<ModelAlias>
model_aliases ()
{
  std::vector<ModelAlias> out;
  for (const ModelSpec & m : kModels) {
    const bool seen = std::any_of (out.begin (), out.end (),
        [&] (const ModelAlias & a) { return std::string_view (a.alias) == m.alias; });
    if (seen)
      continue;
    if (const ModelSpec *target = alias_target (m.alias))
      out.push_back (ModelAlias {m.alias, target});
  }
  return out;
}

ModelChoice
resolve_model (const std::string & name)
{
  ModelChoice choice;
  for (const ModelAlias & a : model_aliases ()) {
    if (name == a.alias) {
      choice.id = a.spec->id;
      choice.alias = a.alias;
      choice.spec = a.spec;
      return choice;
    }
  }
  choice.id = name;
  choice.spec = find_model_spec (name);
  return choice;
}

std::string
retirement_text (const ModelSpec & spec)
{
  std::string text = std::string (spec.id) + " (" + spec.name + ")"
      + (spec.status == ModelStatus::Retired ? " was shut down by Google on " : " is deprecated by Google since ")
      + (spec.since ? spec.since : "an earlier date") + ".";
  if (!spec.replacement)
    return text;
  /* Follow the chain (bounded: the table is small) to a model that is
   * served and not deprecated. */
  const ModelSpec *use = find_model_spec (spec.replacement);
  for (std::size_t hops = 0; use && use->status != ModelStatus::Served && use->replacement
      && hops < kModels.size (); hops++)
    use = find_model_spec (use->replacement);
  if (!use || std::string_view (use->id) == spec.replacement) {
    text += std::string (" Use ") + spec.replacement;
  } else {
    text += std::string (" Google named ") + spec.replacement + " instead, which is "
        + (find_model_spec (spec.replacement)->status == ModelStatus::Retired ? "shut down" : "deprecated")
        + " too; use " + use->id;
  }
  if (use) {
    text += std::string (" (") + use->name;
    if (alias_target (use->alias) == use)
      text += std::string (", model=") + use->alias;
    text += ")";
  }
  return text + ".";
}

std::optional<PixelSize>
output_pixels (const ModelSpec & spec, std::string_view ratio, std::string_view size)
{
  const int r = aspect_ratio_index (ratio.empty () ? "1:1" : ratio);
  const int s = image_size_index (size.empty () ? std::string_view (spec.default_size) : size);
  if (!spec.pixels || !spec.takes_ratio (r))
    return std::nullopt;
  /* A 1K-only model makes 1K whatever imageSize says. */
  const int used = spec.sizes == k1K ? 1 : s;
  if (!spec.takes_size (used))
    return std::nullopt;
  const PixelSize p = (*spec.pixels)[r][used];
  if (p.width == 0 || p.height == 0)
    return std::nullopt;
  return p;
}

std::vector<OptionChange>
fit_to_model (const ModelSpec * spec, const std::string & id, RequestSettings & s)
{
  std::vector<OptionChange> changes;
  if (!spec)
    return changes;

  if (!s.image_size.empty () && !spec->takes_size (image_size_index (s.image_size))) {
    changes.push_back ({"image-size", "image-size=" + s.image_size + " is not sent: " + id
        + " takes " + list_of (kImageSizes, spec->sizes) + " only, so it makes its default ("
        + spec->default_size + ")."});
    s.image_size.clear ();
  }

  if (!s.aspect_ratio.empty () && !spec->takes_ratio (aspect_ratio_index (s.aspect_ratio))) {
    const char *closest = closest_ratio (*spec, s.aspect_ratio.c_str ());
    changes.push_back ({"aspect-ratio", "aspect-ratio=" + s.aspect_ratio + " is sent as "
        + (closest ? closest : "nothing") + ": " + id + " does not take " + s.aspect_ratio
        + " (it takes " + list_of (kAspectRatios, spec->ratios) + "), and " + (closest ? closest : "")
        + " is the closest shape it does."});
    s.aspect_ratio = closest ? closest : "";
  }

  if (!s.thinking_level.empty () && !spec->takes_thinking_level (thinking_level_index (s.thinking_level))) {
    const std::string taken = spec->thinking_levels
        ? "it takes " + lower (list_of (kThinkingLevels, spec->thinking_levels).c_str ()) + " only"
        : "its thinking cannot be set";
    changes.push_back ({"thinking-level", "thinking-level=" + lower (s.thinking_level.c_str ())
        + " is not sent: for " + id + " " + taken + "."});
    s.thinking_level.clear ();
  }

  if (spec->max_reference_images && s.references.size () > spec->max_reference_images) {
    changes.push_back ({"reference-images", "Only the first " + std::to_string (spec->max_reference_images)
        + " of " + std::to_string (s.references.size ()) + " reference images are sent: " + id
        + " takes at most " + std::to_string (spec->max_reference_images) + "."});
    s.references.resize (spec->max_reference_images);
  }
  return changes;
}

std::string
describe_aliases (const char *separator)
{
  std::string out;
  for (const ModelAlias & a : model_aliases ()) {
    if (!out.empty ())
      out += separator;
    out += std::string (a.alias) + " = " + a.spec->id + " (" + a.spec->name + ")";
  }
  return out;
}

}  // namespace gemini
