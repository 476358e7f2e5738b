/* gst-gemini: what the element says about each image it pushes.
 *
 * One FrameInfo per image, made from the scheduler's result; one function
 * turns it into the fields of the GstGeminiImageMeta, of the "gemini-image"
 * message, and into the image's tags, so that the three always agree (the
 * field names are gstgeminimeta.h's).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include <string>

#include "gemini-scheduler.h"

namespace gemini {

struct FrameInfo {
  guint64 index = 0;
  GstClockTime pts = GST_CLOCK_TIME_NONE;   /* the input's time, if any */
  std::string prompt;
  std::string model;            /* the id that answered */
  std::string model_version;
  std::string response_id;
  std::string finish_reason;
  Usage usage;                  /* -1: not in the answer */
  guint attempts = 0;
  double elapsed_s = 0;         /* latency: first request to image */
  std::string model_text;
  bool from_cache = false;
  bool preview = false;
  bool ai_generated = true;
  bool edited = false;          /* reference images or history were sent */
  int width = 0, height = 0;
  std::string mime_type;
};

FrameInfo frame_info_from (const Scheduler::Result & result);
/* A draft (thought) image of `job` (previews=true): preview is set, and
 * what only the final answer tells (response id, usage, finish reason) is
 * left empty. */
FrameInfo frame_info_for_draft (const DraftOf & of, const DecodedImage & image);

/* Sets the fields into `s` (which keeps its other fields). */
void frame_info_fill (const FrameInfo & info, GstStructure * s);
/* A new structure named `name` with the fields. */
GstStructure *frame_info_structure (const FrameInfo & info, const char *name);

/* The IPTC digital source type URI: generated, or composite with generated
 * when reference frames or an edit history went with the request. */
const char *frame_info_digital_source_type (const FrameInfo & info);
/* Title (the prompt), comment, encoder and application name (the model),
 * keywords and the IPTC digital source type. */
GstTagList *frame_info_tags (const FrameInfo & info);

}  // namespace gemini
