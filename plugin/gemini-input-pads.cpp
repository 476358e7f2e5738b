/* gst-gemini: the request sink pads. See gemini-input-pads.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-input-pads.h"

#include "glib-raii.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>

GST_DEBUG_CATEGORY_EXTERN (gst_gemini_image_src_debug);
#define GST_CAT_DEFAULT gst_gemini_image_src_debug

namespace gemini {

const gchar *InputPads::kResetHistoryEvent = "gemini-reset-history";

InputPads::~InputPads ()
{
  for (auto & [pad, st] : pads_) {
    if (st.latest)
      gst_sample_unref (st.latest);
    if (st.encoded_from)
      gst_sample_unref (st.encoded_from);
  }
}

void
InputPads::set_config (const Config & config)
{
  std::lock_guard<std::mutex> lk (lock_);
  const bool sampling_changed = config.reference_interval != config_.reference_interval
      || config.reference_every != config_.reference_every;
  config_ = config;
  if (sampling_changed)
    for (auto & [pad, st] : pads_)
      st.sampler = FrameSampler (config_.reference_interval, config_.reference_every);
}

GstPad *
InputPads::request (GstElement * element, GstPadTemplate * templ, const gchar * name, std::string & refused)
{
  const bool prompt = g_str_equal (GST_PAD_TEMPLATE_NAME_TEMPLATE (templ), "prompt_sink");
  guint number = 0;
  std::string pad_name;
  {
    std::lock_guard<std::mutex> lk (lock_);
    if (prompt) {
      for (auto & [p, st] : pads_)
        if (st.prompt) {
          refused = "geminiimagesrc has one prompt_sink pad, and it exists already; link it, or "
              "release it first.";
          return nullptr;
        }
      pad_name = "prompt_sink";
    } else {
      std::set<guint> used;
      for (auto & [p, st] : pads_)
        if (!st.prompt)
          used.insert (st.number);
      if (name && sscanf (name, "reference_sink_%u", &number) == 1) {
        if (used.count (number)) {
          refused = std::string ("The pad ") + name + " exists already; request reference_sink_%u "
              "for the next free number.";
          return nullptr;
        }
      } else {
        while (used.count (number))
          number++;
      }
      pad_name = "reference_sink_" + std::to_string (number);
    }
  }

  GstPad *pad = gst_pad_new_from_template (templ, pad_name.c_str ());
  gst_pad_set_element_private (pad, this);
  gst_pad_set_chain_function (pad, chain);
  gst_pad_set_event_function (pad, event);
  gst_pad_set_query_function (pad, query);
  {
    std::lock_guard<std::mutex> lk (lock_);
    PadState & st = pads_[pad];
    st.pad = pad;
    st.prompt = prompt;
    st.number = number;
    st.sampler = FrameSampler (config_.reference_interval, config_.reference_every);
    gst_segment_init (&st.segment, GST_FORMAT_TIME);
  }
  gst_pad_set_active (pad, TRUE);
  gst_element_add_pad (element, pad);
  GST_INFO_OBJECT (element, "Requested %s", pad_name.c_str ());
  return pad;
}

void
InputPads::release (GstElement * element, GstPad * pad)
{
  guint origin;
  {
    std::lock_guard<std::mutex> lk (lock_);
    auto it = pads_.find (pad);
    if (it == pads_.end ())
      return;
    origin = it->second.prompt ? Generation::kFromPromptPad : it->second.number;
    if (it->second.latest)
      gst_sample_unref (it->second.latest);
    if (it->second.encoded_from)
      gst_sample_unref (it->second.encoded_from);
    pads_.erase (it);
  }
  /* Its waiting chain returns FLUSHING; then the pad can go. */
  if (cb_.released)
    cb_.released (origin);
  gst_pad_set_active (pad, FALSE);
  gst_element_remove_pad (element, pad);
}

bool
InputPads::any () const
{
  std::lock_guard<std::mutex> lk (lock_);
  return !pads_.empty ();
}

bool
InputPads::has_prompt_pad () const
{
  std::lock_guard<std::mutex> lk (lock_);
  for (auto & [p, st] : pads_)
    if (st.prompt)
      return true;
  return false;
}

/* The prompt pad if there is one, else the lowest-numbered reference pad. */
/* A pad's state; nullptr once it was released (a chain or event that was
 * already running must not bring it back). */
InputPads::PadState *
InputPads::find_locked (GstPad * pad)
{
  auto it = pads_.find (pad);
  return it == pads_.end () ? nullptr : &it->second;
}

bool
InputPads::driving_locked (GstPad * pad) const
{
  const PadState *best = nullptr;
  for (auto & [p, st] : pads_) {
    if (st.prompt)
      return p == pad;
    if (!best || st.number < best->number)
      best = &st;
  }
  return best && best->pad == pad;
}

void
InputPads::warn_once (GstPad * pad, const std::string & key, const std::string & text)
{
  {
    std::lock_guard<std::mutex> lk (lock_);
    auto it = pads_.find (pad);
    if (it == pads_.end () || !it->second.warned.insert (key).second)
      return;
  }
  if (cb_.warning)
    cb_.warning (pad, text);
}

void
InputPads::reset ()
{
  std::lock_guard<std::mutex> lk (lock_);
  for (auto & [p, st] : pads_) {
    if (st.latest)
      gst_sample_unref (st.latest);
    st.latest = nullptr;
    if (st.encoded_from)
      gst_sample_unref (st.encoded_from);
    st.encoded_from = nullptr;
    st.encoded = ReferenceImage ();
    st.sampler.reset ();
    st.warned.clear ();
  }
}

std::vector<ReferenceImage>
InputPads::snapshot ()
{
  struct Frame {
    GstPad *pad;
    guint number;
    GstSample *sample;
    std::optional<ReferenceImage> cached;
  };
  std::vector<Frame> frames;
  guint max_size;
  {
    std::lock_guard<std::mutex> lk (lock_);
    max_size = config_.reference_max_size;
    for (auto & [p, st] : pads_) {
      if (st.prompt || !st.latest)
        continue;
      Frame f {p, st.number, gst_sample_ref (st.latest), std::nullopt};
      /* The same sample object, not just the same buffer address. */
      if (st.encoded_from == st.latest && st.encoded.data)
        f.cached = st.encoded;
      frames.push_back (std::move (f));
    }
  }
  std::sort (frames.begin (), frames.end (), [] (const Frame & a, const Frame & b) { return a.number < b.number; });

  std::vector<ReferenceImage> out;
  for (Frame & f : frames) {
    if (f.cached) {
      out.push_back (std::move (*f.cached));
    } else {
      /* Encoded outside the lock: it runs a small pipeline (bounded). */
      GCharPtr name (gst_pad_get_name (f.pad));
      ReferenceImage img;
      std::string problem;
      if (reference_from_sample (f.sample, max_size, name.get (), img, problem)) {
        std::lock_guard<std::mutex> lk (lock_);
        auto it = pads_.find (f.pad);
        if (it != pads_.end () && it->second.latest == f.sample) {
          if (it->second.encoded_from)
            gst_sample_unref (it->second.encoded_from);
          it->second.encoded_from = gst_sample_ref (f.sample);
          it->second.encoded = img;
        }
        out.push_back (std::move (img));
      } else {
        warn_once (f.pad, problem, std::string (name.get ()) + ": the frame is not sent with the "
            "request. " + problem);
      }
    }
    gst_sample_unref (f.sample);
  }
  return out;
}

GstFlowReturn
InputPads::chain (GstPad * pad, GstObject *, GstBuffer * buf)
{
  auto self = static_cast<InputPads *> (gst_pad_get_element_private (pad));
  bool prompt;
  {
    std::lock_guard<std::mutex> lk (self->lock_);
    auto it = self->pads_.find (pad);
    if (it == self->pads_.end ()) {
      gst_buffer_unref (buf);
      return GST_FLOW_FLUSHING;   /* released meanwhile */
    }
    prompt = it->second.prompt;
  }
  return prompt ? self->prompt_chain (pad, buf) : self->reference_chain (pad, buf);
}

static std::string
time_string (GstClockTime t)
{
  if (!GST_CLOCK_TIME_IS_VALID (t))
    return "(no timestamp)";
  GCharPtr s (g_strdup_printf ("%" GST_TIME_FORMAT, GST_TIME_ARGS (t)));
  return s.get ();
}

GstFlowReturn
InputPads::prompt_chain (GstPad * pad, GstBuffer * buf)
{
  PromptFormat format;
  bool reset_history;
  GstClockTime running_time;
  {
    std::lock_guard<std::mutex> lk (lock_);
    PadState *st = find_locked (pad);
    if (!st) {
      gst_buffer_unref (buf);
      return GST_FLOW_FLUSHING;   /* released meanwhile */
    }
    format = st->format;
    reset_history = std::exchange (st->reset_history, false);
    running_time = gst_segment_to_running_time (&st->segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
  }
  std::string text, problem;
  const bool ok = prompt_from_buffer (buf, format, text, problem);
  Generation g;
  g.pts = GST_BUFFER_PTS (buf);
  g.duration = GST_BUFFER_DURATION (buf);
  gst_buffer_unref (buf);
  if (!ok) {
    /* Each bad buffer is said: its text is lost otherwise. */
    if (cb_.warning)
      cb_.warning (pad, "prompt_sink: the prompt at " + time_string (g.pts) + " was skipped. " + problem);
    return GST_FLOW_OK;
  }
  g.prompt = std::move (text);
  g.running_time = running_time;
  g.origin = Generation::kFromPromptPad;
  g.reset_history = reset_history;
  g.pad_references = snapshot ();
  return cb_.generation ? cb_.generation (std::move (g)) : GST_FLOW_OK;
}

GstFlowReturn
InputPads::reference_chain (GstPad * pad, GstBuffer * buf)
{
  bool make = false;
  guint number = 0;
  GstClockTime pts = GST_BUFFER_PTS (buf);
  GstClockTime rt = GST_CLOCK_TIME_NONE;
  {
    std::lock_guard<std::mutex> lk (lock_);
    PadState *found = find_locked (pad);
    if (!found) {
      gst_buffer_unref (buf);
      return GST_FLOW_FLUSHING;   /* released meanwhile */
    }
    PadState & st = *found;
    number = st.number;
    GstCaps *caps = gst_pad_get_current_caps (pad);
    GstSample *sample = gst_sample_new (buf, caps, &st.segment, nullptr);
    if (caps)
      gst_caps_unref (caps);
    if (st.latest)
      gst_sample_unref (st.latest);
    st.latest = sample;
    bool has_prompt_pad = false;
    for (auto & [p, other] : pads_)
      has_prompt_pad = has_prompt_pad || other.prompt;
    if (!has_prompt_pad && driving_locked (pad)) {
      rt = gst_segment_to_running_time (&st.segment, GST_FORMAT_TIME, pts);
      make = st.sampler.take (rt);
    }
  }
  gst_buffer_unref (buf);
  if (!make)
    return GST_FLOW_OK;
  Generation g;
  g.pts = pts;
  g.running_time = rt;
  g.origin = number;
  {
    std::lock_guard<std::mutex> lk (lock_);
    PadState *st = find_locked (pad);
    if (!st)
      return GST_FLOW_FLUSHING;
    g.reset_history = std::exchange (st->reset_history, false);
  }
  g.pad_references = snapshot ();
  if (g.pad_references.empty ())
    return GST_FLOW_OK;   /* said by snapshot () */
  return cb_.generation ? cb_.generation (std::move (g)) : GST_FLOW_OK;
}

/* The pads take what their templates say, whatever the src pad does: the
 * default handler would answer with the src pad's (video) caps. */
gboolean
InputPads::query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS: {
      GstCaps *filter, *templ = gst_pad_get_pad_template_caps (pad);
      gst_query_parse_caps (query, &filter);
      if (filter) {
        GstCaps *both = gst_caps_intersect_full (filter, templ, GST_CAPS_INTERSECT_FIRST);
        gst_caps_unref (templ);
        templ = both;
      }
      gst_query_set_caps_result (query, templ);
      gst_caps_unref (templ);
      return TRUE;
    }
    case GST_QUERY_ACCEPT_CAPS: {
      GstCaps *caps, *templ = gst_pad_get_pad_template_caps (pad);
      gst_query_parse_accept_caps (query, &caps);
      gst_query_set_accept_caps_result (query, gst_caps_is_subset (caps, templ));
      gst_caps_unref (templ);
      return TRUE;
    }
    case GST_QUERY_ALLOCATION:
      return FALSE;
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

gboolean
InputPads::event (GstPad * pad, GstObject *, GstEvent * event)
{
  return static_cast<InputPads *> (gst_pad_get_element_private (pad))->handle_event (pad, event);
}

gboolean
InputPads::handle_event (GstPad * pad, GstEvent * event)
{
  bool driving, prompt;
  {
    std::lock_guard<std::mutex> lk (lock_);
    auto it = pads_.find (pad);
    if (it == pads_.end ()) {
      gst_event_unref (event);
      return FALSE;
    }
    driving = driving_locked (pad);
    prompt = it->second.prompt;
  }

  gboolean ret = TRUE;
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      if (prompt) {
        PromptFormat format;
        if (!prompt_format_from_caps (caps, format)) {
          GCharPtr s (gst_caps_to_string (caps));
          warn_once (pad, "caps", std::string ("prompt_sink takes text/x-raw with format utf8 or "
              "pango-markup, not ") + s.get () + "; put a parser such as subparse before it.");
          ret = FALSE;
          break;
        }
        std::lock_guard<std::mutex> lk (lock_);
        if (PadState *st = find_locked (pad))
          st->format = format;
      }
      break;
    }
    case GST_EVENT_SEGMENT: {
      const GstSegment *segment;
      gst_event_parse_segment (event, &segment);
      if (segment->format != GST_FORMAT_TIME) {
        GCharPtr name (gst_pad_get_name (pad));
        warn_once (pad, "segment", std::string (name.get ()) + " got a segment in " +
            gst_format_get_name (segment->format) + ", not time: timestamps are ignored. Put a "
            "parser that timestamps its buffers upstream.");
        break;
      }
      {
        std::lock_guard<std::mutex> lk (lock_);
        if (PadState *st = find_locked (pad))
          gst_segment_copy_into (segment, &st->segment);
      }
      if (driving && cb_.segment)
        cb_.segment (*segment);
      break;
    }
    case GST_EVENT_STREAM_START: {
      /* In order with the prompts: the next one starts a new conversation. */
      std::lock_guard<std::mutex> lk (lock_);
      if (PadState *st = find_locked (pad))
        st->reset_history = true;
      break;
    }
    case GST_EVENT_FLUSH_START:
      if (driving && cb_.flush_start)
        cb_.flush_start (gst_event_get_seqnum (event));
      break;
    case GST_EVENT_FLUSH_STOP: {
      {
        std::lock_guard<std::mutex> lk (lock_);
        if (PadState *st = find_locked (pad)) {
          gst_segment_init (&st->segment, GST_FORMAT_TIME);
          st->sampler.reset ();
        }
      }
      if (driving && cb_.flush_stop)
        cb_.flush_stop (gst_event_get_seqnum (event));
      break;
    }
    case GST_EVENT_EOS:
      if (driving && cb_.eos)
        cb_.eos ();
      break;
    case GST_EVENT_CUSTOM_DOWNSTREAM:
    case GST_EVENT_CUSTOM_DOWNSTREAM_OOB:
    case GST_EVENT_CUSTOM_BOTH:
      if (gst_event_has_name (event, kResetHistoryEvent)) {
        std::lock_guard<std::mutex> lk (lock_);
        if (PadState *st = find_locked (pad))
          st->reset_history = true;
      }
      break;
    default:
      /* Tags, gaps and the like of a prompt stream say nothing about the
       * images; they stop here. */
      break;
  }
  gst_event_unref (event);
  return ret;
}

}  // namespace gemini
