/* Unit tests of plugin/gemini-output.cpp: the output stage pushing onto a
 * bare src pad linked to a collecting sink pad. Caps (the decoder's format
 * when taken, conversion otherwise, renegotiation on a new size), a
 * negotiation failure as an error to post, timestamps and offsets by slot,
 * a GAP for a skipped slot, repeat-last, and a flush's DISCONT.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <cstring>
#include <vector>

#include "gemini-output.h"

#include <gst/check/gstcheck.h>

GST_DEBUG_CATEGORY (gst_gemini_image_src_debug);

using namespace gemini;

namespace {

struct Sink {
  GstPad *src = nullptr, *sink = nullptr;
  GstElement *element = nullptr;   /* names the stream */
  std::vector<GstBuffer *> buffers;
  std::vector<GstEvent *> events;
  GstCaps *accept = nullptr;

  explicit Sink (const char *accept_caps)
  {
    accept = gst_caps_from_string (accept_caps);
    /* As the element's: raw video in the formats it can convert to. */
    GstPadTemplate *templ = gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        gst_caps_from_string ("video/x-raw,format={RGBA,RGB,BGRA,BGRx,I420}"));
    src = gst_pad_new_from_template (templ, "src");
    gst_object_unref (templ);
    element = gst_element_factory_make ("fakesrc", nullptr);
    gst_object_ref_sink (element);
    sink = gst_pad_new ("sink", GST_PAD_SINK);
    gst_pad_set_element_private (sink, this);
    gst_pad_set_chain_function (sink, [] (GstPad * pad, GstObject *, GstBuffer * buf) -> GstFlowReturn {
      static_cast<Sink *> (gst_pad_get_element_private (pad))->buffers.push_back (buf);
      return GST_FLOW_OK;
    });
    gst_pad_set_event_function (sink, [] (GstPad * pad, GstObject *, GstEvent * ev) -> gboolean {
      static_cast<Sink *> (gst_pad_get_element_private (pad))->events.push_back (ev);
      return TRUE;
    });
    gst_pad_set_query_function (sink, [] (GstPad * pad, GstObject * parent, GstQuery * q) -> gboolean {
      auto self = static_cast<Sink *> (gst_pad_get_element_private (pad));
      if (GST_QUERY_TYPE (q) == GST_QUERY_CAPS) {
        GstCaps *filter = nullptr;
        gst_query_parse_caps (q, &filter);
        GstCaps *res = filter ? gst_caps_intersect (self->accept, filter) : gst_caps_ref (self->accept);
        gst_query_set_caps_result (q, res);
        gst_caps_unref (res);
        return TRUE;
      }
      if (GST_QUERY_TYPE (q) == GST_QUERY_ACCEPT_CAPS) {
        GstCaps *caps;
        gst_query_parse_accept_caps (q, &caps);
        gst_query_set_accept_caps_result (q, gst_caps_can_intersect (caps, self->accept));
        return TRUE;
      }
      return gst_pad_query_default (pad, parent, q);
    });
    gst_pad_set_active (src, TRUE);
    gst_pad_set_active (sink, TRUE);
    fail_unless_equals_int (gst_pad_link_full (src, sink, GST_PAD_LINK_CHECK_NOTHING), GST_PAD_LINK_OK);
  }
  ~Sink ()
  {
    for (GstBuffer *b : buffers)
      gst_buffer_unref (b);
    for (GstEvent *e : events)
      gst_event_unref (e);
    gst_caps_unref (accept);
    gst_pad_set_active (src, FALSE);
    gst_pad_set_active (sink, FALSE);
    gst_object_unref (src);
    gst_object_unref (sink);
    gst_object_unref (element);
  }
  int count (GstEventType type) const
  {
    int n = 0;
    for (GstEvent *e : events)
      n += GST_EVENT_TYPE (e) == type;
    return n;
  }
};

/* A w x h RGB image of one colour. */
DecodedImage
solid (int w, int h, guint8 r, guint8 g, guint8 b)
{
  DecodedImage img;
  img.width = w;
  img.height = h;
  img.stride = (gsize (w) * 3 + 3) & ~gsize (3);
  img.size = img.stride * h;
  img.pixels.reset (static_cast<guint8 *> (g_malloc0 (img.size)));
  img.source_format = ImageFormat::Png;
  for (int y = 0; y < h; y++) {
    guint8 *row = img.pixels.get () + img.stride * y;
    for (int x = 0; x < w; x++) {
      row[3 * x] = r;
      row[3 * x + 1] = g;
      row[3 * x + 2] = b;
    }
  }
  return img;
}

GstFlowReturn
push (OutputStage & out, DecodedImage img, bool keep = false)
{
  OutputError error;
  fail_unless (out.negotiate (img, error), "%s", error.text.c_str ());
  out.push_segment (10, GST_SECOND);
  GstBuffer *buf = out.make_buffer (img);
  fail_unless (buf != nullptr);
  return out.push_frame (buf, GST_SECOND, keep);
}

}  // namespace

/* RGB taken as is: no conversion, the pixels wrapped without a copy. */
GST_START_TEST (test_native_format)
{
  Sink sink ("video/x-raw,format={RGB,RGBA}");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  fail_unless_equals_int (push (out, solid (64, 48, 10, 20, 30)), GST_FLOW_OK);
  fail_unless_equals_int (sink.buffers.size (), 1);
  GstBuffer *b = sink.buffers[0];
  fail_unless_equals_uint64 (GST_BUFFER_PTS (b), 0);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (b), GST_SECOND);
  fail_unless (GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DISCONT));
  GstMapInfo map;
  gst_buffer_map (b, &map, GST_MAP_READ);
  fail_unless (map.data[0] == 10 && map.data[1] == 20 && map.data[2] == 30);
  gst_buffer_unmap (b, &map);
  fail_unless_equals_int (sink.count (GST_EVENT_STREAM_START), 1);
  fail_unless_equals_int (sink.count (GST_EVENT_CAPS), 1);
  fail_unless_equals_int (sink.count (GST_EVENT_SEGMENT), 1);
  fail_unless_equals_int (out.images_done (), 1);
}
GST_END_TEST;

/* Downstream takes BGRA only: converted, same colour; a new size sends new
 * caps; the same size does not. */
GST_START_TEST (test_conversion_and_renegotiation)
{
  Sink sink ("video/x-raw,format=BGRA");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  push (out, solid (32, 32, 200, 100, 50));
  push (out, solid (32, 32, 200, 100, 50));
  push (out, solid (64, 16, 200, 100, 50));
  fail_unless_equals_int (sink.buffers.size (), 3);
  fail_unless_equals_int (sink.count (GST_EVENT_CAPS), 2);
  GstMapInfo map;
  gst_buffer_map (sink.buffers[0], &map, GST_MAP_READ);
  fail_unless (map.data[0] == 50 && map.data[1] == 100 && map.data[2] == 200 && map.data[3] == 255);
  gst_buffer_unmap (sink.buffers[0], &map);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (sink.buffers[2]), 2 * GST_SECOND);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (sink.buffers[2]), 2);
  fail_if (GST_BUFFER_FLAG_IS_SET (sink.buffers[1], GST_BUFFER_FLAG_DISCONT));
}
GST_END_TEST;

/* Downstream takes no raw video: an error to post, naming the fix. */
GST_START_TEST (test_negotiation_error)
{
  Sink sink ("image/png");
  OutputStage out (sink.src);
  out.start ();
  OutputError error;
  fail_if (out.negotiate (solid (8, 8, 1, 2, 3), error));
  fail_unless (error.domain == GST_CORE_ERROR && error.code == GST_CORE_ERROR_NEGOTIATION);
  fail_unless (error.text.find ("videoconvert") != std::string::npos, "%s", error.text.c_str ());
  fail_unless (error.details != nullptr);
  gst_structure_free (error.details);
}
GST_END_TEST;

/* skip: a GAP for the slot once a segment exists (none before); the slot
 * counts. repeat-last: a copy of the last kept frame in the next slot. */
GST_START_TEST (test_skip_and_repeat)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  GstFlowReturn flow;
  fail_if (out.repeat_last (GST_SECOND, flow));
  out.skip (GST_SECOND);
  fail_unless_equals_int (sink.count (GST_EVENT_GAP), 0);
  push (out, solid (16, 16, 9, 9, 9), true);
  out.skip (GST_SECOND);
  fail_unless_equals_int (sink.count (GST_EVENT_GAP), 1);
  GstClockTime ts, dur;
  gst_event_parse_gap (sink.events.back (), &ts, &dur);
  fail_unless_equals_uint64 (ts, 2 * GST_SECOND);
  fail_unless (out.repeat_last (GST_SECOND, flow));
  fail_unless_equals_int (flow, GST_FLOW_OK);
  fail_unless_equals_int (sink.buffers.size (), 2);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (sink.buffers[1]), 3 * GST_SECOND);
  fail_unless_equals_int (out.images_done (), 4);
}
GST_END_TEST;

/* After a flush: a new segment and DISCONT on the next frame. */
GST_START_TEST (test_flushed)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  push (out, solid (16, 16, 1, 1, 1));
  out.flushed ();
  push (out, solid (16, 16, 1, 1, 1));
  fail_unless_equals_int (sink.count (GST_EVENT_SEGMENT), 2);
  fail_unless (GST_BUFFER_FLAG_IS_SET (sink.buffers[1], GST_BUFFER_FLAG_DISCONT));
  fail_unless_equals_int (sink.count (GST_EVENT_STREAM_START), 1);
}
GST_END_TEST;

static Suite *
output_suite (void)
{
  GST_DEBUG_CATEGORY_INIT (gst_gemini_image_src_debug, "geminiimagesrc", 0, "output stage test");
  Suite *s = suite_create ("output");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_native_format);
  tcase_add_test (tc, test_conversion_and_renegotiation);
  tcase_add_test (tc, test_negotiation_error);
  tcase_add_test (tc, test_skip_and_repeat);
  tcase_add_test (tc, test_flushed);
  return s;
}

GST_CHECK_MAIN (output);
