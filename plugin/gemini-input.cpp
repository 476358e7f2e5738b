/* gst-gemini: gemini-input.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gemini-input.h"
