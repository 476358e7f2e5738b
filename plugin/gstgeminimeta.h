/* gst-gemini: GstGeminiImageMeta, what geminiimagesrc knows about each image
 * it pushes, as a GstCustomMeta (GStreamer >= 1.20).
 *
 * A public C header: an application needs nothing but this file and
 * GStreamer to read the meta (it links no symbol of the plugin):
 *
 *   const GstStructure *s = gst_buffer_get_gemini_image_meta (buffer);
 *   if (s)
 *     g_print ("%s\n", gst_structure_get_string (s, GST_GEMINI_IMAGE_META_RESPONSE_ID));
 *
 * From Python: buf.get_custom_meta ("GstGeminiImageMeta").get_structure ().
 * The same fields are in the element's "gemini-image" message. The meta has
 * no tags, so that converting and scaling elements keep it (width and
 * height stay those of the decoded image).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef __GST_GEMINI_META_H__
#define __GST_GEMINI_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_GEMINI_IMAGE_META_NAME "GstGeminiImageMeta"

/* Fields of the meta's structure, with their types. */
#define GST_GEMINI_IMAGE_META_INDEX "index"                 /* guint64: the image's place in the stream, from 0 */
#define GST_GEMINI_IMAGE_META_PTS "pts"                     /* guint64: its input's time (absent for the stream's own slots) */
#define GST_GEMINI_IMAGE_META_PROMPT "prompt"               /* string */
#define GST_GEMINI_IMAGE_META_MODEL "model"                 /* string: the model id that answered */
#define GST_GEMINI_IMAGE_META_MODEL_VERSION "model-version" /* string: the answer's modelVersion */
#define GST_GEMINI_IMAGE_META_RESPONSE_ID "response-id"     /* string: the answer's responseId */
#define GST_GEMINI_IMAGE_META_FINISH_REASON "finish-reason" /* string: "STOP", ... */
#define GST_GEMINI_IMAGE_META_PROMPT_TOKENS "prompt-tokens" /* gint64; -1 when not given */
#define GST_GEMINI_IMAGE_META_CANDIDATES_TOKENS "candidates-tokens" /* gint64; -1 when not given */
#define GST_GEMINI_IMAGE_META_THOUGHTS_TOKENS "thoughts-tokens"     /* gint64; -1 when not given */
#define GST_GEMINI_IMAGE_META_TOTAL_TOKENS "total-tokens"   /* gint64; -1 when not given */
#define GST_GEMINI_IMAGE_META_ATTEMPTS "attempts"           /* guint: requests it took */
#define GST_GEMINI_IMAGE_META_ELAPSED "elapsed"             /* gdouble: seconds from its first request to its image */
#define GST_GEMINI_IMAGE_META_MODEL_TEXT "model-text"       /* string: the model's text parts ("" if none) */
#define GST_GEMINI_IMAGE_META_FROM_CACHE "from-cache"       /* gboolean: answered by cache-dir, not the network */
#define GST_GEMINI_IMAGE_META_PREVIEW "preview"             /* gboolean: a draft shown before the final image */
#define GST_GEMINI_IMAGE_META_AI_GENERATED "ai-generated"   /* gboolean: always TRUE */
#define GST_GEMINI_IMAGE_META_EDITED "edited"               /* gboolean: reference images or an edit history were sent */
#define GST_GEMINI_IMAGE_META_WIDTH "width"                 /* gint: of the decoded image */
#define GST_GEMINI_IMAGE_META_HEIGHT "height"               /* gint */
#define GST_GEMINI_IMAGE_META_MIME_TYPE "mime-type"         /* string: what the model sent, "image/png", ... */

/* A tag of the element's tag events: the IPTC digital source type URI. */
#define GST_GEMINI_TAG_DIGITAL_SOURCE_TYPE "iptc-digital-source-type"
#define GST_GEMINI_IPTC_TRAINED_ALGORITHMIC_MEDIA \
  "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
#define GST_GEMINI_IPTC_COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA \
  "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"

/* The meta's fields, or NULL when `buffer` has none. Inline, so that
 * applications link nothing of the plugin. */
static inline const GstStructure *
gst_buffer_get_gemini_image_meta (GstBuffer * buffer)
{
  GstCustomMeta *meta = gst_buffer_get_custom_meta (buffer, GST_GEMINI_IMAGE_META_NAME);
  return meta ? gst_custom_meta_get_structure (meta) : NULL;
}

/* In the plugin: registers the meta (once) and the tag. */
void gst_gemini_image_meta_register (void);

/* In the plugin: a meta holding a copy of `fields` (its name is not kept:
 * the meta's structure is named GST_GEMINI_IMAGE_META_NAME). */
GstCustomMeta *gst_buffer_add_gemini_image_meta (GstBuffer * buffer, const GstStructure * fields);

G_END_DECLS

#endif /* __GST_GEMINI_META_H__ */
