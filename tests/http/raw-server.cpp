/* gst-gemini tests: a hostile HTTP server on raw sockets.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "raw-server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gemini::test {

namespace {

const char *
reason (int status)
{
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    default: return "Whatever";
  }
}

}  // namespace

std::string
RawServer::head (int status, const std::string & headers)
{
  return "HTTP/1.1 " + std::to_string (status) + " " + reason (status) + "\r\n" + headers + "\r\n";
}

RawServer::RawServer (Handler handler) : handler_ (std::move (handler))
{
  listen_fd_ = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    g_error ("RawServer: socket: %s", g_strerror (errno));
  int one = 1;
  setsockopt (listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind (listen_fd_, reinterpret_cast<sockaddr *> (&addr), sizeof addr) < 0 || listen (listen_fd_, 16) < 0)
    g_error ("RawServer: bind/listen: %s", g_strerror (errno));
  socklen_t len = sizeof addr;
  getsockname (listen_fd_, reinterpret_cast<sockaddr *> (&addr), &len);
  port_ = ntohs (addr.sin_port);
  acceptor_ = std::thread (&RawServer::accept_loop, this);
}

RawServer::~RawServer ()
{
  stopping_ = true;
  /* shutdown () wakes a thread blocked in accept () or recv () on Linux. */
  shutdown (listen_fd_, SHUT_RDWR);
  acceptor_.join ();
  close (listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lk (lock_);
    for (int fd : fds_)
      shutdown (fd, SHUT_RDWR);
    threads.swap (threads_);
  }
  for (auto & t : threads)
    t.join ();
}

std::string
RawServer::url (const char * scheme) const
{
  return std::string (scheme) + "://127.0.0.1:" + std::to_string (port_);
}

void
RawServer::accept_loop ()
{
  for (;;) {
    int fd = accept4 (listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      return;   /* shut down */
    }
    std::lock_guard<std::mutex> lk (lock_);
    if (stopping_) {
      close (fd);
      return;
    }
    connections_++;
    fds_.push_back (fd);
    threads_.emplace_back ([this, fd] {
      Connection c (*this, fd);
      handler_ (c);
      std::lock_guard<std::mutex> lk2 (lock_);
      auto it = std::find (fds_.begin (), fds_.end (), c.fd_);
      if (it != fds_.end ()) {
        fds_.erase (it);
        close (c.fd_);
      }
    });
  }
}

bool
RawServer::Connection::read_request (std::string * head)
{
  char buf[65536];
  size_t end;
  while ((end = pending_.find ("\r\n\r\n")) == std::string::npos) {
    ssize_t n = recv (fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    pending_.append (buf, size_t (n));
  }
  std::string h = pending_.substr (0, end + 4);
  pending_.erase (0, end + 4);
  size_t body = 0;
  gchar *l = g_ascii_strdown (h.c_str (), -1);
  std::string lower (l);
  g_free (l);
  size_t cl = lower.find ("\r\ncontent-length:");
  if (cl != std::string::npos)
    body = size_t (g_ascii_strtoull (lower.c_str () + cl + 17, nullptr, 10));
  while (pending_.size () < body) {
    ssize_t n = recv (fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    pending_.append (buf, size_t (n));
  }
  pending_.erase (0, body);
  if (head)
    *head = h;
  server_.requests_++;
  return true;
}

bool
RawServer::Connection::send (std::string_view bytes)
{
  while (!bytes.empty ()) {
    ssize_t n = ::send (fd_, bytes.data (), bytes.size (), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR)
        continue;
      return false;
    }
    bytes.remove_prefix (size_t (n));
  }
  return true;
}

void
RawServer::Connection::wait_closed ()
{
  char buf[4096];
  while (!server_.stopping_) {
    ssize_t n = recv (fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EINTR))
      return;
  }
}

void
RawServer::Connection::reset ()
{
  linger l = {1, 0};
  setsockopt (fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  std::lock_guard<std::mutex> lk (server_.lock_);
  auto it = std::find (server_.fds_.begin (), server_.fds_.end (), fd_);
  if (it != server_.fds_.end ()) {
    server_.fds_.erase (it);
    close (fd_);
  }
  fd_ = -1;
}

}  // namespace gemini::test
