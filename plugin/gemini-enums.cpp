/* gst-gemini: registered enum GTypes for geminiimagesrc properties.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-enums.h"

#include <mutex>

/* The nicks are the values Gemini uses on the wire, so that
 * `aspect-ratio=16:9` works on a gst-launch-1.0 line. */

GType
gst_gemini_aspect_ratio_get_type (void)
{
  static GType type = 0;
  static std::once_flag once;
  std::call_once (once, [] {
    static const GEnumValue values[] = {
      {GST_GEMINI_ASPECT_RATIO_AUTO, "Not sent: the model picks (1:1, or the first reference image's shape)", "auto"},
      {GST_GEMINI_ASPECT_RATIO_1_1, "Square 1:1", "1:1"},
      {GST_GEMINI_ASPECT_RATIO_2_3, "Portrait 2:3", "2:3"},
      {GST_GEMINI_ASPECT_RATIO_3_2, "Landscape 3:2", "3:2"},
      {GST_GEMINI_ASPECT_RATIO_3_4, "Portrait 3:4", "3:4"},
      {GST_GEMINI_ASPECT_RATIO_4_3, "Landscape 4:3", "4:3"},
      {GST_GEMINI_ASPECT_RATIO_4_5, "Portrait 4:5", "4:5"},
      {GST_GEMINI_ASPECT_RATIO_5_4, "Landscape 5:4", "5:4"},
      {GST_GEMINI_ASPECT_RATIO_9_16, "Portrait 9:16", "9:16"},
      {GST_GEMINI_ASPECT_RATIO_16_9, "Widescreen 16:9", "16:9"},
      {GST_GEMINI_ASPECT_RATIO_21_9, "Cinema 21:9", "21:9"},
      {GST_GEMINI_ASPECT_RATIO_1_4, "Tall 1:4 (Nano Banana 2 only)", "1:4"},
      {GST_GEMINI_ASPECT_RATIO_4_1, "Wide 4:1 (Nano Banana 2 only)", "4:1"},
      {GST_GEMINI_ASPECT_RATIO_1_8, "Very tall 1:8 (Nano Banana 2 only)", "1:8"},
      {GST_GEMINI_ASPECT_RATIO_8_1, "Very wide 8:1 (Nano Banana 2 only)", "8:1"},
      {0, nullptr, nullptr},
    };
    type = g_enum_register_static ("GstGeminiAspectRatio", values);
  });
  return type;
}

GType
gst_gemini_image_size_get_type (void)
{
  static GType type = 0;
  static std::once_flag once;
  std::call_once (once, [] {
    static const GEnumValue values[] = {
      {GST_GEMINI_IMAGE_SIZE_AUTO, "Not sent: the model's default (1K)", "auto"},
      {GST_GEMINI_IMAGE_SIZE_512, "About 512 pixels on the long side (Nano Banana 2 only; cheapest)", "512"},
      {GST_GEMINI_IMAGE_SIZE_1K, "About 1024 pixels on the long side", "1K"},
      {GST_GEMINI_IMAGE_SIZE_2K, "About 2048 pixels (not on 1K-only models)", "2K"},
      {GST_GEMINI_IMAGE_SIZE_4K, "About 4096 pixels (not on 1K-only models; can take minutes)", "4K"},
      {0, nullptr, nullptr},
    };
    type = g_enum_register_static ("GstGeminiImageSize", values);
  });
  return type;
}

GType
gst_gemini_thinking_level_get_type (void)
{
  static GType type = 0;
  static std::once_flag once;
  std::call_once (once, [] {
    static const GEnumValue values[] = {
      {GST_GEMINI_THINKING_LEVEL_AUTO, "Not sent: the model's default", "auto"},
      {GST_GEMINI_THINKING_LEVEL_MINIMAL, "MINIMAL: fastest, fewest thought tokens", "minimal"},
      {GST_GEMINI_THINKING_LEVEL_LOW, "LOW", "low"},
      {GST_GEMINI_THINKING_LEVEL_MEDIUM, "MEDIUM", "medium"},
      {GST_GEMINI_THINKING_LEVEL_HIGH, "HIGH: most reasoning before drawing; slower, more thought tokens", "high"},
      {0, nullptr, nullptr},
    };
    type = g_enum_register_static ("GstGeminiThinkingLevel", values);
  });
  return type;
}

GType
gst_gemini_response_modalities_get_type (void)
{
  static GType type = 0;
  static std::once_flag once;
  std::call_once (once, [] {
    static const GEnumValue values[] = {
      {GST_GEMINI_RESPONSE_MODALITIES_IMAGE,
          "[\"IMAGE\"]: the model must draw (recommended: with text allowed it sometimes answers with text only)", "image"},
      {GST_GEMINI_RESPONSE_MODALITIES_TEXT_AND_IMAGE,
          "[\"TEXT\",\"IMAGE\"]: the model may also write text, kept for messages", "text-and-image"},
      {0, nullptr, nullptr},
    };
    type = g_enum_register_static ("GstGeminiResponseModalities", values);
  });
  return type;
}

GType
gst_gemini_output_order_get_type (void)
{
  static GType type = 0;
  static std::once_flag once;
  std::call_once (once, [] {
    static const GEnumValue values[] = {
      {GST_GEMINI_OUTPUT_ORDER_INPUT, "In input order (image N waits for image N-1)", "input"},
      {GST_GEMINI_OUTPUT_ORDER_COMPLETION,
          "As they complete, timestamped in the order they go out (the gemini-image message "
          "has each frame's index)", "completion"},
      {0, nullptr, nullptr},
    };
    type = g_enum_register_static ("GstGeminiOutputOrder", values);
  });
  return type;
}

GType
gst_gemini_stale_policy_get_type (void)
{
  static GType type = 0;
  static std::once_flag once;
  std::call_once (once, [] {
    static const GEnumValue values[] = {
      {GST_GEMINI_STALE_POLICY_QUEUE,
          "Every prompt is generated, in order; a full queue holds upstream back", "queue"},
      {GST_GEMINI_STALE_POLICY_LATEST,
          "A new prompt drops those not yet sent and cancels those in flight "
          "(their frames are not pushed)", "latest"},
      {0, nullptr, nullptr},
    };
    type = g_enum_register_static ("GstGeminiStalePolicy", values);
  });
  return type;
}

GType
gst_gemini_scale_mode_get_type (void)
{
  static GType type = 0;
  static std::once_flag once;
  std::call_once (once, [] {
    static const GEnumValue values[] = {
      {GST_GEMINI_SCALE_MODE_LETTERBOX,
          "The whole image, its aspect ratio kept, centred on letterbox-color bars", "letterbox"},
      {GST_GEMINI_SCALE_MODE_CROP,
          "The frame filled, its aspect ratio kept, the overflow cut equally from both sides", "crop"},
      {GST_GEMINI_SCALE_MODE_STRETCH, "The frame filled, the aspect ratio not kept", "stretch"},
      {0, nullptr, nullptr},
    };
    type = g_enum_register_static ("GstGeminiScaleMode", values);
  });
  return type;
}

GType
gst_gemini_cost_action_get_type (void)
{
  static GType type = 0;
  static std::once_flag once;
  std::call_once (once, [] {
    static const GEnumValue values[] = {
      {GST_GEMINI_COST_ACTION_ERROR,
          "Post an error naming max-cost, the amount spent and the price, and stop", "error"},
      {GST_GEMINI_COST_ACTION_SKIP,
          "Post a warning, request no more images and end the stream (EOS) once the images "
          "in flight went out", "skip"},
      {0, nullptr, nullptr},
    };
    type = g_enum_register_static ("GstGeminiCostAction", values);
  });
  return type;
}

GType
gst_gemini_api_get_type (void)
{
  static GType type = 0;
  static std::once_flag once;
  std::call_once (once, [] {
    static const GEnumValue values[] = {
      {GST_GEMINI_API_GEMINI,
          "Gemini Developer API (generativelanguage.googleapis.com, an API key)", "gemini"},
      {GST_GEMINI_API_VERTEX,
          "Vertex AI (aiplatform.googleapis.com: project and location with an OAuth access "
          "token, or express mode with an API key)", "vertex"},
      {0, nullptr, nullptr},
    };
    type = g_enum_register_static ("GstGeminiApi", values);
  });
  return type;
}

GType
gst_gemini_error_policy_get_type (void)
{
  static GType type = 0;
  static std::once_flag once;
  std::call_once (once, [] {
    static const GEnumValue values[] = {
      {GST_GEMINI_ERROR_POLICY_ERROR,
          "Post an error and stop (EOS): the application decides", "error"},
      {GST_GEMINI_ERROR_POLICY_SKIP,
          "Post a warning, send a GAP for the image's time slot and go on with the next image", "skip"},
      {GST_GEMINI_ERROR_POLICY_REPEAT_LAST,
          "Post a warning and push the last good image again in the failed image's slot "
          "(like skip before the first image)", "repeat-last"},
      {0, nullptr, nullptr},
    };
    type = g_enum_register_static ("GstGeminiErrorPolicy", values);
  });
  return type;
}

const gchar *
gst_gemini_aspect_ratio_to_string (GstGeminiAspectRatio ratio)
{
  if (ratio == GST_GEMINI_ASPECT_RATIO_AUTO)
    return nullptr;
  GEnumValue *v = g_enum_get_value (static_cast<GEnumClass *> (
          g_type_class_peek (GST_TYPE_GEMINI_ASPECT_RATIO)), ratio);
  return v ? v->value_nick : nullptr;
}

const gchar *
gst_gemini_image_size_to_string (GstGeminiImageSize size)
{
  switch (size) {
    case GST_GEMINI_IMAGE_SIZE_1K: return "1K";
    case GST_GEMINI_IMAGE_SIZE_2K: return "2K";
    case GST_GEMINI_IMAGE_SIZE_4K: return "4K";
    case GST_GEMINI_IMAGE_SIZE_512: return "512";
    default: return nullptr;
  }
}

const gchar *
gst_gemini_thinking_level_to_string (GstGeminiThinkingLevel level)
{
  switch (level) {
    case GST_GEMINI_THINKING_LEVEL_MINIMAL: return "MINIMAL";
    case GST_GEMINI_THINKING_LEVEL_LOW: return "LOW";
    case GST_GEMINI_THINKING_LEVEL_MEDIUM: return "MEDIUM";
    case GST_GEMINI_THINKING_LEVEL_HIGH: return "HIGH";
    default: return nullptr;
  }
}
