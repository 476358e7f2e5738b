/* gst-gemini: the model catalogue — every Gemini image model the project
 * knows, its aliases, what it accepts and what it costs.
 *
 * One table (gemini-models.cpp) read by the element (aliases, retired ids,
 * options a model does not take), by the emulator (formats and pixel
 * sizes it answers with) and, later, by cost accounting. Adding a model is
 * one row there; docs/models.md says how.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gemini {

struct RequestSettings;

/* imageConfig.imageSize values, in this order (bit i of ModelSpec::sizes). */
inline constexpr std::array<const char *, 4> kImageSizes {"512", "1K", "2K", "4K"};
/* imageConfig.aspectRatio values: the ten every model takes, then the
 * extreme ones (bit i of ModelSpec::ratios). */
inline constexpr std::array<const char *, 14> kAspectRatios {
  "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
  "1:4", "4:1", "1:8", "8:1"};
/* thinkingConfig.thinkingLevel values as the SDKs send them (bit i of
 * ModelSpec::thinking_levels). */
inline constexpr std::array<const char *, 4> kThinkingLevels {"MINIMAL", "LOW", "MEDIUM", "HIGH"};

/* Index in the arrays above, or -1. */
int image_size_index (std::string_view size);
int aspect_ratio_index (std::string_view ratio);
int thinking_level_index (std::string_view level);

struct PixelSize {
  guint16 width = 0, height = 0;   /* 0 x 0: not offered */
};
/* [ratio][size], indexed like kAspectRatios and kImageSizes. */
using PixelTable = std::array<std::array<PixelSize, kImageSizes.size ()>, kAspectRatios.size ()>;

enum class ModelStatus {
  Served,       /* Google serves it on the Gemini API */
  Deprecated,   /* still served, but Google names a replacement */
  Retired,      /* shut down: requests answer 404 */
};

inline constexpr double kUnknownPrice = -1;

struct ModelSpec {
  const char *id;             /* what goes into the request path */
  const char *alias;          /* family alias: "nano-banana", ... */
  const char *name;           /* Google's product name: "Nano Banana 2" */
  ModelStatus status;
  const char *since;          /* Deprecated or Retired: the date, "2026-10-02" */
  const char *replacement;    /* Deprecated or Retired: the id Google names instead */
  guint sizes;                /* bit per kImageSizes */
  const char *default_size;   /* what the model makes when imageSize is not sent */
  guint ratios;               /* bit per kAspectRatios */
  guint thinking_levels;      /* bit per kThinkingLevels; 0 = cannot be set */
  bool thinks;                /* thinks always: thought parts and signatures */
  const char *output_mime;    /* "image/png" or "image/jpeg" */
  const PixelTable *pixels;   /* output size per ratio and size */
  bool pixels_documented;     /* false: the family's table, not Google's */
  guint max_reference_images;
  /* List price per image in US dollars (standard tier), per kImageSizes;
   * 0 where the size is not offered, kUnknownPrice where no source says. */
  std::array<double, kImageSizes.size ()> price_usd;
  bool confirmed;             /* by Google's own pages (else third parties) */
  const char *source;         /* where the row's facts come from */

  bool takes_size (int index) const { return index >= 0 && (sizes >> index) & 1u; }
  bool takes_ratio (int index) const { return index >= 0 && (ratios >> index) & 1u; }
  bool takes_thinking_level (int index) const
  {
    return index >= 0 && (thinking_levels >> index) & 1u;
  }
};

/* Every known model, newest first within a family. */
std::span<const ModelSpec> model_catalogue ();

/* The row of an exact id, or nullptr. */
const ModelSpec *find_model_spec (std::string_view id);

/* An alias and the id it stands for today. */
struct ModelAlias {
  const char *alias;
  const ModelSpec *spec;
};
/* Each alias, resolved to the first served row of its family. */
std::vector<ModelAlias> model_aliases ();

/* What the model property names. */
struct ModelChoice {
  std::string id;             /* sent in the request path */
  std::string alias;          /* the alias it came from, or "" */
  const ModelSpec *spec = nullptr;   /* nullptr: not in the catalogue */
};
/* An alias resolves through the catalogue; anything else is taken as an
 * id, as given. */
ModelChoice resolve_model (const std::string & name);

/* What a user of a deprecated or retired model should know: "gemini-2.5-
 * flash-image (Nano Banana) was shut down by Google on 2026-10-02. Google
 * named gemini-3.1-flash-image instead; use gemini-nano-banana-2.1 (Nano
 * Banana 2.1, model=nano-banana)." The replacement chain is followed to a
 * model that is served and not deprecated. */
std::string retirement_text (const ModelSpec & spec);

/* Output size for a ratio and size the model takes ("" = the model's
 * default), or nothing when it does not take them. */
std::optional<PixelSize> output_pixels (const ModelSpec & spec, std::string_view ratio,
    std::string_view size);

/* One option changed to fit a model, for a WARNING on the bus. */
struct OptionChange {
  const char *property;       /* "image-size", "aspect-ratio", ... */
  std::string text;           /* what was dropped or changed, and why */
};

/* Drops or changes what `spec` does not take (an image size, a ratio, a
 * thinking level, references past its maximum) and says so. A model not in
 * the catalogue (nullptr) gets every option as set. */
std::vector<OptionChange> fit_to_model (const ModelSpec * spec, const std::string & id,
    RequestSettings & settings);

/* One line per alias: "nano-banana = gemini-3.1-flash-image (Nano Banana 2)". */
std::string describe_aliases (const char *separator);

}  // namespace gemini
