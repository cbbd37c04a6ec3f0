// bigfile_client: measure how fast a loopback HTTP/1.1 server delivers a large static file over
// keep-alive connections. wrk reads responses 8 KiB at a time, which makes wrk itself the
// bottleneck for large bodies; this client reads with recv() calls of up to 1 MiB.
//
//   bigfile_client [-c CONNS] [-p PORT] [-a ADDR] [-u PATH] [-l LENGTH] [-w WARMUP_S]
//                  [-d DURATION_S] [-t MAX_S] [-b RECV_BYTES]
//
//   -c CONNS       keep-alive connections (default 16)
//   -p PORT        server port on ADDR (default 8080)
//   -a ADDR        server IPv4 address; must be in 127.0.0.0/8 (default 127.0.0.1)
//   -u PATH        request target (default /file1m.bin)
//   -l LENGTH      expected Content-Length; any other length is an error (default: not checked,
//                  but every response must carry a Content-Length)
//   -w WARMUP_S    seconds of traffic before the measurement starts (default 1; 0: none)
//   -d DURATION_S  seconds of measurement (default 10)
//   -t MAX_S       hard limit on the whole run (default WARMUP_S + DURATION_S + 30)
//   -b RECV_BYTES  largest recv() (default 1048576)
//
// Each connection sends `GET PATH HTTP/1.1\r\nHost: x\r\n\r\n`, parses the response head
// (status line must be 200, Content-Length required), reads the body, and sends the next
// request: one request in flight per connection. Non-blocking sockets, one epoll loop, one
// thread. Errors (connect failure, non-200, bad or missing Content-Length, connection closed or
// reset, short body, extra bytes after a response) are counted; the connection is reopened,
// at most 100 times in all.
//
// Output (stdout), one line, then a human-readable line on stderr:
//   RESULT bytes=<body bytes received during the measurement> responses=<completed>
//          elapsed=<s> gbps=<bytes/s / 1e9> rps=<responses/s> errors=<n> conns=<n>
// Exit status: 0 if no error occurred (warm-up included), 1 if any did, 2 on a setup failure.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { ST_CONNECTING, ST_SENDING, ST_HEAD, ST_BODY };

struct conn {
  int fd;
  enum state st;
  unsigned sent;       // request bytes sent
  uint32_t events;     // epoll interest
  unsigned head_len;   // bytes in head[]
  long long left;      // body bytes still to read
  char head[8192];     // response head
};

#define MAX_REOPEN 100

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "bigfile_client: %s: %s\n", what, strerror(errno));
  exit(2);
}

static char g_req[1200];
static unsigned g_req_len;
static long long g_expect = -1;
static struct sockaddr_in g_addr;
static int g_ep;

static int g_measuring = 0;
static unsigned long long g_bytes = 0, g_responses = 0;
static unsigned long g_errors = 0, g_reopened = 0;
static char g_first_error[256] = "";

static void error_at(struct conn *c, const char *what) {
  g_errors++;
  if (!g_first_error[0]) {
    snprintf(g_first_error, sizeof g_first_error, "%s (fd %d, state %d)", what, c->fd, (int)c->st);
  }
}

static int conn_open(struct conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  c->sent = 0;
  c->head_len = 0;
  c->left = 0;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  c->events = EPOLLOUT;
  if (connect(c->fd, (struct sockaddr *)&g_addr, sizeof g_addr) == 0) {
    c->st = ST_SENDING;
  } else if (errno == EINPROGRESS) {
    c->st = ST_CONNECTING;
  } else {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  if (epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
  return 0;
}

// Closes the connection after an error and opens a new one (bounded in number).
static void conn_reopen(struct conn *c) {
  if (c->fd >= 0) {
    struct linger lg = {1, 0};  // RST: no TIME_WAIT left behind
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c->fd);
    c->fd = -1;
  }
  if (g_reopened >= MAX_REOPEN) {
    if (!g_stop) fprintf(stderr, "bigfile_client: more than %d errors, giving up\n", MAX_REOPEN);
    g_stop = 1;
    return;
  }
  g_reopened++;
  if (conn_open(c) != 0) error_at(c, "connect");
}

static void want(struct conn *c, uint32_t events) {
  if (c->events == events) return;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl");
  c->events = events;
}

// Sends the rest of the request; then waits for the response.
static void send_rest(struct conn *c) {
  for (;;) {
    ssize_t n = send(c->fd, g_req + c->sent, g_req_len - c->sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->sent += (unsigned)n;
      if (c->sent == g_req_len) {
        c->st = ST_HEAD;
        want(c, EPOLLIN);
        return;
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want(c, EPOLLOUT);
      return;
    } else {
      error_at(c, "send failed");
      conn_reopen(c);
      return;
    }
  }
}

static void start_request(struct conn *c) {
  c->st = ST_SENDING;
  c->sent = 0;
  c->head_len = 0;
  c->left = 0;
  send_rest(c);
}

// Parses the complete head in c->head[0..end). Returns the Content-Length, or -1.
static long long parse_head(struct conn *c, size_t end, const char **why) {
  c->head[end] = '\0';
  if (!(strncmp(c->head, "HTTP/1.1 200 ", 13) == 0 || strncmp(c->head, "HTTP/1.0 200 ", 13) == 0 ||
        strncmp(c->head, "HTTP/1.1 200\r", 13) == 0)) {
    *why = "status is not 200";
    return -1;
  }
  long long len = -1;
  for (char *p = strstr(c->head, "\r\n"); p && p + 2 < c->head + end; p = strstr(p + 2, "\r\n")) {
    char *line = p + 2;
    if (strncasecmp(line, "Content-Length:", 15) == 0) {
      char *q = line + 15, *e;
      while (*q == ' ' || *q == '\t') q++;
      errno = 0;
      long long v = strtoll(q, &e, 10);
      if (errno || e == q || v < 0) {
        *why = "bad Content-Length";
        return -1;
      }
      len = v;
    } else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
      *why = "Transfer-Encoding (not supported)";
      return -1;
    }
  }
  if (len < 0) {
    *why = "no Content-Length";
    return -1;
  }
  if (g_expect >= 0 && len != g_expect) {
    *why = "Content-Length differs from -l";
    return -1;
  }
  return len;
}

// Consumes n received bytes at p. Returns 0, or -1 after an error (the connection is reopened).
static int consume(struct conn *c, const char *p, size_t n) {
  if (c->st == ST_HEAD) {
    size_t room = sizeof c->head - 1 - c->head_len;
    size_t take = n < room ? n : room;
    memcpy(c->head + c->head_len, p, take);
    size_t old = c->head_len;
    c->head_len += (unsigned)take;
    size_t from = old >= 3 ? old - 3 : 0;
    char *e = memmem(c->head + from, c->head_len - from, "\r\n\r\n", 4);
    if (!e) {
      if (c->head_len >= sizeof c->head - 1) {
        error_at(c, "response head too large");
        conn_reopen(c);
        return -1;
      }
      return 0;
    }
    size_t end = (size_t)(e - c->head) + 4;
    const char *why = "";
    long long len = parse_head(c, end, &why);
    if (len < 0) {
      error_at(c, why);
      conn_reopen(c);
      return -1;
    }
    size_t used = end - old;  // bytes of this chunk that belonged to the head
    p += used;
    n -= used;
    c->st = ST_BODY;
    c->left = len;
  }
  // ST_BODY
  if ((long long)n > c->left) {
    error_at(c, "bytes after the end of the response");
    conn_reopen(c);
    return -1;
  }
  c->left -= (long long)n;
  if (g_measuring) g_bytes += n;
  if (c->left == 0) {
    if (g_measuring) g_responses++;
    start_request(c);
  }
  return 0;
}

static void on_event(struct conn *c, uint32_t events, char *buf, size_t bufsize) {
  if (c->st == ST_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      error_at(c, "connect failed");
      conn_reopen(c);
      return;
    }
    start_request(c);
    return;
  }
  if (c->st == ST_SENDING) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      error_at(c, "connection reset while sending");
      conn_reopen(c);
      return;
    }
    send_rest(c);
    return;
  }
  // ST_HEAD or ST_BODY: one large recv per readiness event (level-triggered), so all
  // connections get their turn.
  size_t want_n = bufsize;
  if (c->st == ST_BODY && c->left > 0 && (unsigned long long)c->left < want_n) want_n = (size_t)c->left;
  ssize_t n = recv(c->fd, buf, want_n, 0);
  if (n > 0) {
    consume(c, buf, (size_t)n);
  } else if (n == 0) {
    error_at(c, c->st == ST_BODY ? "connection closed: short body" : "connection closed by the server");
    conn_reopen(c);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    error_at(c, "recv failed (reset?)");
    conn_reopen(c);
  }
}

static long arg_long(const char *s, const char *name, long lo, long hi) {
  char *e;
  errno = 0;
  long v = strtol(s, &e, 10);
  if (errno || *e || v < lo || v > hi) {
    fprintf(stderr, "bigfile_client: bad %s '%s' (%ld..%ld)\n", name, s, lo, hi);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  long conns = 16, port = 8080, warmup = 1, duration = 10, max_s = -1, recv_bytes = 1 << 20;
  const char *addr = "127.0.0.1", *path = "/file1m.bin";
  int opt;
  while ((opt = getopt(argc, argv, "c:p:a:u:l:w:d:t:b:")) != -1) {
    switch (opt) {
      case 'c': conns = arg_long(optarg, "-c", 1, 10000); break;
      case 'p': port = arg_long(optarg, "-p", 1, 65535); break;
      case 'a': addr = optarg; break;
      case 'u': path = optarg; break;
      case 'l': g_expect = arg_long(optarg, "-l", 0, 1L << 40); break;
      case 'w': warmup = arg_long(optarg, "-w", 0, 3600); break;
      case 'd': duration = arg_long(optarg, "-d", 1, 3600); break;
      case 't': max_s = arg_long(optarg, "-t", 1, 7200); break;
      case 'b': recv_bytes = arg_long(optarg, "-b", 4096, 64L << 20); break;
      default:
        fprintf(stderr, "usage: %s [-c CONNS] [-p PORT] [-a ADDR] [-u PATH] [-l LENGTH] [-w WARMUP_S] "
                        "[-d DURATION_S] [-t MAX_S] [-b RECV_BYTES]\n", argv[0]);
        return 2;
    }
  }
  if (max_s < 0) max_s = warmup + duration + 30;
  if (path[0] != '/' || strlen(path) > 1000 || strpbrk(path, " \r\n")) {
    fprintf(stderr, "bigfile_client: bad path '%s'\n", path);
    return 2;
  }
  memset(&g_addr, 0, sizeof g_addr);
  g_addr.sin_family = AF_INET;
  g_addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, addr, &g_addr.sin_addr) != 1 || (ntohl(g_addr.sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "bigfile_client: address must be IPv4 loopback (127.0.0.0/8): %s\n", addr);
    return 2;
  }
  g_req_len = (unsigned)snprintf(g_req, sizeof g_req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);

  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  alarm((unsigned)max_s + 5);  // last resort if the loop below ever stops checking the clock

  char *buf = malloc((size_t)recv_bytes);
  struct conn *cs = calloc((size_t)conns, sizeof *cs);
  if (!buf || !cs) die("malloc");
  g_ep = epoll_create1(EPOLL_CLOEXEC);
  if (g_ep < 0) die("epoll_create1");

  double t_start = now_s();
  double t_measure = t_start + (double)warmup;
  double t_end = t_measure + (double)duration;
  double t_hard = t_start + (double)max_s;
  for (long i = 0; i < conns; i++) {
    cs[i].fd = -1;
    if (conn_open(&cs[i]) != 0) die("connect");
  }
  if (warmup == 0) g_measuring = 1;

  struct epoll_event evs[256];
  double t_begin = warmup == 0 ? t_start : 0, t_stop = 0;
  while (!g_stop) {
    double t = now_s();
    if (!g_measuring && t >= t_measure) {
      g_measuring = 1;
      t_begin = t;
    }
    if (t >= t_end || t >= t_hard) break;
    int n = epoll_wait(g_ep, evs, 256, 50);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) on_event((struct conn *)evs[i].data.ptr, evs[i].events, buf, (size_t)recv_bytes);
  }
  t_stop = now_s();
  int timed_out = t_stop >= t_hard && t_stop < t_end;
  for (long i = 0; i < conns; i++) {
    if (cs[i].fd >= 0) {
      struct linger lg = {1, 0};
      setsockopt(cs[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      close(cs[i].fd);
    }
  }
  double elapsed = g_measuring ? t_stop - t_begin : 0;
  double gbps = elapsed > 0 ? (double)g_bytes / elapsed / 1e9 : 0;
  double rps = elapsed > 0 ? (double)g_responses / elapsed : 0;
  printf("RESULT bytes=%llu responses=%llu elapsed=%.3f gbps=%.3f rps=%.1f errors=%lu conns=%ld\n",
         g_bytes, g_responses, elapsed, gbps, rps, g_errors, conns);
  fflush(stdout);
  fprintf(stderr, "bigfile_client: %ld conns, %s: %.3f GB/s, %.1f responses/s, %llu bytes in %.3f s, %lu errors%s%s%s\n",
          conns, path, gbps, rps, g_bytes, elapsed, g_errors, g_errors ? " (first: " : "",
          g_first_error, g_errors ? ")" : "");
  if (timed_out || g_stop) {
    if (timed_out) fprintf(stderr, "bigfile_client: hard time limit reached\n");
    if (!g_errors && g_stop && t_stop < t_end) return 1;  // interrupted
  }
  return g_errors ? 1 : 0;
}
