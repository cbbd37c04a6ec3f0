// idle_conns: open N keep-alive HTTP/1.1 connections to a loopback server, serve one request
// on each, then hold them idle so the caller can measure the server's memory per idle
// connection.
//
//   idle_conns [-n N] [-p PORT] [-a ADDR] [-s SPREAD] [-w SETTLE_S] [-t MAX_S] [-u PATH]
//
//   -n N        connections (default 10000)
//   -p PORT     server port on ADDR (default 8080)
//   -a ADDR     server IPv4 address; must be in 127.0.0.0/8 (default 127.0.0.1)
//   -s SPREAD   spread source addresses over 127.0.0.1 .. 127.0.0.SPREAD (default 1: no bind)
//   -w SETTLE_S seconds to wait after the last response before reporting ready (default 3)
//   -t MAX_S    hard limit on the whole run in seconds (default 120)
//   -u PATH     request target (default /hello.txt)
//
// Protocol with the caller (stdout, one line each, flushed):
//   READY open=<n> failed=<n>           all connections served one request and sat SETTLE_S
//   DONE open=<n> closed_by_peer=<n>    on exit
// It exits when stdin reaches EOF (or is closed), on SIGINT/SIGTERM, or after MAX_S.
// Connections are closed with SO_LINGER 0 (RST) so no TIME_WAIT is left behind.
// Non-blocking sockets + epoll; at most 256 connections are in the connect/request phase at a
// time so a server's listen backlog never overflows (SYN drops would add 1 s retries).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum state { ST_NONE, ST_CONNECTING, ST_SENDING, ST_READING, ST_IDLE, ST_CLOSED, ST_FAILED };

struct conn {
  int fd;
  enum state st;
  unsigned sent;   // request bytes sent
  unsigned got;    // response bytes buffered (headers) / total read
  long need;       // total response size once headers are parsed, else -1
  char buf[512];   // response head buffer (the body is tiny and is just counted)
};

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "idle_conns: %s: %s\n", what, strerror(errno));
  exit(2);
}

static char g_req[256];
static unsigned g_req_len;

// Parses the response head in c->buf; sets c->need when the head is complete.
// Returns -1 on a malformed or non-2xx response.
static int parse_head(struct conn *c) {
  char *end = memmem(c->buf, c->got, "\r\n\r\n", 4);
  if (!end) return c->got >= sizeof c->buf - 1 ? -1 : 0;
  size_t head = (size_t)(end - c->buf) + 4;
  c->buf[c->got] = '\0';
  if (strncmp(c->buf, "HTTP/1.1 2", 10) != 0) return -1;
  long len = -1;
  for (char *p = c->buf; p && p < end; p = strstr(p, "\r\n")) {
    if (*p == '\r') p += 2;
    if (strncasecmp(p, "content-length:", 15) == 0) len = strtol(p + 15, NULL, 10);
  }
  if (len < 0) return -1;  // only sized responses are expected for a static file
  c->need = (long)head + len;
  return 0;
}

int main(int argc, char **argv) {
  long n = 10000, port = 8080, spread = 1, settle = 3, max_s = 120;
  const char *addr = "127.0.0.1", *path = "/hello.txt";
  int opt;
  while ((opt = getopt(argc, argv, "n:p:a:s:w:t:u:")) != -1) {
    switch (opt) {
      case 'n': n = atol(optarg); break;
      case 'p': port = atol(optarg); break;
      case 'a': addr = optarg; break;
      case 's': spread = atol(optarg); break;
      case 'w': settle = atol(optarg); break;
      case 't': max_s = atol(optarg); break;
      case 'u': path = optarg; break;
      default: fprintf(stderr, "usage: see the comment at the top of idle_conns.c\n"); return 2;
    }
  }
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1 || (ntohl(dst.sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "idle_conns: %s is not a loopback IPv4 address\n", addr);
    return 2;
  }
  if (n < 1 || n > 1000000 || spread < 1 || spread > 254 || max_s < 1) {
    fprintf(stderr, "idle_conns: bad arguments\n");
    return 2;
  }
  g_req_len = (unsigned)snprintf(g_req, sizeof g_req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
  rlim_t want = (rlim_t)n + 64;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want;
    if (rl.rlim_max < want) rl.rlim_max = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      getrlimit(RLIMIT_NOFILE, &rl);
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
      if (rl.rlim_cur < want) {
        fprintf(stderr, "idle_conns: RLIMIT_NOFILE hard limit %llu < %llu needed\n",
                (unsigned long long)rl.rlim_max, (unsigned long long)want);
        return 2;
      }
    }
  }

  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct conn *conns = calloc((size_t)n, sizeof *conns);
  if (!conns) die("calloc");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");

  const double t0 = now_s(), deadline = t0 + (double)max_s;
  const long max_inflight = 256;
  long next = 0, inflight = 0, idle = 0, failed = 0, closed = 0;
  struct epoll_event evs[512];

  // Phase 1: connect, send one request, read one full response on every connection.
  while ((idle + failed < n) && !g_stop && now_s() < deadline) {
    while (next < n && inflight < max_inflight) {
      struct conn *c = &conns[next];
      c->need = -1;
      c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c->fd < 0) die("socket");
      int one = 1;
      setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (spread > 1) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl((127u << 24) | (uint32_t)(1 + next % spread));
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0) die("bind");
      }
      int r = connect(c->fd, (struct sockaddr *)&dst, sizeof dst);
      if (r != 0 && errno != EINPROGRESS) {
        fprintf(stderr, "idle_conns: connect #%ld: %s\n", next, strerror(errno));
        close(c->fd);
        c->fd = -1;
        c->st = ST_FAILED;
        failed++;
        next++;
        continue;
      }
      c->st = ST_CONNECTING;
      struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)next};
      if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
      inflight++;
      next++;
    }
    int k = epoll_wait(ep, evs, 512, 200);
    if (k < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < k; i++) {
      struct conn *c = &conns[evs[i].data.u64];
      int bad = 0;
      if (c->st == ST_IDLE) {  // the server closed a connection that was already idle
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        c->st = ST_CLOSED;
        closed++;
        continue;
      }
      if (c->st == ST_CONNECTING && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
          errno = err;
          fprintf(stderr, "idle_conns: connect: %s\n", strerror(err));
          bad = 1;
        } else {
          c->st = ST_SENDING;
        }
      }
      if (!bad && c->st == ST_SENDING) {
        ssize_t w = send(c->fd, g_req + c->sent, g_req_len - c->sent, MSG_NOSIGNAL);
        if (w > 0) c->sent += (unsigned)w;
        else if (w < 0 && errno != EAGAIN) bad = 1;
        if (c->sent == g_req_len) {
          c->st = ST_READING;
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = evs[i].data.u64};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
      }
      if (!bad && c->st == ST_READING && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        for (;;) {
          char tmp[4096];
          char *dstp = c->need < 0 ? c->buf + c->got : tmp;
          size_t room = c->need < 0 ? sizeof c->buf - 1 - c->got : sizeof tmp;
          if (room == 0) { bad = 1; break; }
          ssize_t r = recv(c->fd, dstp, room, 0);
          if (r < 0 && errno == EAGAIN) break;
          if (r <= 0) { bad = 1; break; }
          c->got += (unsigned)r;
          if (c->need < 0 && parse_head(c) != 0) { bad = 1; break; }
          if (c->need >= 0 && (long)c->got >= c->need) {
            if ((long)c->got > c->need) { bad = 1; break; }  // extra bytes: not idle
            c->st = ST_IDLE;
            idle++;
            inflight--;
            // Stay registered for hang-ups only, to count connections the server closes.
            struct epoll_event ev = {.events = EPOLLRDHUP, .data.u64 = evs[i].data.u64};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            break;
          }
        }
      }
      if (bad) {
        fprintf(stderr, "idle_conns: connection %llu failed in state %d\n",
                (unsigned long long)evs[i].data.u64, (int)c->st);
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
        c->st = ST_FAILED;
        failed++;
        inflight--;
      }
    }
  }
  if (idle + failed < n) {
    fprintf(stderr, "idle_conns: %s before all connections were served (%ld idle, %ld failed)\n",
            g_stop ? "stopped" : "timed out", idle, failed);
  }

  // Phase 2: let the server settle, report, hold until stdin closes / a signal / MAX_S.
  double settle_until = now_s() + (double)settle;
  int reported = 0;
  struct epoll_event sev = {.events = EPOLLIN | EPOLLHUP, .data.u64 = UINT64_MAX};
  int watch_stdin = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev) == 0;
  while (!g_stop && now_s() < deadline) {
    if (!reported && now_s() >= settle_until) {
      printf("READY open=%ld failed=%ld\n", idle - closed, failed);
      fflush(stdout);
      reported = 1;
    }
    int k = epoll_wait(ep, evs, 512, 100);
    if (k < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < k; i++) {
      if (evs[i].data.u64 == UINT64_MAX) {
        char tmp[256];
        ssize_t r = read(0, tmp, sizeof tmp);
        if (r <= 0) g_stop = 1;  // EOF on stdin: the caller is done
        continue;
      }
      struct conn *c = &conns[evs[i].data.u64];
      if (c->st == ST_IDLE) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        c->st = ST_CLOSED;
        closed++;
      }
    }
    (void)watch_stdin;
  }
  if (!g_stop) fprintf(stderr, "idle_conns: max time %lds reached\n", max_s);

  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  for (long i = 0; i < n; i++) {
    if (conns[i].fd >= 0 && conns[i].st != ST_NONE) {
      setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close(conns[i].fd);
    }
  }
  printf("DONE open=%ld closed_by_peer=%ld\n", idle - closed, closed);
  fflush(stdout);
  free(conns);
  return failed ? 1 : 0;
}
