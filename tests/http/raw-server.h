/* gst-gemini tests: a hostile HTTP server on raw sockets.
 *
 * gemini-emulator answers through SoupServer, which frames every answer
 * correctly; the engine's tests also need answers no HTTP library writes: a
 * malformed chunked body, a Content-Length of 5 GiB, a socket that accepts and
 * never speaks (TLS to a plain server). A RawServer listens on 127.0.0.1 and
 * runs `handler` on a thread of its own for each connection it accepts; the
 * handler writes whatever bytes it likes with blocking socket calls.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace gemini::test {

class RawServer {
public:
  /* One accepted connection, used by the handler on its thread. */
  class Connection {
  public:
    /* Reads one request: the head up to the blank line, then as many body
     * bytes as its Content-Length says. False if the client went away or
     * the server is stopping. `head` gets the request line and headers. */
    bool read_request (std::string * head = nullptr);
    /* False if the client is gone. */
    bool send (std::string_view bytes);
    /* Blocks until the client closes the connection or the server stops;
     * reads and drops whatever the client sends meanwhile. */
    void wait_closed ();
    /* Closes with SO_LINGER 0: the client sees a reset. */
    void reset ();

  private:
    friend class RawServer;
    explicit Connection (RawServer & server, int fd) : server_ (server), fd_ (fd) {}
    RawServer & server_;
    int fd_;
    std::string pending_;   /* bytes read past the last request */
  };

  using Handler = std::function<void (Connection &)>;

  /* Listens on 127.0.0.1 on a free port; g_error () if it cannot. */
  explicit RawServer (Handler handler);
  /* Stops accepting, wakes every handler (their reads see end of stream)
   * and joins their threads. */
  ~RawServer ();
  RawServer (const RawServer &) = delete;
  RawServer & operator= (const RawServer &) = delete;

  guint16 port () const { return port_; }
  /* "SCHEME://127.0.0.1:PORT" */
  std::string url (const char * scheme = "http") const;
  /* Connections accepted and complete requests read so far. */
  int connections () const { return connections_.load (); }
  int requests () const { return requests_.load (); }

  /* "HTTP/1.1 STATUS REASON\r\n" + `headers` (each "Name: value\r\n") +
   * "\r\n": a response head for the handlers to send. */
  static std::string head (int status, const std::string & headers);

private:
  void accept_loop ();

  Handler handler_;
  int listen_fd_ = -1;
  guint16 port_ = 0;
  std::atomic<bool> stopping_ {false};
  std::atomic<int> connections_ {0};
  std::atomic<int> requests_ {0};
  std::mutex lock_;
  std::vector<int> fds_;               /* open connections, under lock_ */
  std::vector<std::thread> threads_;   /* their handlers, under lock_ */
  std::thread acceptor_;
};

}  // namespace gemini::test
