/* gst-gemini: GstGeminiImageMeta. See gstgeminimeta.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstgeminimeta.h"

#include <mutex>

void
gst_gemini_image_meta_register (void)
{
  static std::once_flag once;
  std::call_once (once, [] {
    /* No tags: the default transform copies the structure, and elements
     * that change the pixels (videoconvert, videoscale) keep untagged
     * metas. */
    static const gchar *tags[] = {nullptr};
    gst_meta_register_custom (GST_GEMINI_IMAGE_META_NAME, tags, nullptr, nullptr, nullptr);
    gst_tag_register (GST_GEMINI_TAG_DIGITAL_SOURCE_TYPE, GST_TAG_FLAG_META, G_TYPE_STRING,
        "IPTC digital source type",
        "IPTC NewsCodes digital source type URI: how the image was made "
        "(trainedAlgorithmicMedia for a generated image)", gst_tag_merge_use_first);
  });
}

GstCustomMeta *
gst_buffer_add_gemini_image_meta (GstBuffer * buffer, const GstStructure * fields)
{
  gst_gemini_image_meta_register ();
  GstCustomMeta *meta = gst_buffer_add_custom_meta (buffer, GST_GEMINI_IMAGE_META_NAME);
  if (!meta)
    return nullptr;
  GstStructure *s = gst_custom_meta_get_structure (meta);
  const gint n = gst_structure_n_fields (fields);
  for (gint i = 0; i < n; i++) {
    const gchar *name = gst_structure_nth_field_name (fields, i);
    gst_structure_set_value (s, name, gst_structure_get_value (fields, name));
  }
  return meta;
}
