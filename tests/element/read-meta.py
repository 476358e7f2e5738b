#!/usr/bin/python3
# gst-gemini tests: reads the GstGeminiImageMeta of every buffer an appsink
# named "sink" gets, from Python (PyGObject), as docs/geminiimagesrc.md shows.
# Usage: read-meta.py "PIPELINE ... ! appsink name=sink"
# Prints "frame N" then one "field=value" line per field, for each buffer.
# SPDX-License-Identifier: LGPL-2.1-or-later
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

Gst.init(None)
pipeline = Gst.parse_launch(sys.argv[1])
sink = pipeline.get_by_name("sink")
pipeline.set_state(Gst.State.PLAYING)
frame = 0
while True:
    sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
    if sample is None:
        break
    meta = sample.get_buffer().get_custom_meta("GstGeminiImageMeta")
    print("frame %d" % frame)
    if meta is not None:
        s = meta.get_structure()
        for i in range(s.n_fields()):
            name = s.nth_field_name(i)
            print("%s=%s" % (name, s.get_value(name)))
    frame += 1
bus = pipeline.get_bus()
msg = bus.timed_pop_filtered(10 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
pipeline.set_state(Gst.State.NULL)
if msg is None or msg.type != Gst.MessageType.EOS:
    print("no EOS: %s" % (msg.parse_error()[0].message if msg else "timeout"))
    sys.exit(1)
print("eos")
