/* gst-gemini: registered enum GTypes for geminiimagesrc properties.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum {
  GST_GEMINI_ASPECT_RATIO_AUTO,
  GST_GEMINI_ASPECT_RATIO_1_1,
  GST_GEMINI_ASPECT_RATIO_2_3,
  GST_GEMINI_ASPECT_RATIO_3_2,
  GST_GEMINI_ASPECT_RATIO_3_4,
  GST_GEMINI_ASPECT_RATIO_4_3,
  GST_GEMINI_ASPECT_RATIO_4_5,
  GST_GEMINI_ASPECT_RATIO_5_4,
  GST_GEMINI_ASPECT_RATIO_9_16,
  GST_GEMINI_ASPECT_RATIO_16_9,
  GST_GEMINI_ASPECT_RATIO_21_9,
  GST_GEMINI_ASPECT_RATIO_1_4,
  GST_GEMINI_ASPECT_RATIO_4_1,
  GST_GEMINI_ASPECT_RATIO_1_8,
  GST_GEMINI_ASPECT_RATIO_8_1,
} GstGeminiAspectRatio;

typedef enum {
  GST_GEMINI_IMAGE_SIZE_AUTO,
  GST_GEMINI_IMAGE_SIZE_1K,
  GST_GEMINI_IMAGE_SIZE_2K,
  GST_GEMINI_IMAGE_SIZE_4K,
  GST_GEMINI_IMAGE_SIZE_512,   /* added later: values stay stable */
} GstGeminiImageSize;

typedef enum {
  GST_GEMINI_THINKING_LEVEL_AUTO,
  GST_GEMINI_THINKING_LEVEL_MINIMAL,
  GST_GEMINI_THINKING_LEVEL_LOW,
  GST_GEMINI_THINKING_LEVEL_MEDIUM,
  GST_GEMINI_THINKING_LEVEL_HIGH,
} GstGeminiThinkingLevel;

typedef enum {
  GST_GEMINI_RESPONSE_MODALITIES_IMAGE,
  GST_GEMINI_RESPONSE_MODALITIES_TEXT_AND_IMAGE,
} GstGeminiResponseModalities;

typedef enum {
  GST_GEMINI_ERROR_POLICY_ERROR,
  GST_GEMINI_ERROR_POLICY_SKIP,
  GST_GEMINI_ERROR_POLICY_REPEAT_LAST,
} GstGeminiErrorPolicy;

typedef enum {
  GST_GEMINI_OUTPUT_ORDER_INPUT,
  GST_GEMINI_OUTPUT_ORDER_COMPLETION,
} GstGeminiOutputOrder;

typedef enum {
  GST_GEMINI_STALE_POLICY_QUEUE,
  GST_GEMINI_STALE_POLICY_LATEST,
} GstGeminiStalePolicy;

typedef enum {
  GST_GEMINI_SCALE_MODE_LETTERBOX,
  GST_GEMINI_SCALE_MODE_CROP,
  GST_GEMINI_SCALE_MODE_STRETCH,
} GstGeminiScaleMode;

#define GST_TYPE_GEMINI_SCALE_MODE (gst_gemini_scale_mode_get_type ())
GType gst_gemini_scale_mode_get_type (void);

typedef enum {
  GST_GEMINI_COST_ACTION_ERROR,
  GST_GEMINI_COST_ACTION_SKIP,
} GstGeminiCostAction;

#define GST_TYPE_GEMINI_COST_ACTION (gst_gemini_cost_action_get_type ())
GType gst_gemini_cost_action_get_type (void);

typedef enum {
  GST_GEMINI_API_GEMINI,
  GST_GEMINI_API_VERTEX,
} GstGeminiApi;

#define GST_TYPE_GEMINI_API (gst_gemini_api_get_type ())
GType gst_gemini_api_get_type (void);

#define GST_TYPE_GEMINI_STALE_POLICY (gst_gemini_stale_policy_get_type ())
GType gst_gemini_stale_policy_get_type (void);

#define GST_TYPE_GEMINI_OUTPUT_ORDER (gst_gemini_output_order_get_type ())
GType gst_gemini_output_order_get_type (void);

#define GST_TYPE_GEMINI_ERROR_POLICY (gst_gemini_error_policy_get_type ())
GType gst_gemini_error_policy_get_type (void);

#define GST_TYPE_GEMINI_ASPECT_RATIO (gst_gemini_aspect_ratio_get_type ())
GType gst_gemini_aspect_ratio_get_type (void);
#define GST_TYPE_GEMINI_IMAGE_SIZE (gst_gemini_image_size_get_type ())
GType gst_gemini_image_size_get_type (void);
#define GST_TYPE_GEMINI_THINKING_LEVEL (gst_gemini_thinking_level_get_type ())
GType gst_gemini_thinking_level_get_type (void);
#define GST_TYPE_GEMINI_RESPONSE_MODALITIES (gst_gemini_response_modalities_get_type ())
GType gst_gemini_response_modalities_get_type (void);

/* The wire value ("16:9", "2K", "HIGH"), or NULL for auto. */
const gchar *gst_gemini_aspect_ratio_to_string (GstGeminiAspectRatio ratio);
const gchar *gst_gemini_image_size_to_string (GstGeminiImageSize size);
const gchar *gst_gemini_thinking_level_to_string (GstGeminiThinkingLevel level);

G_END_DECLS
