/* gst-gemini: plugin entry point.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "config.h"
#include "gstgeminiimagesrc.h"
#include "gstgeminimeta.h"

/**
 * plugin-gemini:
 *
 * Image generation with Google Gemini ("Nano Banana") inside media pipelines.
 */
static gboolean
plugin_init (GstPlugin * plugin)
{
  /* The meta and the tag before any element can use them. */
  gst_gemini_image_meta_register ();
  return GST_ELEMENT_REGISTER (geminiimagesrc, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, gemini,
    "Google Gemini image generation (Nano Banana, Nano Banana Pro)",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
