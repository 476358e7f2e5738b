/* gst-gemini: per-image information. See gemini-frame-info.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-frame-info.h"

#include "gstgeminimeta.h"

namespace gemini {

FrameInfo
frame_info_from (const Scheduler::Result & result)
{
  const Job & job = result.job;
  const Generated & g = result.generated;
  const Response & r = g.response;
  FrameInfo f;
  f.index = job.spec.index;
  f.pts = job.pts;
  f.prompt = job.spec.request.prompt;
  f.model = g.model.empty () ? job.spec.model : g.model;
  f.model_version = r.model_version;
  f.response_id = r.response_id;
  f.finish_reason = r.finish_reason;
  f.usage = r.usage;
  f.attempts = g.attempts;
  f.elapsed_s = g.elapsed_s;
  f.model_text = r.model_text;
  f.from_cache = g.from_cache;
  f.edited = !job.spec.request.references.empty () || !job.spec.request.history.empty ();
  f.width = g.image.width;
  f.height = g.image.height;
  const char *mime = image_format_mime_type (g.image.source_format);
  f.mime_type = mime ? mime : "";
  return f;
}

FrameInfo
frame_info_for_draft (const DraftOf & of, const DecodedImage & image)
{
  FrameInfo f;
  f.index = of.index;
  f.pts = of.pts;
  f.prompt = of.prompt;
  f.model = of.model;
  f.preview = true;
  f.edited = of.edited;
  f.width = image.width;
  f.height = image.height;
  const char *mime = image_format_mime_type (image.source_format);
  f.mime_type = mime ? mime : "";
  return f;
}

void
frame_info_fill (const FrameInfo & f, GstStructure * s)
{
  gst_structure_set (s,
      GST_GEMINI_IMAGE_META_INDEX, G_TYPE_UINT64, f.index,
      GST_GEMINI_IMAGE_META_PROMPT, G_TYPE_STRING, f.prompt.c_str (),
      GST_GEMINI_IMAGE_META_MODEL, G_TYPE_STRING, f.model.c_str (),
      GST_GEMINI_IMAGE_META_MODEL_VERSION, G_TYPE_STRING, f.model_version.c_str (),
      GST_GEMINI_IMAGE_META_RESPONSE_ID, G_TYPE_STRING, f.response_id.c_str (),
      GST_GEMINI_IMAGE_META_FINISH_REASON, G_TYPE_STRING, f.finish_reason.c_str (),
      GST_GEMINI_IMAGE_META_PROMPT_TOKENS, G_TYPE_INT64, f.usage.prompt_tokens,
      GST_GEMINI_IMAGE_META_CANDIDATES_TOKENS, G_TYPE_INT64, f.usage.candidates_tokens,
      GST_GEMINI_IMAGE_META_THOUGHTS_TOKENS, G_TYPE_INT64, f.usage.thoughts_tokens,
      GST_GEMINI_IMAGE_META_TOTAL_TOKENS, G_TYPE_INT64, f.usage.total_tokens,
      GST_GEMINI_IMAGE_META_ATTEMPTS, G_TYPE_UINT, f.attempts,
      GST_GEMINI_IMAGE_META_ELAPSED, G_TYPE_DOUBLE, f.elapsed_s,
      GST_GEMINI_IMAGE_META_MODEL_TEXT, G_TYPE_STRING, f.model_text.c_str (),
      GST_GEMINI_IMAGE_META_FROM_CACHE, G_TYPE_BOOLEAN, f.from_cache,
      GST_GEMINI_IMAGE_META_PREVIEW, G_TYPE_BOOLEAN, f.preview,
      GST_GEMINI_IMAGE_META_AI_GENERATED, G_TYPE_BOOLEAN, f.ai_generated,
      GST_GEMINI_IMAGE_META_EDITED, G_TYPE_BOOLEAN, f.edited,
      GST_GEMINI_IMAGE_META_WIDTH, G_TYPE_INT, f.width,
      GST_GEMINI_IMAGE_META_HEIGHT, G_TYPE_INT, f.height,
      GST_GEMINI_IMAGE_META_MIME_TYPE, G_TYPE_STRING, f.mime_type.c_str (),
      nullptr);
  if (GST_CLOCK_TIME_IS_VALID (f.pts))
    gst_structure_set (s, GST_GEMINI_IMAGE_META_PTS, G_TYPE_UINT64, f.pts, nullptr);
}

GstStructure *
frame_info_structure (const FrameInfo & f, const char *name)
{
  GstStructure *s = gst_structure_new_empty (name);
  frame_info_fill (f, s);
  return s;
}

const char *
frame_info_digital_source_type (const FrameInfo & f)
{
  return f.edited ? GST_GEMINI_IPTC_COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
      : GST_GEMINI_IPTC_TRAINED_ALGORITHMIC_MEDIA;
}

GstTagList *
frame_info_tags (const FrameInfo & f)
{
  gst_gemini_image_meta_register ();
  const std::string comment = std::string (f.edited ? "AI-edited" : "AI-generated")
      + " by Google Gemini model " + f.model + ".";
  const char *source = frame_info_digital_source_type (f);
  /* The NewsCodes term, for muxers that only write standard tags. */
  const char *term = g_strrstr (source, "/") + 1;
  GstTagList *tags = gst_tag_list_new (
      GST_TAG_COMMENT, comment.c_str (),
      GST_TAG_ENCODER, f.model.c_str (),
      GST_TAG_APPLICATION_NAME, f.model.c_str (),
      GST_TAG_KEYWORDS, term,
      GST_GEMINI_TAG_DIGITAL_SOURCE_TYPE, source,
      nullptr);
  if (!f.prompt.empty ())
    gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE, GST_TAG_TITLE, f.prompt.c_str (), nullptr);
  gst_tag_list_set_scope (tags, GST_TAG_SCOPE_STREAM);
  return tags;
}

}  // namespace gemini
