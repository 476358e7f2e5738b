/* gst-gemini: gemini-ratelimit.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-ratelimit.h"
