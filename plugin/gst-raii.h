/* gst-gemini: unique_ptr owners for GStreamer handles (glib-raii.h has the
 * GLib ones).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include <memory>

namespace gemini {

struct GstObjectUnref {
  void operator() (gpointer p) const { if (p) gst_object_unref (p); }
};
struct GstCapsUnref {
  void operator() (GstCaps * c) const { if (c) gst_caps_unref (c); }
};
struct GstSampleUnref {
  void operator() (GstSample * s) const { if (s) gst_sample_unref (s); }
};
struct GstMessageUnref {
  void operator() (GstMessage * m) const { if (m) gst_message_unref (m); }
};
using GstCapsPtr = std::unique_ptr<GstCaps, GstCapsUnref>;
using GstSamplePtr = std::unique_ptr<GstSample, GstSampleUnref>;
using GstMessagePtr = std::unique_ptr<GstMessage, GstMessageUnref>;
using GstBusPtr = std::unique_ptr<GstBus, GstObjectUnref>;

}  // namespace gemini
