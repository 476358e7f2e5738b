/* gst-gemini: gemini-input (being written; see docs/architecture.md).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
