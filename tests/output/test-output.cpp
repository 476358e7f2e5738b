/* Unit tests of plugin/gemini-output.cpp: the output stage pushing onto a
 * bare src pad linked to a collecting sink pad. Caps (the decoder's format
 * when taken, conversion otherwise, renegotiation on a new size), a
 * negotiation failure as an error to post, timestamps and offsets by slot,
 * a GAP for a skipped slot, repeat-last, and a flush's DISCONT. For the
 * pipeline's inputs (issue 9): frames at given timestamps, repeat and GAP
 * at a given time, a given segment, a segment that grows, the framerate in
 * the caps, and the stream id of an element with several sink pads.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check framework defines fail(): C++ headers go first. */
#include <array>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemini-image-encode.h"
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
  GstBufferPool *pool = nullptr;   /* offered in the ALLOCATION answer */

  explicit Sink (const char *accept_caps)
  {
    accept = gst_caps_from_string (accept_caps);
    /* As the element's: raw video in the formats it can convert to. */
    GstPadTemplate *templ = gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        gst_caps_from_string ("video/x-raw,format={RGBA,RGB,BGRA,BGRx,I420}; "
            "image/png,width=(int)[1,max],height=(int)[1,max],framerate=(fraction)[0,max]; "
            "image/jpeg,width=(int)[1,max],height=(int)[1,max],framerate=(fraction)[0,max]"));
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
      if (GST_QUERY_TYPE (q) == GST_QUERY_ALLOCATION && self->pool) {
        GstCaps *caps;
        gst_query_parse_allocation (q, &caps, nullptr);
        GstVideoInfo info;
        gst_video_info_from_caps (&info, caps);
        gst_query_add_allocation_pool (q, self->pool, GST_VIDEO_INFO_SIZE (&info), 2, 0);
        gst_query_add_allocation_meta (q, GST_VIDEO_META_API_TYPE, nullptr);
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
    if (pool)
      gst_object_unref (pool);
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

/* Downstream's first choice is RGBA and not RGB (what videoconvert !
 * video/x-raw,format=RGBA answers): an RGB image goes out as RGBA, and the
 * output asks for the next ones in RGBA (decodes_to_rgba), as it says
 * before any caps too. A first choice that takes RGB keeps RGB. */
GST_START_TEST (test_rgba_first_choice)
{
  {
    Sink sink ("video/x-raw,format=RGBA; video/x-raw,format={RGB,RGBA}");
    OutputStage out (sink.src);
    out.start ();
    out.push_stream_start (sink.element);
    fail_unless (out.downstream_prefers_rgba ());
    fail_if (out.decodes_to_rgba ());
    push (out, solid (8, 4, 1, 2, 3));
    fail_unless (out.decodes_to_rgba ());
    fail_unless (out.downstream_prefers_rgba ());
    GstMapInfo map;
    gst_buffer_map (sink.buffers[0], &map, GST_MAP_READ);
    fail_unless_equals_int (map.size, 8 * 4 * 4);
    fail_unless (map.data[0] == 1 && map.data[1] == 2 && map.data[2] == 3 && map.data[3] == 255);
    gst_buffer_unmap (sink.buffers[0], &map);
  }
  {
    Sink sink ("video/x-raw,format={RGB,RGBA}");
    OutputStage out (sink.src);
    out.start ();
    out.push_stream_start (sink.element);
    fail_if (out.downstream_prefers_rgba ());
    push (out, solid (8, 4, 1, 2, 3));
    fail_if (out.decodes_to_rgba ());
  }
}
GST_END_TEST;

/* A frame decoded into a store's block goes out without a copy and gives
 * the block back when downstream frees it. */
GST_START_TEST (test_frame_block_returns)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  auto store = std::make_shared<BlockStore> (2);
  DecodedImage img = solid (16, 16, 9, 8, 7);
  guint8 *block = store->take (img.size + 64);
  memcpy (block, img.pixels.get (), img.size);
  img.pixels.reset (block);
  img.store = store;
  img.capacity = img.size + 64;
  fail_unless_equals_int (push (out, std::move (img)), GST_FLOW_OK);
  GstMapInfo map;
  gst_buffer_map (sink.buffers[0], &map, GST_MAP_READ);
  fail_unless (map.data == block);
  fail_unless (map.data[0] == 9 && map.data[1] == 8 && map.data[2] == 7);
  gst_buffer_unmap (sink.buffers[0], &map);
  fail_unless_equals_int (store->idle (), 0);
  gst_buffer_unref (sink.buffers[0]);
  sink.buffers.clear ();
  fail_unless_equals_int (store->idle (), 1);
  fail_unless (store->take (16 * 48 + 64) == block);
  g_free (block);
}
GST_END_TEST;

namespace {

/* Negotiation with a sink taking `accept` fails; the field it names. */
std::string
refused_field (const char *accept, std::string & text, bool live = false, gint fps_n = 0)
{
  Sink sink (accept);
  OutputStage out (sink.src);
  out.start ();
  out.set_framerate (fps_n, 1, live);
  OutputError error;
  fail_if (out.negotiate (solid (8, 8, 1, 2, 3), error));
  fail_unless (error.domain == GST_CORE_ERROR && error.code == GST_CORE_ERROR_NEGOTIATION);
  fail_unless (error.details != nullptr);
  const char *field = gst_structure_get_string (error.details, "field");
  std::string f = field ? field : "";
  gst_structure_free (error.details);
  text = error.text;
  return f;
}

}  // namespace

/* A negotiation failure names the field that did not fit and the fix. */
GST_START_TEST (test_negotiation_error)
{
  std::string text;
  std::string field = refused_field ("image/gif", text);
  fail_unless_equals_string (field.c_str (), "media-type");
  fail_unless (text.find ("videoconvert") != std::string::npos, "%s", text.c_str ());
  fail_unless (text.find ("image/gif") != std::string::npos, "%s", text.c_str ());
  field = refused_field ("video/x-raw,format=NV16", text);
  fail_unless_equals_string (field.c_str (), "format");
  fail_unless (text.find ("format") != std::string::npos && text.find ("videoconvert") != std::string::npos,
      "%s", text.c_str ());
  /* Live at the framerate property, downstream fixed at another. */
  field = refused_field ("video/x-raw,format=RGB,framerate=25/1", text, true, 30);
  fail_unless_equals_string (field.c_str (), "framerate");
  fail_unless (text.find ("30/1") != std::string::npos && text.find ("framerate property") != std::string::npos,
      "%s", text.c_str ());
  /* GL memory only. */
  field = refused_field ("video/x-raw(memory:GLMemory),format=RGBA", text);
  fail_unless_equals_string (field.c_str (), "media-type");
  fail_unless (text.find ("glupload") != std::string::npos, "%s", text.c_str ());
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

namespace {

/* Caps for `img` and a given segment, then `img` at `pts`. */
GstFlowReturn
push_at (OutputStage & out, DecodedImage img, GstClockTime pts, GstClockTime duration, bool keep = false)
{
  OutputError error;
  fail_unless (out.negotiate (img, error), "%s", error.text.c_str ());
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  out.push_segment (segment);
  GstBuffer *buf = out.make_buffer (img);
  fail_unless (buf != nullptr);
  return out.push_frame_at (buf, pts, duration, keep);
}

/* The segment events the sink got, in order. */
std::vector<const GstSegment *>
segments (const Sink & sink)
{
  std::vector<const GstSegment *> out;
  for (GstEvent *e : sink.events)
    if (GST_EVENT_TYPE (e) == GST_EVENT_SEGMENT) {
      const GstSegment *s;
      gst_event_parse_segment (e, &s);
      out.push_back (s);
    }
  return out;
}

/* The framerate of the last caps event. */
void
last_framerate (const Sink & sink, gint & n, gint & d)
{
  n = d = -1;
  for (GstEvent *e : sink.events)
    if (GST_EVENT_TYPE (e) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gst_event_parse_caps (e, &caps);
      fail_unless (gst_structure_get_fraction (gst_caps_get_structure (caps, 0), "framerate", &n, &d));
    }
}

}  // namespace

/* push_frame_at: PTS and duration as given (not by slot), OFFSET counting
 * the frames, DISCONT on the first and again after flushed (). */
GST_START_TEST (test_push_frame_at)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  fail_unless_equals_int (push_at (out, solid (16, 16, 1, 2, 3), 5 * GST_SECOND, 2 * GST_SECOND), GST_FLOW_OK);
  fail_unless_equals_int (push_at (out, solid (16, 16, 1, 2, 3), 7 * GST_SECOND, 500 * GST_MSECOND), GST_FLOW_OK);
  out.flushed ();
  fail_unless_equals_int (push_at (out, solid (16, 16, 1, 2, 3), 3 * GST_SECOND, GST_SECOND), GST_FLOW_OK);
  fail_unless_equals_int (sink.buffers.size (), 3);
  const GstClockTime pts[] = {5 * GST_SECOND, 7 * GST_SECOND, 3 * GST_SECOND};
  const GstClockTime dur[] = {2 * GST_SECOND, 500 * GST_MSECOND, GST_SECOND};
  const bool discont[] = {true, false, true};
  for (guint i = 0; i < 3; i++) {
    GstBuffer *b = sink.buffers[i];
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), pts[i]);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (b), dur[i]);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b), i);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (b), i + 1);
    fail_unless (GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DISCONT) == discont[i], "buffer %u", i);
  }
  fail_unless_equals_int (out.images_done (), 3);
  /* The flush sent the (same) segment again. */
  fail_unless_equals_int (sink.count (GST_EVENT_SEGMENT), 2);
}
GST_END_TEST;

/* repeat_last_at: false with no kept frame; else a new buffer at the new
 * PTS sharing the kept frame's memory (the last pushed with keep, not a
 * later one pushed without); a repeat is not an image. */
GST_START_TEST (test_repeat_last_at)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  GstFlowReturn flow = GST_FLOW_CUSTOM_ERROR;
  fail_if (out.repeat_last_at (0, GST_SECOND, flow));
  fail_unless_equals_int (flow, GST_FLOW_CUSTOM_ERROR);
  fail_if (out.have_last ());
  /* Pushed without keep: still nothing to repeat. */
  push_at (out, solid (16, 16, 7, 7, 7), 0, GST_SECOND, false);
  fail_if (out.repeat_last_at (GST_SECOND, GST_SECOND, flow));
  push_at (out, solid (16, 16, 40, 50, 60), GST_SECOND, GST_SECOND, true);
  fail_unless (out.have_last ());
  push_at (out, solid (16, 16, 99, 99, 99), 2 * GST_SECOND, GST_SECOND, false);
  fail_unless_equals_int (out.images_done (), 3);
  fail_unless (out.repeat_last_at (10 * GST_SECOND, 250 * GST_MSECOND, flow));
  fail_unless_equals_int (flow, GST_FLOW_OK);
  fail_unless_equals_int (sink.buffers.size (), 4);
  GstBuffer *kept = sink.buffers[1], *again = sink.buffers[3];
  fail_unless (again != kept);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (again), 10 * GST_SECOND);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (again), 250 * GST_MSECOND);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (kept), GST_SECOND);
  fail_unless_equals_int (gst_buffer_n_memory (again), gst_buffer_n_memory (kept));
  fail_unless (gst_buffer_peek_memory (again, 0) == gst_buffer_peek_memory (kept, 0), "the repeat copied the pixels");
  GstMapInfo map;
  gst_buffer_map (again, &map, GST_MAP_READ);
  fail_unless (map.data[0] == 40 && map.data[1] == 50 && map.data[2] == 60);
  gst_buffer_unmap (again, &map);
  fail_if (GST_BUFFER_FLAG_IS_SET (again, GST_BUFFER_FLAG_DISCONT));
  fail_unless_equals_int (out.images_done (), 3);
  /* stop () forgets it. */
  out.stop ();
  fail_if (out.repeat_last_at (11 * GST_SECOND, GST_SECOND, flow));
  fail_unless_equals_int (sink.buffers.size (), 4);
}
GST_END_TEST;

/* skip_at: a GAP at the given PTS with the given duration, only once a
 * segment was sent, and none for an unknown PTS. */
GST_START_TEST (test_skip_at)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  out.skip_at (GST_SECOND, GST_SECOND);
  fail_unless_equals_int (sink.count (GST_EVENT_GAP), 0);
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  out.push_segment (segment);
  out.skip_at (4 * GST_SECOND, 1500 * GST_MSECOND);
  fail_unless_equals_int (sink.count (GST_EVENT_GAP), 1);
  GstClockTime ts, dur;
  gst_event_parse_gap (sink.events.back (), &ts, &dur);
  fail_unless_equals_uint64 (ts, 4 * GST_SECOND);
  fail_unless_equals_uint64 (dur, 1500 * GST_MSECOND);
  out.skip_at (GST_CLOCK_TIME_NONE, GST_SECOND);
  fail_unless_equals_int (sink.count (GST_EVENT_GAP), 1);
  fail_unless_equals_int (sink.buffers.size (), 0);
}
GST_END_TEST;

/* push_segment (segment): sent once per distinct segment, and the same one
 * again after flushed (). */
GST_START_TEST (test_given_segment)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  fail_if (out.segment_sent ());
  GstSegment a, b;
  gst_segment_init (&a, GST_FORMAT_TIME);
  gst_segment_init (&b, GST_FORMAT_TIME);
  b.start = 10 * GST_SECOND;
  b.time = 10 * GST_SECOND;
  b.base = 3 * GST_SECOND;
  out.push_segment (a);
  fail_unless (out.segment_sent ());
  out.push_segment (a);
  fail_unless_equals_int (sink.count (GST_EVENT_SEGMENT), 1);
  out.push_segment (b);
  out.push_segment (b);
  fail_unless_equals_int (sink.count (GST_EVENT_SEGMENT), 2);
  out.flushed ();
  fail_if (out.segment_sent ());
  out.push_segment (b);
  out.push_segment (b);
  fail_unless_equals_int (sink.count (GST_EVENT_SEGMENT), 3);
  auto segs = segments (sink);
  fail_unless (gst_segment_is_equal (segs[0], &a));
  fail_unless (gst_segment_is_equal (segs[1], &b));
  fail_unless (gst_segment_is_equal (segs[2], &b));
  fail_unless_equals_uint64 (segs[2]->start, 10 * GST_SECOND);
  fail_unless_equals_uint64 (segs[2]->base, 3 * GST_SECOND);
}
GST_END_TEST;

/* push_segment (num, duration): [0, num x duration], sent again when num
 * grows (its stop moves), not when it is unchanged; again after a flush. */
GST_START_TEST (test_growing_segment)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  out.push_segment (3, GST_SECOND);
  out.push_segment (3, GST_SECOND);
  fail_unless_equals_int (sink.count (GST_EVENT_SEGMENT), 1);
  out.push_segment (5, GST_SECOND);
  out.push_segment (5, GST_SECOND);
  fail_unless_equals_int (sink.count (GST_EVENT_SEGMENT), 2);
  out.flushed ();
  out.push_segment (5, GST_SECOND);
  fail_unless_equals_int (sink.count (GST_EVENT_SEGMENT), 3);
  auto segs = segments (sink);
  const GstClockTime stops[] = {3 * GST_SECOND, 5 * GST_SECOND, 5 * GST_SECOND};
  for (guint i = 0; i < 3; i++) {
    fail_unless_equals_int (segs[i]->format, GST_FORMAT_TIME);
    fail_unless_equals_uint64 (segs[i]->start, 0);
    fail_unless_equals_uint64 (segs[i]->stop, stops[i]);
  }
}
GST_END_TEST;

/* set_framerate: in the negotiated caps (0/1 by default); a change sends
 * new caps for the same size. */
GST_START_TEST (test_framerate)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  OutputError error;
  gint n, d;
  /* Twice: the second takes the RECONFIGURE flag the link left, so that
   * what follows renegotiates for the framerate alone. */
  for (int i = 0; i < 2; i++)
    fail_unless (out.negotiate (solid (16, 16, 1, 1, 1), error), "%s", error.text.c_str ());
  fail_unless_equals_int (sink.count (GST_EVENT_CAPS), 1);
  last_framerate (sink, n, d);
  fail_unless (n == 0 && d == 1, "framerate %d/%d", n, d);
  const gint rates[][2] = {{25, 1}, {30, 1}, {30000, 1001}};
  for (guint i = 0; i < G_N_ELEMENTS (rates); i++) {
    out.set_framerate (rates[i][0], rates[i][1]);
    fail_unless (out.negotiate (solid (16, 16, 1, 1, 1), error), "%s", error.text.c_str ());
    fail_unless_equals_int (sink.count (GST_EVENT_CAPS), 2 + i);
    last_framerate (sink, n, d);
    fail_unless (n == rates[i][0] && d == rates[i][1], "framerate %d/%d", n, d);
  }
  /* Unchanged: no new caps. */
  fail_unless (out.negotiate (solid (16, 16, 1, 1, 1), error), "%s", error.text.c_str ());
  fail_unless_equals_int (sink.count (GST_EVENT_CAPS), 4);
}
GST_END_TEST;

namespace {

/* A w x h RGB image: columns below w/4 blue, from 3w/4 green, red between. */
DecodedImage
bands (int w, int h)
{
  DecodedImage img = solid (w, h, 255, 0, 0);
  for (int y = 0; y < h; y++) {
    guint8 *row = img.pixels.get () + img.stride * y;
    for (int x = 0; x < w; x++) {
      guint8 *p = row + 3 * x;
      if (x < w / 4) {
        p[0] = 0; p[2] = 255;
      } else if (x >= 3 * w / 4) {
        p[0] = 0; p[1] = 255;
      }
    }
  }
  return img;
}

/* The RGB pixel at (x, y) of an RGB buffer w pixels wide. */
std::array<int, 3>
pixel (GstBuffer * buf, int w, int x, int y)
{
  GstMapInfo map;
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  const gsize stride = (gsize (w) * 3 + 3) & ~gsize (3);
  const guint8 *p = map.data + stride * y + 3 * x;
  std::array<int, 3> rgb {p[0], p[1], p[2]};
  gst_buffer_unmap (buf, &map);
  return rgb;
}

bool
near (const std::array<int, 3> & got, int r, int g, int b)
{
  return std::abs (got[0] - r) <= 8 && std::abs (got[1] - g) <= 8 && std::abs (got[2] - b) <= 8;
}

/* A 64x32 bands image into a sink fixed at 32x32 RGB. */
GstBuffer *
scaled (GstGeminiScaleMode mode, guint32 argb = 0xff000000u)
{
  Sink sink ("video/x-raw,format=RGB,width=32,height=32");
  OutputStage out (sink.src);
  out.start ();
  out.set_scaling (mode, argb);
  out.push_stream_start (sink.element);
  fail_unless_equals_int (push (out, bands (64, 32)), GST_FLOW_OK);
  fail_unless_equals_int (sink.buffers.size (), 1);
  return gst_buffer_ref (sink.buffers[0]);
}

}  // namespace

/* Downstream fixes the size: letterbox keeps the whole image and its
 * aspect ratio between bars of the colour asked for; crop fills the frame
 * and cuts both sides equally; stretch fills it and squeezes. */
GST_START_TEST (test_scale_modes)
{
  GstBuffer *b = scaled (GST_GEMINI_SCALE_MODE_LETTERBOX);
  /* 64x32 into 32x32: 32x16 in the middle, bars of 8 rows above and below. */
  fail_unless (near (pixel (b, 32, 16, 2), 0, 0, 0));
  fail_unless (near (pixel (b, 32, 16, 29), 0, 0, 0));
  fail_unless (near (pixel (b, 32, 16, 16), 255, 0, 0));
  fail_unless (near (pixel (b, 32, 2, 16), 0, 0, 255));
  fail_unless (near (pixel (b, 32, 29, 16), 0, 255, 0));
  gst_buffer_unref (b);

  b = scaled (GST_GEMINI_SCALE_MODE_LETTERBOX, 0xff808080u);
  auto bar = pixel (b, 32, 16, 2);
  fail_unless (near (bar, 128, 128, 128), "bar %d,%d,%d", bar[0], bar[1], bar[2]);
  gst_buffer_unref (b);

  /* Crop: the middle 32x32 of the image, red from edge to edge. */
  b = scaled (GST_GEMINI_SCALE_MODE_CROP);
  for (int x : {0, 16, 31})
    for (int y : {0, 31})
      fail_unless (near (pixel (b, 32, x, y), 255, 0, 0), "crop (%d,%d)", x, y);
  gst_buffer_unref (b);

  /* Stretch: every band, squeezed to half its width, top to bottom. */
  b = scaled (GST_GEMINI_SCALE_MODE_STRETCH);
  fail_unless (near (pixel (b, 32, 2, 0), 0, 0, 255));
  fail_unless (near (pixel (b, 32, 16, 31), 255, 0, 0));
  fail_unless (near (pixel (b, 32, 29, 16), 0, 255, 0));
  gst_buffer_unref (b);
}
GST_END_TEST;

/* Still images into a sink that fixes 10/1: each image fills its slot with
 * one frame per tenth of a second, on the rate's grid; one image counts. */
GST_START_TEST (test_fixed_framerate_fills_slot)
{
  Sink sink ("video/x-raw,format=RGB,framerate=10/1");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  fail_unless_equals_int (push (out, solid (8, 8, 1, 2, 3)), GST_FLOW_OK);
  fail_unless_equals_int (push (out, solid (8, 8, 4, 5, 6)), GST_FLOW_OK);
  fail_unless_equals_int (sink.buffers.size (), 20);
  for (guint i = 0; i < 20; i++) {
    fail_unless_equals_uint64 (GST_BUFFER_PTS (sink.buffers[i]), i * 100 * GST_MSECOND);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (sink.buffers[i]), 100 * GST_MSECOND);
  }
  fail_unless (near (pixel (sink.buffers[19], 8, 0, 0), 4, 5, 6));
  fail_unless_equals_int (out.images_done (), 2);
  gint n, d;
  last_framerate (sink, n, d);
  fail_unless (n == 10 && d == 1);
}
GST_END_TEST;

/* Live with the framerate left to downstream: its rate; open: 30/1. */
GST_START_TEST (test_live_framerate_from_downstream)
{
  const struct { const char *accept; gint n, d; } cases[] = {
    {"video/x-raw,format=RGB,framerate=25/1", 25, 1},
    {"video/x-raw,format=RGB", 30, 1},
  };
  for (const auto & c : cases) {
    Sink sink (c.accept);
    OutputStage out (sink.src);
    out.start ();
    out.set_framerate (0, 1, true);
    OutputError error;
    fail_unless (out.negotiate (solid (8, 8, 1, 2, 3), error), "%s", error.text.c_str ());
    gint n, d;
    out.framerate (n, d);
    fail_unless (n == c.n && d == c.d, "%s: %d/%d", c.accept, n, d);
  }
}
GST_END_TEST;

namespace {

GBytes *
encoded (const DecodedImage & img, ImageFormat format)
{
  std::string error;
  GBytes *b = encode_image (img, format, 90, error);
  fail_unless (b != nullptr, "%s", error.c_str ());
  return b;
}

std::string
caps_name (const Sink & sink)
{
  std::string name;
  for (GstEvent *e : sink.events)
    if (GST_EVENT_TYPE (e) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gst_event_parse_caps (e, &caps);
      name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
    }
  return name;
}

/* One image with its encoded bytes into a sink taking `accept`. */
GstBuffer *
push_encoded (Sink & sink, ImageFormat format, int w = 48, int h = 32)
{
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  DecodedImage img = solid (w, h, 30, 60, 90);
  GBytes *bytes = encoded (img, format);
  OutputError error;
  fail_unless (out.negotiate (img, error, bytes), "%s", error.text.c_str ());
  out.push_segment (1, GST_SECOND);
  GstBuffer *buf = out.make_buffer (img, bytes);
  fail_unless (buf != nullptr);
  fail_unless_equals_int (out.push_frame (buf, GST_SECOND, false), GST_FLOW_OK);
  g_bytes_unref (bytes);
  fail_unless_equals_int (sink.buffers.size (), 1);
  return sink.buffers[0];
}

}  // namespace

/* image/png downstream, PNG from the model: the same bytes, no re-encode;
 * caps with the size. */
GST_START_TEST (test_encoded_passthrough)
{
  DecodedImage img = solid (48, 32, 30, 60, 90);
  GBytes *expected = encoded (img, ImageFormat::Png);
  Sink sink ("image/png");
  GstBuffer *buf = push_encoded (sink, ImageFormat::Png);
  const std::string name = caps_name (sink);
  fail_unless_equals_string (name.c_str (), "image/png");
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_READ);
  fail_unless_equals_uint64 (map.size, g_bytes_get_size (expected));
  fail_unless (memcmp (map.data, g_bytes_get_data (expected, nullptr), map.size) == 0);
  gst_buffer_unmap (buf, &map);
  g_bytes_unref (expected);
  for (GstEvent *e : sink.events)
    if (GST_EVENT_TYPE (e) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gst_event_parse_caps (e, &caps);
      gint w = 0, h = 0;
      gst_structure_get_int (gst_caps_get_structure (caps, 0), "width", &w);
      gst_structure_get_int (gst_caps_get_structure (caps, 0), "height", &h);
      fail_unless (w == 48 && h == 32, "%dx%d", w, h);
    }

  /* Both taken: the model's own (JPEG here), still untouched. */
  Sink both ("image/png; image/jpeg");
  buf = push_encoded (both, ImageFormat::Jpeg);
  const std::string both_name = caps_name (both);
  fail_unless_equals_string (both_name.c_str (), "image/jpeg");
}
GST_END_TEST;

/* Only PNG taken, JPEG from the model: converted; it decodes to the
 * image. A fixed size downstream: scaled, then encoded. */
GST_START_TEST (test_encoded_conversion)
{
  Sink sink ("image/png");
  GstBuffer *buf = push_encoded (sink, ImageFormat::Jpeg);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_READ);
  fail_unless (sniff_image_format (map.data, map.size) == ImageFormat::Png);
  DecodedImage out;
  std::string error;
  fail_unless (decode_image (map.data, map.size, DecodeLimits (), out, error), "%s", error.c_str ());
  gst_buffer_unmap (buf, &map);
  fail_unless (out.width == 48 && out.height == 32);
  const guint8 *p = out.pixels.get () + out.stride * 16 + 3 * 24;
  fail_unless (std::abs (p[0] - 30) <= 6 && std::abs (p[1] - 60) <= 6 && std::abs (p[2] - 90) <= 6);

  Sink fixed ("image/jpeg,width=24,height=16");
  buf = push_encoded (fixed, ImageFormat::Jpeg);
  gst_buffer_map (buf, &map, GST_MAP_READ);
  DecodedImage small;
  fail_unless (decode_image (map.data, map.size, DecodeLimits (), small, error), "%s", error.c_str ());
  gst_buffer_unmap (buf, &map);
  fail_unless (small.width == 24 && small.height == 16, "%dx%d", small.width, small.height);
}
GST_END_TEST;

/* An image read only to its header (the attempt leaves pixels out for
 * pass-through output): passed through as is, and decoded here when
 * downstream turns out to want raw video after all. */
GST_START_TEST (test_header_only_image)
{
  DecodedImage img = solid (48, 32, 30, 60, 90);
  GBytes *bytes = encoded (img, ImageFormat::Jpeg);
  for (const char *accept : {"image/jpeg", "video/x-raw,format=RGB"}) {
    Sink sink (accept);
    OutputStage out (sink.src);
    out.start ();
    out.push_stream_start (sink.element);
    DecodedImage head;
    std::string error;
    fail_unless (read_image_header ((const guint8 *) g_bytes_get_data (bytes, nullptr), g_bytes_get_size (bytes),
            DecodeLimits (), head, error), "%s", error.c_str ());
    OutputError oe;
    fail_unless (out.negotiate (head, oe, bytes), "%s", oe.text.c_str ());
    out.push_segment (1, GST_SECOND);
    GstBuffer *buf = out.make_buffer (head, bytes);
    fail_unless (buf != nullptr, "%s", accept);
    fail_unless_equals_int (out.push_frame (buf, GST_SECOND, false), GST_FLOW_OK);
    if (g_str_has_prefix (accept, "image/")) {
      fail_unless_equals_uint64 (gst_buffer_get_size (sink.buffers[0]), g_bytes_get_size (bytes));
    } else {
      fail_unless (near (pixel (sink.buffers[0], 48, 24, 16), 30, 60, 90));
    }
  }
  g_bytes_unref (bytes);
}
GST_END_TEST;

/* A conversion writes into the pool downstream offered; the decoder's own
 * format goes out without any copy (not from the pool). */
GST_START_TEST (test_downstream_pool)
{
  Sink sink ("video/x-raw,format=I420");
  sink.pool = gst_video_buffer_pool_new ();
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  fail_unless_equals_int (push (out, solid (32, 32, 10, 200, 30)), GST_FLOW_OK);
  fail_unless (sink.buffers[0]->pool == sink.pool);

  Sink native ("video/x-raw,format=RGB");
  native.pool = gst_video_buffer_pool_new ();
  OutputStage out2 (native.src);
  out2.start ();
  out2.push_stream_start (native.element);
  fail_unless_equals_int (push (out2, solid (32, 32, 10, 200, 30)), GST_FLOW_OK);
  fail_unless (native.buffers[0]->pool == nullptr);
}
GST_END_TEST;

/* Live: a RECONFIGURE between images (downstream now wants another size)
 * renegotiates the repeated frame, from the kept image. */
GST_START_TEST (test_reconfigure_repeat)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.set_framerate (10, 1, true);
  out.set_keep_source (true);
  out.push_stream_start (sink.element);
  OutputError error;
  DecodedImage img = solid (32, 32, 9, 9, 9);
  fail_unless (out.negotiate (img, error), "%s", error.text.c_str ());
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  out.push_segment (seg);
  GstBuffer *buf = out.make_buffer (img);
  fail_unless_equals_int (out.push_frame_at (buf, 0, 100 * GST_MSECOND, true), GST_FLOW_OK);
  gst_caps_unref (sink.accept);
  sink.accept = gst_caps_from_string ("video/x-raw,format=RGB,width=16,height=16");
  gst_pad_push_event (sink.sink, gst_event_new_reconfigure ());
  GstFlowReturn flow;
  fail_unless (out.repeat_last_at (100 * GST_MSECOND, 100 * GST_MSECOND, flow));
  fail_unless_equals_int (flow, GST_FLOW_OK);
  fail_unless_equals_int (sink.count (GST_EVENT_CAPS), 2);
  fail_unless_equals_uint64 (gst_buffer_get_size (sink.buffers[1]), 16 * 48);
}
GST_END_TEST;

/* A draft of another size renegotiated between a kept image and its
 * repeat (previews with on-error=repeat-last): the repeat goes out under
 * its own caps again, and the next image negotiates afresh. */
GST_START_TEST (test_repeat_restores_caps)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (sink.element);
  fail_unless_equals_int (push (out, solid (32, 32, 9, 9, 9), true), GST_FLOW_OK);
  OutputError error;
  DecodedImage draft = solid (16, 16, 200, 200, 200);
  fail_unless (out.negotiate (draft, error), "%s", error.text.c_str ());
  fail_unless_equals_int (out.push_preview (out.make_buffer (draft), GST_SECOND, GST_SECOND, false), GST_FLOW_OK);
  GstFlowReturn flow;
  fail_unless (out.repeat_last (GST_SECOND, flow));
  fail_unless_equals_int (flow, GST_FLOW_OK);
  fail_unless_equals_int (sink.count (GST_EVENT_CAPS), 3);
  GstCaps *caps = nullptr;
  for (GstEvent *e : sink.events)
    if (GST_EVENT_TYPE (e) == GST_EVENT_CAPS)
      gst_event_parse_caps (e, &caps);
  gint w = 0;
  gst_structure_get_int (gst_caps_get_structure (caps, 0), "width", &w);
  fail_unless_equals_int (w, 32);
  fail_unless_equals_uint64 (gst_buffer_get_size (sink.buffers.back ()), 32 * 96);
  /* The next image of the draft's size negotiates again. */
  fail_unless_equals_int (push (out, solid (16, 16, 1, 1, 1)), GST_FLOW_OK);
  fail_unless_equals_int (sink.count (GST_EVENT_CAPS), 4);
}
GST_END_TEST;

/* Live: the stream keeps the rate it started with. Downstream changing to
 * another during the stream fails the repeat with the field named. */
GST_START_TEST (test_live_rate_change_refused)
{
  Sink sink ("video/x-raw,format=RGB");
  OutputStage out (sink.src);
  out.start ();
  out.set_framerate (0, 1, true);
  out.set_keep_source (true);
  out.push_stream_start (sink.element);
  OutputError error;
  DecodedImage img = solid (16, 16, 9, 9, 9);
  fail_unless (out.negotiate (img, error), "%s", error.text.c_str ());
  gint n, d;
  out.framerate (n, d);
  fail_unless (n == 30 && d == 1);
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  out.push_segment (seg);
  fail_unless_equals_int (out.push_frame_at (out.make_buffer (img), 0, GST_SECOND / 30, true), GST_FLOW_OK);
  gst_caps_unref (sink.accept);
  sink.accept = gst_caps_from_string ("video/x-raw,format=RGB,framerate=25/1");
  gst_pad_push_event (sink.sink, gst_event_new_reconfigure ());
  GstFlowReturn flow;
  OutputError refused;
  fail_unless (out.repeat_last_at (GST_SECOND / 30, GST_SECOND / 30, flow, &refused));
  fail_unless_equals_int (flow, GST_FLOW_NOT_NEGOTIATED);
  fail_unless (refused.details != nullptr);
  const std::string field = gst_structure_get_string (refused.details, "field");
  fail_unless_equals_string (field.c_str (), "framerate");
  gst_structure_free (refused.details);
}
GST_END_TEST;

/* An element with two sink pads (prompt_sink and a reference pad): a
 * stream-start id of our own, "geminiimagesrc-...", without the critical
 * gst_pad_create_stream_id () gives then (GstCheck makes it fatal). */
GST_START_TEST (test_stream_id_two_sink_pads)
{
  Sink sink ("video/x-raw,format=RGB");
  GstElement *element = gst_element_factory_make ("funnel", nullptr);
  fail_unless (element != nullptr);
  gst_object_ref_sink (element);
  GstPad *p0 = gst_element_request_pad_simple (element, "sink_%u");
  GstPad *p1 = gst_element_request_pad_simple (element, "sink_%u");
  fail_unless (p0 && p1);
  fail_unless_equals_int (element->numsinkpads, 2);
  OutputStage out (sink.src);
  out.start ();
  out.push_stream_start (element);
  out.push_stream_start (element);
  fail_unless_equals_int (sink.count (GST_EVENT_STREAM_START), 1);
  const gchar *id = nullptr;
  for (GstEvent *e : sink.events)
    if (GST_EVENT_TYPE (e) == GST_EVENT_STREAM_START)
      gst_event_parse_stream_start (e, &id);
  fail_unless (id != nullptr);
  fail_unless (g_str_has_prefix (id, "geminiimagesrc-"), "stream id %s", id);
  fail_unless (strlen (id) > strlen ("geminiimagesrc-"), "stream id %s", id);
  gst_element_release_request_pad (element, p0);
  gst_element_release_request_pad (element, p1);
  gst_object_unref (p0);
  gst_object_unref (p1);
  gst_object_unref (element);
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
  tcase_add_test (tc, test_rgba_first_choice);
  tcase_add_test (tc, test_frame_block_returns);
  tcase_add_test (tc, test_conversion_and_renegotiation);
  tcase_add_test (tc, test_negotiation_error);
  tcase_add_test (tc, test_skip_and_repeat);
  tcase_add_test (tc, test_flushed);
  tcase_add_test (tc, test_push_frame_at);
  tcase_add_test (tc, test_repeat_last_at);
  tcase_add_test (tc, test_skip_at);
  tcase_add_test (tc, test_given_segment);
  tcase_add_test (tc, test_growing_segment);
  tcase_add_test (tc, test_framerate);
  tcase_add_test (tc, test_stream_id_two_sink_pads);
  tcase_add_test (tc, test_scale_modes);
  tcase_add_test (tc, test_fixed_framerate_fills_slot);
  tcase_add_test (tc, test_live_framerate_from_downstream);
  tcase_add_test (tc, test_encoded_passthrough);
  tcase_add_test (tc, test_encoded_conversion);
  tcase_add_test (tc, test_downstream_pool);
  tcase_add_test (tc, test_header_only_image);
  tcase_add_test (tc, test_repeat_restores_caps);
  tcase_add_test (tc, test_live_rate_change_refused);
  tcase_add_test (tc, test_reconfigure_repeat);
  return s;
}

GST_CHECK_MAIN (output);
