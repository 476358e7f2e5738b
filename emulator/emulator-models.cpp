/* gst-gemini emulator: the ListModels and models.get answers.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulator-models.h"

#include <algorithm>

#include "emulator-image.h"
#include "glib-raii.h"

namespace gemini::emulator {

namespace {

struct OtherModel {
  const char *id;
  const char *display_name;
  const char *description;
  gint64 input_limit, output_limit;
  const char *methods;   /* space-separated */
  bool thinking;
};

/* Models that do not make images with generateContent, listed before the
 * image models (as they come first in the real list too), so that a small
 * pageSize puts the image models on a later page. Shapes as the real API
 * answers (2026); the set is illustrative, not a copy of Google's list. */
constexpr OtherModel kOtherModels[] = {
  {"gemini-2.5-flash", "Gemini 2.5 Flash", "Stable version of Gemini 2.5 Flash, our mid-size multimodal model "
      "that supports up to 1 million tokens, released in June of 2025.", 1048576, 65536,
      "generateContent countTokens createCachedContent batchGenerateContent", true},
  {"gemini-2.5-pro", "Gemini 2.5 Pro", "Stable release (June 17th, 2025) of Gemini 2.5 Pro", 1048576, 65536,
      "generateContent countTokens createCachedContent batchGenerateContent", true},
  {"gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", "Stable version of Gemini 2.5 Flash-Lite, released in "
      "July of 2025", 1048576, 65536, "generateContent countTokens createCachedContent batchGenerateContent",
      true},
  {"gemini-2.0-flash", "Gemini 2.0 Flash", "Gemini 2.0 Flash", 1048576, 8192,
      "generateContent countTokens createCachedContent batchGenerateContent", false},
  {"gemini-2.0-flash-001", "Gemini 2.0 Flash 001", "Stable version of Gemini 2.0 Flash, our fast and versatile "
      "multimodal model for scaling across diverse tasks, released in January of 2025.", 1048576, 8192,
      "generateContent countTokens createCachedContent batchGenerateContent", false},
  {"gemini-2.0-flash-lite", "Gemini 2.0 Flash-Lite", "Gemini 2.0 Flash-Lite", 1048576, 8192,
      "generateContent countTokens createCachedContent batchGenerateContent", false},
  {"gemini-3-pro", "Gemini 3 Pro", "Gemini 3 Pro", 1048576, 65536,
      "generateContent countTokens createCachedContent batchGenerateContent", true},
  {"gemini-3-flash", "Gemini 3 Flash", "Gemini 3 Flash", 1048576, 65536,
      "generateContent countTokens createCachedContent batchGenerateContent", true},
  {"gemini-flash-latest", "Gemini Flash Latest", "Latest release of Gemini Flash", 1048576, 65536,
      "generateContent countTokens createCachedContent batchGenerateContent", true},
  {"gemini-pro-latest", "Gemini Pro Latest", "Latest release of Gemini Pro", 1048576, 65536,
      "generateContent countTokens createCachedContent batchGenerateContent", true},
  {"gemini-2.5-flash-preview-tts", "Gemini 2.5 Flash Preview TTS", "Gemini 2.5 Flash Preview TTS", 8192, 16384,
      "countTokens generateContent", false},
  {"gemini-2.5-flash-native-audio-latest", "Gemini 2.5 Flash Native Audio Latest",
      "Latest release of Gemini 2.5 Flash Native Audio", 131072, 8192, "countTokens bidiGenerateContent", true},
  {"gemma-3-27b-it", "Gemma 3 27B", "", 131072, 8192, "generateContent countTokens", false},
  {"gemma-3-12b-it", "Gemma 3 12B", "", 32768, 8192, "generateContent countTokens", false},
  {"gemini-embedding-001", "Gemini Embedding 001", "Obtain a distributed representation of a text.", 2048, 1,
      "embedContent countTextTokens countTokens asyncBatchEmbedContent", false},
  {"text-embedding-004", "Text Embedding 004", "Obtain a distributed representation of a text.", 2048, 1,
      "embedText countTextTokens", false},
  {"imagen-4.0-generate-001", "Imagen 4", "Vertex served Imagen 4.0 model", 480, 8192, "predict", false},
  {"imagen-4.0-ultra-generate-001", "Imagen 4 Ultra", "Vertex served Imagen 4.0 ultra model", 480, 8192,
      "predict", false},
  {"imagen-4.0-fast-generate-001", "Imagen 4 Fast", "Vertex served Imagen 4.0 Fast model", 480, 8192, "predict",
      false},
  {"veo-3.1-generate-preview", "Veo 3.1", "Veo 3.1", 480, 8192, "predictLongRunning", false},
  {"veo-3.0-generate-001", "Veo 3", "Veo 3", 480, 8192, "predictLongRunning", false},
  {"aqa", "Model that performs Attributed Question Answering.", "Model trained to return answers to questions "
      "that are grounded in provided sources, along with estimating answerable probability.", 7168, 1024,
      "generateAnswer", false},
};

std::vector<std::string>
split_words (const char * list)
{
  std::vector<std::string> out;
  std::string_view rest (list);
  while (!rest.empty ()) {
    const std::size_t end = std::min (rest.find (' '), rest.size ());
    if (end)
      out.emplace_back (rest.substr (0, end));
    rest.remove_prefix (std::min (end + 1, rest.size ()));
  }
  return out;
}

std::string
image_description (const ModelSpec & spec)
{
  std::string d = std::string (spec.name) + ": Gemini image generation and editing (" + spec.id + ").";
  if (spec.status == ModelStatus::Deprecated)
    d += std::string (" Deprecated since ") + (spec.since ? spec.since : "an earlier date") + "; use " +
        (spec.replacement ? spec.replacement : "a newer model") + " instead.";
  return d;
}

std::vector<ListedModel>
build_list ()
{
  std::vector<ListedModel> out;
  for (const OtherModel & m : kOtherModels)
    out.push_back (ListedModel {m.id, m.display_name, m.description, m.input_limit, m.output_limit,
        split_words (m.methods), m.thinking, nullptr});
  for (const ModelSpec & spec : model_catalogue ()) {
    if (!serves (spec))
      continue;
    out.push_back (ListedModel {spec.id, spec.name, image_description (spec), spec.thinks ? 131072 : 32768, 32768,
        {"generateContent", "countTokens"}, spec.thinks, &spec});
  }
  return out;
}

}  // namespace

const std::vector<ListedModel> &
listed_models ()
{
  static const std::vector<ListedModel> list = build_list ();
  return list;
}

const ListedModel *
find_listed_model (std::string_view id)
{
  for (const ListedModel & m : listed_models ())
    if (m.id == id)
      return &m;
  return nullptr;
}

JsonObject *
model_entry (const ListedModel & m)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "name", ("models/" + m.id).c_str ());
  json_object_set_string_member (o, "baseModelId", m.id.c_str ());
  json_object_set_string_member (o, "version", "001");
  json_object_set_string_member (o, "displayName", m.display_name.c_str ());
  if (!m.description.empty ())
    json_object_set_string_member (o, "description", m.description.c_str ());
  json_object_set_int_member (o, "inputTokenLimit", m.input_token_limit);
  json_object_set_int_member (o, "outputTokenLimit", m.output_token_limit);
  JsonArray *methods = json_array_new ();
  for (const std::string & method : m.methods)
    json_array_add_string_element (methods, method.c_str ());
  json_object_set_array_member (o, "supportedGenerationMethods", methods);
  if (m.methods.front () != "predict" && m.methods.front () != "predictLongRunning"
      && m.methods.front () != "embedContent" && m.methods.front () != "embedText") {
    json_object_set_double_member (o, "temperature", 1);
    json_object_set_double_member (o, "topP", 0.95);
    json_object_set_int_member (o, "topK", 64);
    json_object_set_double_member (o, "maxTemperature", 2);
  }
  if (m.thinking)
    json_object_set_boolean_member (o, "thinking", TRUE);
  return o;
}

/* Like Google's: base64 of a small protobuf naming the model the next page
 * starts with. Standard alphabet, so a client must escape it in a URL. */
std::string
page_token (gsize index)
{
  const std::string name = "models/" + listed_models ().at (index).id;
  std::string raw = std::string ("\x0a", 1) + static_cast<char> (name.size ()) + name;
  GCharPtr b64 (g_base64_encode (reinterpret_cast<const guchar *> (raw.data ()), raw.size ()));
  return b64.get ();
}

std::optional<gsize>
page_token_index (const std::string & token)
{
  for (gsize i = 0; i < listed_models ().size (); i++)
    if (token == page_token (i))
      return i;
  return std::nullopt;
}

}  // namespace gemini::emulator
