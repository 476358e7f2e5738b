/* gst-gemini: gemini-cache.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-cache.h"
