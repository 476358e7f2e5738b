/* gst-gemini tests: a TCP server on 127.0.0.1 that accepts connections and
 * never says a word. An https endpoint pointed at it stalls in the TLS
 * handshake; a plain http one waits for headers forever.
 *
 * Header-only; include it after the C++ standard headers and before
 * <gst/check/gstcheck.h> like the other helpers (it uses fail_unless).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <atomic>
#include <thread>
#include <vector>

#include <gio/gio.h>

#include "plugin/glib-raii.h"

namespace gemini::test {

struct SilentServer {
  GObjectPtr<GSocketListener> listener {g_socket_listener_new ()};
  GObjectPtr<GCancellable> cancel {g_cancellable_new ()};
  std::vector<GSocketConnection *> conns;
  std::atomic<int> accepted {0};
  guint16 port = 0;
  std::thread thread;

  SilentServer ()
  {
    GObjectPtr<GInetAddress> lo (g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4));
    GObjectPtr<GSocketAddress> sa (g_inet_socket_address_new (lo.get (), 0));
    GSocketAddress *effective = nullptr;
    if (!g_socket_listener_add_address (listener.get (), sa.get (), G_SOCKET_TYPE_STREAM,
            G_SOCKET_PROTOCOL_TCP, nullptr, &effective, nullptr))
      g_error ("SilentServer: cannot listen on 127.0.0.1");
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
    g_object_unref (effective);
    thread = std::thread ([this] {
      while (GSocketConnection *c = g_socket_listener_accept (listener.get (), nullptr, cancel.get (), nullptr)) {
        conns.push_back (c);
        accepted++;
      }
    });
  }
  ~SilentServer ()
  {
    g_cancellable_cancel (cancel.get ());
    thread.join ();
    for (GSocketConnection *c : conns)
      g_object_unref (c);
    g_socket_listener_close (listener.get ());
  }
  SilentServer (const SilentServer &) = delete;
  SilentServer & operator= (const SilentServer &) = delete;
};

}  // namespace gemini::test
