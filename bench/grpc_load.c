// grpc_load: gRPC load over cleartext HTTP/2 (h2c, prior knowledge) on loopback, against
// grpc.testing.TestService (apps/grpc_interop_server, bench/grpc_cpp_server). HTTP/2 framing,
// HPACK and flow control are libnghttp2's (the session is driven with mem_recv / mem_send over
// non-blocking sockets in one epoll loop); the gRPC layer (gRPC's doc/PROTOCOL-HTTP2.md: request
// headers, length-prefixed messages, grpc-status trailers) and the protobuf encoding of the few
// messages involved are written out here.
//
//   grpc_load [-m unary|stream] [-c CONNS] [-s STREAMS] [-p PORT] [-a ADDR] [-b BYTES]
//             [-w WARMUP_S] [-d DURATION_S] [-n MAX_COUNT] [-t MAX_S]
//
//   -m unary     each of the STREAMS call slots of a connection makes one UnaryCall after
//                another: SimpleRequest{response_size: BYTES, payload: BYTES bytes} in one
//                message, request stream closed with it; the call counts when its stream
//                closes with the response checked (default)
//   -m stream    each slot holds one FullDuplexCall open for the whole run and plays ping-pong
//                on it: StreamingOutputCallRequest{response_parameters: [{size: BYTES}],
//                payload: BYTES bytes}, wait for the one response message, send the next; each
//                response message counts
//   -c CONNS     connections (default 1)
//   -s STREAMS   concurrent calls per connection (default 64)
//   -p PORT      server port (default 10000)
//   -a ADDR      server IPv4 address; must be in 127.0.0.0/8 (default 127.0.0.1)
//   -b BYTES     payload bytes of each request and response, 0..65536 (default 32)
//   -w WARMUP_S  seconds of calls before the measurement (default 2; 0: none)
//   -d DURATION_S seconds of measurement (default 10)
//   -n MAX_COUNT stop the measurement after this many calls (unary) or messages (stream)
//   -t MAX_S     hard limit on the whole run (default WARMUP_S + DURATION_S + 30)
//
// Every response is checked: HEADERS with :status 200 and a content-type application/grpc[...];
// each response message byte for byte (uncompressed flag, length, SimpleResponse or
// StreamingOutputCallResponse {payload {body: BYTES zero bytes}}, the encoding both servers
// produce); trailers with grpc-status 0; unary: exactly one message; the stream closed without
// RST_STREAM. A failed call is counted as an error and reset (RST_STREAM CANCEL); a unary slot
// then starts a new call, a stream slot stays idle (a broken call is not reopened). A
// connection error (reset, EOF, an HTTP/2 protocol error) counts one error per open call and
// closes that connection; a GOAWAY from the server while calls are wanted counts one error.
//
// Timing: connections and the HTTP/2 handshake first (10 s at most), then WARMUP_S of calls,
// then the measured period of DURATION_S (or MAX_COUNT), then the end: no new calls or
// messages; calls in flight finish (stream: each call is half-closed once its last response is
// in, and its trailers checked), 2 s at most, then GOAWAY and close. Only calls (messages)
// completed inside the measured period count.
//
// Output (stdout, each line flushed):
//   START        when the measured period begins
//   END          when it ends
//   RESULT mode=<unary|stream> count=<calls or messages> elapsed=<s> rate=<count/s>
//          errors=<n> conns=<open at the end of the measurement> calls=<call slots busy then>
//          bytes=<BYTES> mean_us=<mean call or round-trip time>
// and a human-readable line on stderr. Exit status: 0 without errors, 1 with errors (closing
// included), 2 on a setup failure (bad arguments, no connection at all).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// ---- state --------------------------------------------------------------------------------

enum conn_state { C_CONNECTING, C_OPEN, C_DONE };

struct conn;

struct slot {
  struct conn *c;
  int32_t stream_id;      // 0: no call open
  int head_ok;            // response HEADERS with :status 200 and a gRPC content-type
  int grpc_status;        // -1 until grpc-status is seen
  size_t rx_off;          // bytes of the current response message matched so far
  unsigned long msgs;     // response messages complete on this call
  size_t tx_off;          // bytes of the request message sent (tx_off == req_len: none queued)
  int tx_queued;          // stream: a request message waits to be sent
  int half_close;         // stream: send END_STREAM once nothing is queued
  double sent_at;         // when the current call (unary) or message (stream) went out
};

struct conn {
  int fd;
  enum conn_state st;
  uint32_t events;
  nghttp2_session *s;
  unsigned char *out;
  size_t out_len, out_off, out_cap;
  struct slot *slots;
};

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static int g_ep;
static struct sockaddr_in g_addr;
static char g_authority[64];
static int g_stream_mode = 0;
static long g_streams = 64;
static int g_measuring = 0, g_sending = 1;
static unsigned long long g_count = 0, g_count_all = 0, g_max_count = 0;
static double g_lat_sum = 0;
static unsigned long g_errors = 0, g_opened = 0;
static char g_first_error[256] = "";
// The request message (prefix + protobuf) and the expected response message.
static unsigned char *g_req, *g_resp;
static size_t g_req_len, g_resp_len;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "grpc_load: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void note_error(const char *what, int32_t stream_id) {
  g_errors++;
  if (!g_first_error[0])
    snprintf(g_first_error, sizeof g_first_error, "%s (stream %d)", what, (int)stream_id);
}

// ---- messages -------------------------------------------------------------------------------

static size_t put_varint(unsigned char *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (unsigned char)v;
  return n;
}
static size_t varint_len(uint64_t v) {
  unsigned char tmp[10];
  return put_varint(tmp, v);
}

// Payload{body: n bytes of `fill`} as field `field` of the enclosing message (protobuf wire
// format: tag, length, bytes). type (field 1) is COMPRESSABLE = 0, the default: not encoded.
static size_t put_payload(unsigned char *p, unsigned field, size_t n, unsigned char fill) {
  size_t inner = n ? 1 + varint_len(n) + n : 0;  // body omitted when empty (proto3 default)
  size_t k = 0;
  p[k++] = (unsigned char)(field << 3 | 2);
  k += put_varint(p + k, inner);
  if (n) {
    p[k++] = 2 << 3 | 2;
    k += put_varint(p + k, n);
    memset(p + k, fill, n);
    k += n;
  }
  return k;
}

// The gRPC message prefix (PROTOCOL-HTTP2.md "Length-Prefixed-Message"): compressed flag 0,
// 4-byte big-endian length.
static void put_prefix(unsigned char *p, size_t len) {
  p[0] = 0;
  p[1] = (unsigned char)(len >> 24);
  p[2] = (unsigned char)(len >> 16);
  p[3] = (unsigned char)(len >> 8);
  p[4] = (unsigned char)len;
}

static void build_messages(size_t bytes) {
  size_t cap = 64 + 2 * bytes;
  g_req = malloc(cap);
  g_resp = malloc(cap);
  if (!g_req || !g_resp) die("malloc");
  size_t k = 5;
  if (!g_stream_mode) {
    // SimpleRequest{response_size (2): bytes, payload (3)}
    if (bytes) {
      g_req[k++] = 2 << 3 | 0;
      k += put_varint(g_req + k, bytes);
    }
    k += put_payload(g_req + k, 3, bytes, 0x5a);
  } else {
    // StreamingOutputCallRequest{response_parameters (2): [ResponseParameters{size (1)}],
    // payload (3)}
    unsigned char rp[16];
    size_t rl = 0;
    if (bytes) {
      rp[rl++] = 1 << 3 | 0;
      rl += put_varint(rp + rl, bytes);
    }
    g_req[k++] = 2 << 3 | 2;
    k += put_varint(g_req + k, rl);
    memcpy(g_req + k, rp, rl);
    k += rl;
    k += put_payload(g_req + k, 3, bytes, 0x5a);
  }
  put_prefix(g_req, k - 5);
  g_req_len = k;
  // SimpleResponse / StreamingOutputCallResponse: payload (1) {body: bytes zero bytes}
  k = 5 + put_payload(g_resp + 5, 1, bytes, 0);
  put_prefix(g_resp, k - 5);
  g_resp_len = k;
}

// ---- connection I/O ---------------------------------------------------------------------------

static void want(struct conn *c, uint32_t events) {
  if (c->events == events || c->fd < 0) return;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl");
  c->events = events;
}

static void conn_close(struct conn *c, int reset) {
  if (c->fd >= 0) {
    if (reset) {
      struct linger lg = {1, 0};  // RST: no TIME_WAIT left behind
      setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->fd);
    c->fd = -1;
  }
  c->st = C_DONE;
}

// A connection-level failure: every call open on it fails.
static void conn_fail(struct conn *c, const char *what) {
  int open = 0;
  for (long i = 0; i < g_streams; i++) {
    if (c->slots[i].stream_id > 0) {
      open++;
      note_error(what, c->slots[i].stream_id);
    }
    c->slots[i].stream_id = 0;
  }
  if (!open) note_error(what, 0);
  conn_close(c, 1);
}

static void out_append(struct conn *c, const uint8_t *p, size_t n) {
  if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
  if (c->out_len + n > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 16384;
    while (cap < c->out_len + n) cap *= 2;
    unsigned char *o = realloc(c->out, cap);
    if (!o) die("realloc");
    c->out = o;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
}

// Sends what the session has to send: everything nghttp2 serializes is gathered first, then
// written with one send() (frames of many streams per system call). Returns 0, or -1 after a
// failure (the connection is closed).
static int flush(struct conn *c) {
  if (c->st != C_OPEN) return 0;
  for (;;) {
    if (c->out_off == c->out_len) {
      for (;;) {
        const uint8_t *d;
        ssize_t n = nghttp2_session_mem_send(c->s, &d);
        if (n < 0) {
          conn_fail(c, nghttp2_strerror((int)n));
          return -1;
        }
        if (n == 0) break;
        out_append(c, d, (size_t)n);
        if (c->out_len - c->out_off >= (1u << 20)) break;
      }
      if (c->out_off == c->out_len) break;
    }
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want(c, EPOLLIN | EPOLLOUT);
      return 0;
    } else {
      conn_fail(c, "send failed");
      return -1;
    }
  }
  want(c, EPOLLIN);
  return 0;
}

// ---- calls ------------------------------------------------------------------------------------

static ssize_t read_request(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *src, void *user) {
  (void)s;
  (void)stream_id;
  (void)user;
  struct slot *sl = src->ptr;
  if (!sl->tx_queued) {
    if (g_stream_mode && !sl->half_close) return NGHTTP2_ERR_DEFERRED;
    *flags |= NGHTTP2_DATA_FLAG_EOF;  // unary: after the message; stream: the half-close
    return 0;
  }
  size_t n = g_req_len - sl->tx_off;
  if (n > length) n = length;
  memcpy(buf, g_req + sl->tx_off, n);
  sl->tx_off += n;
  if (sl->tx_off == g_req_len) {
    sl->tx_queued = 0;
    if (!g_stream_mode || sl->half_close) *flags |= NGHTTP2_DATA_FLAG_EOF;
  }
  return (ssize_t)n;
}

static void start_call(struct slot *sl) {
  static const char *path[2] = {"/grpc.testing.TestService/UnaryCall",
                                "/grpc.testing.TestService/FullDuplexCall"};
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
  nghttp2_nv hdrs[] = {NV(":method", "POST"),
                       NV(":scheme", "http"),
                       NV(":path", path[g_stream_mode]),
                       NV(":authority", g_authority),
                       NV("content-type", "application/grpc"),
                       NV("te", "trailers"),
                       NV("user-agent", "portico-grpc-load")};
#undef NV
  nghttp2_data_provider dp = {.source.ptr = sl, .read_callback = read_request};
  sl->head_ok = 0;
  sl->grpc_status = -1;
  sl->rx_off = 0;
  sl->msgs = 0;
  sl->tx_off = 0;
  sl->tx_queued = 1;
  sl->half_close = 0;
  sl->sent_at = now_s();
  int32_t id = nghttp2_submit_request(sl->c->s, NULL, hdrs, sizeof hdrs / sizeof hdrs[0], &dp, sl);
  if (id < 0) {
    note_error(nghttp2_strerror(id), 0);
    sl->stream_id = 0;
    return;
  }
  sl->stream_id = id;
}

static struct slot *slot_of(nghttp2_session *s, int32_t stream_id) {
  return nghttp2_session_get_stream_user_data(s, stream_id);
}

// Fails the call on sl: RST_STREAM CANCEL, counted here once (on_stream_close then finds the
// slot's stream_id 0, and a unary slot starts its next call there).
static void call_fail(struct slot *sl, const char *what) {
  if (sl->stream_id <= 0) return;
  note_error(what, sl->stream_id);
  nghttp2_submit_rst_stream(sl->c->s, NGHTTP2_FLAG_NONE, sl->stream_id, NGHTTP2_CANCEL);
  sl->stream_id = 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user) {
  (void)flags;
  (void)user;
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  struct slot *sl = slot_of(s, frame->hd.stream_id);
  if (!sl || sl->stream_id != frame->hd.stream_id) return 0;
  if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
      if (valuelen == 3 && memcmp(value, "200", 3) == 0) sl->head_ok |= 1;
    } else if (namelen == 12 && memcmp(name, "content-type", 12) == 0) {
      // application/grpc, optionally +proto or ;params (PROTOCOL-HTTP2.md "Content-Type")
      if (valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
          (valuelen == 16 || value[16] == '+' || value[16] == ';'))
        sl->head_ok |= 2;
    }
  }
  if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
    sl->grpc_status = valuelen == 1 && value[0] == '0' ? 0 : 1000;
  }
  return 0;
}

// A response message is complete and correct.
static void message_done(struct slot *sl) {
  sl->msgs++;
  if (!g_stream_mode) return;  // unary: counted when the stream closes
  double t = now_s();
  g_count_all++;
  if (g_measuring && (!g_max_count || g_count < g_max_count)) {
    g_count++;
    g_lat_sum += t - sl->sent_at;
  }
  if (g_sending) {
    sl->tx_off = 0;
    sl->tx_queued = 1;
  } else {
    sl->half_close = 1;
  }
  sl->sent_at = t;
  nghttp2_session_resume_data(sl->c->s, sl->stream_id);
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len,
                   void *user) {
  (void)flags;
  (void)user;
  struct slot *sl = slot_of(s, stream_id);
  if (!sl || sl->stream_id != stream_id) return 0;  // a call already failed
  if (sl->head_ok != 3) {
    call_fail(sl, "DATA without :status 200 and a gRPC content-type");
    return 0;
  }
  while (len > 0) {
    if (!g_stream_mode && sl->msgs > 0) {
      call_fail(sl, "more than one response message in a unary call");
      return 0;
    }
    size_t take = g_resp_len - sl->rx_off;
    if (take > len) take = len;
    if (memcmp(data, g_resp + sl->rx_off, take) != 0) {
      call_fail(sl, "response message differs from the expected one");
      return 0;
    }
    sl->rx_off += take;
    data += take;
    len -= take;
    if (sl->rx_off == g_resp_len) {
      sl->rx_off = 0;
      message_done(sl);
    }
  }
  return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *user) {
  (void)user;
  struct slot *sl = slot_of(s, stream_id);
  if (!sl) return 0;
  if (sl->stream_id != stream_id) {  // failed before (counted then)
    if (!g_stream_mode && sl->stream_id == 0 && g_sending && sl->c->st == C_OPEN) start_call(sl);
    return 0;
  }
  const char *why = NULL;
  if (error_code != NGHTTP2_NO_ERROR) why = "stream reset by the server";
  else if (sl->head_ok != 3) why = "no :status 200 with a gRPC content-type";
  else if (sl->grpc_status != 0) why = sl->grpc_status < 0 ? "no grpc-status" : "grpc-status not 0";
  else if (sl->rx_off != 0) why = "response ends inside a message";
  else if (!g_stream_mode && sl->msgs != 1) why = "no response message";
  else if (g_stream_mode && g_sending) why = "call ended by the server";
  sl->stream_id = 0;
  if (why) {
    note_error(why, stream_id);
  } else if (!g_stream_mode) {
    double t = now_s();
    g_count_all++;
    if (g_measuring && (!g_max_count || g_count < g_max_count)) {
      g_count++;
      g_lat_sum += t - sl->sent_at;
    }
  }
  if (!g_stream_mode && g_sending && sl->c->st == C_OPEN) start_call(sl);
  return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *user) {
  (void)s;
  struct conn *c = user;
  // The server going away while calls are wanted: the run would silently shrink.
  if (frame->hd.type == NGHTTP2_GOAWAY && g_sending && c->st == C_OPEN) note_error("GOAWAY from the server", 0);
  return 0;
}

static int conn_open(struct conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->events = EPOLLOUT;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  if (connect(c->fd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0 && errno != EINPROGRESS) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  c->st = C_CONNECTING;
  if (epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
  return 0;
}

// The TCP connection is up: the HTTP/2 session (client preface and SETTINGS; windows as large
// as h2load's defaults, 2^30 - 1, so flow control is not what limits), then the calls.
static void session_start(struct conn *c, nghttp2_session_callbacks *cbs) {
  if (nghttp2_session_client_new(&c->s, cbs, c) != 0) die("nghttp2_session_client_new");
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (1u << 30) - 1}};
  if (nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 2) != 0) die("nghttp2_submit_settings");
  if (nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, (1 << 30) - 1) != 0)
    die("nghttp2_session_set_local_window_size");
  c->st = C_OPEN;
  g_opened++;
  for (long i = 0; i < g_streams; i++) {
    c->slots[i].c = c;
    if (g_sending) start_call(&c->slots[i]);
  }
  flush(c);
}

static void on_event(struct conn *c, uint32_t events, unsigned char *buf, size_t bufsize,
                     nghttp2_session_callbacks *cbs) {
  if (c->st == C_DONE) return;
  if (c->st == C_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      errno = err;
      note_error("connect failed", 0);
      conn_close(c, 1);
      return;
    }
    session_start(c, cbs);
    return;
  }
  if ((events & EPOLLOUT) && flush(c) != 0) return;
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
  ssize_t n = recv(c->fd, buf, bufsize, 0);
  if (n == 0) {
    if (g_sending || nghttp2_session_want_read(c->s)) conn_fail(c, "connection closed by the server");
    else conn_close(c, 0);
    return;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    conn_fail(c, "recv failed (reset?)");
    return;
  }
  ssize_t r = nghttp2_session_mem_recv(c->s, buf, (size_t)n);
  if (r < 0) {
    conn_fail(c, nghttp2_strerror((int)r));
    return;
  }
  flush(c);
}

// Calls still open (or connections still connecting, for the first phase).
static int calls_open(struct conn *cs, long conns) {
  for (long i = 0; i < conns; i++) {
    if (cs[i].st != C_OPEN) continue;
    for (long j = 0; j < g_streams; j++)
      if (cs[i].slots[j].stream_id > 0) return 1;
  }
  return 0;
}
static int connecting(struct conn *cs, long conns) {
  for (long i = 0; i < conns; i++)
    if (cs[i].st == C_CONNECTING) return 1;
  return 0;
}

static void loop_until(struct conn *cs, long conns, double until, int (*busy)(struct conn *, long),
                       unsigned char *buf, size_t bufsize, nghttp2_session_callbacks *cbs) {
  struct epoll_event evs[256];
  while (!g_stop) {
    if (now_s() >= until) return;
    if (g_measuring && g_max_count && g_count >= g_max_count) return;
    if (busy && !busy(cs, conns)) return;
    int n = epoll_wait(g_ep, evs, 256, 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) on_event(evs[i].data.ptr, evs[i].events, buf, bufsize, cbs);
  }
}

static long arg_long(const char *s, const char *name, long lo, long hi) {
  char *e;
  errno = 0;
  long v = strtol(s, &e, 10);
  if (errno || *e || v < lo || v > hi) {
    fprintf(stderr, "grpc_load: bad %s '%s' (%ld..%ld)\n", name, s, lo, hi);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  long conns = 1, port = 10000, warmup = 2, duration = 10, max_s = -1, bytes = 32;
  const char *addr = "127.0.0.1";
  int opt;
  while ((opt = getopt(argc, argv, "m:c:s:p:a:b:w:d:n:t:")) != -1) {
    switch (opt) {
      case 'm':
        if (strcmp(optarg, "unary") == 0) g_stream_mode = 0;
        else if (strcmp(optarg, "stream") == 0) g_stream_mode = 1;
        else { fprintf(stderr, "grpc_load: -m must be unary or stream\n"); return 2; }
        break;
      case 'c': conns = arg_long(optarg, "-c", 1, 1000); break;
      case 's': g_streams = arg_long(optarg, "-s", 1, 1000); break;
      case 'p': port = arg_long(optarg, "-p", 1, 65535); break;
      case 'a': addr = optarg; break;
      case 'b': bytes = arg_long(optarg, "-b", 0, 65536); break;
      case 'w': warmup = arg_long(optarg, "-w", 0, 3600); break;
      case 'd': duration = arg_long(optarg, "-d", 1, 3600); break;
      case 'n': g_max_count = (unsigned long long)arg_long(optarg, "-n", 1, 1L << 40); break;
      case 't': max_s = arg_long(optarg, "-t", 1, 7200); break;
      default:
        fprintf(stderr, "usage: %s [-m unary|stream] [-c CONNS] [-s STREAMS] [-p PORT] [-a ADDR] [-b BYTES] "
                        "[-w WARMUP_S] [-d DURATION_S] [-n MAX_COUNT] [-t MAX_S]\n", argv[0]);
        return 2;
    }
  }
  if (max_s < 0) max_s = warmup + duration + 30;
  memset(&g_addr, 0, sizeof g_addr);
  g_addr.sin_family = AF_INET;
  g_addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, addr, &g_addr.sin_addr) != 1 || (ntohl(g_addr.sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "grpc_load: address must be IPv4 loopback (127.0.0.0/8): %s\n", addr);
    return 2;
  }
  snprintf(g_authority, sizeof g_authority, "%s:%ld", addr, port);
  build_messages((size_t)bytes);

  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  alarm((unsigned)max_s + 5);  // last resort if the loops below ever stop checking the clock

  nghttp2_session_callbacks *cbs;
  if (nghttp2_session_callbacks_new(&cbs) != 0) die("nghttp2_session_callbacks_new");
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);

  size_t bufsize = 1 << 16;
  unsigned char *buf = malloc(bufsize);
  struct conn *cs = calloc((size_t)conns, sizeof *cs);
  if (!buf || !cs) die("malloc");
  g_ep = epoll_create1(EPOLL_CLOEXEC);
  if (g_ep < 0) die("epoll_create1");

  double t_start = now_s();
  double t_hard = t_start + (double)max_s;
  for (long i = 0; i < conns; i++) {
    cs[i].fd = -1;
    cs[i].slots = calloc((size_t)g_streams, sizeof *cs[i].slots);
    if (!cs[i].slots) die("calloc");
    if (conn_open(&cs[i]) != 0) die("connect");
  }
  double t_conn = t_start + 10 < t_hard ? t_start + 10 : t_hard;
  loop_until(cs, conns, t_conn, connecting, buf, bufsize, cbs);
  if (g_opened == 0) {
    fprintf(stderr, "grpc_load: no connection%s%s\n", g_first_error[0] ? ": " : "", g_first_error);
    return 2;
  }
  for (long i = 0; i < conns; i++) {
    if (cs[i].st == C_CONNECTING) {
      note_error("no connection within 10 s", 0);
      conn_close(&cs[i], 1);
    }
  }
  // Warm-up, then the measured period.
  double t_measure = now_s() + (double)warmup;
  if (t_measure > t_hard) t_measure = t_hard;
  if (warmup > 0) loop_until(cs, conns, t_measure, NULL, buf, bufsize, cbs);
  double t_begin = now_s();
  g_measuring = 1;
  printf("START\n");
  fflush(stdout);
  double t_end = t_begin + (double)duration;
  if (t_end > t_hard) t_end = t_hard;
  loop_until(cs, conns, t_end, NULL, buf, bufsize, cbs);
  double t_stop = now_s();
  g_measuring = 0;
  printf("END\n");
  fflush(stdout);
  int interrupted = g_stop != 0;
  long alive = 0, busy = 0;
  for (long i = 0; i < conns; i++) {
    if (cs[i].st != C_OPEN) continue;
    alive++;
    for (long j = 0; j < g_streams; j++) busy += cs[i].slots[j].stream_id > 0;
  }
  int timed_out = t_stop >= t_hard && t_stop < t_begin + (double)duration &&
                  !(g_max_count && g_count >= g_max_count);

  // The end: no new calls. In ping-pong every open stream call has one request out (or
  // queued); message_done() half-closes it (END_STREAM on an empty DATA frame) once that is
  // answered, and its trailers are checked. Everything open finishes, 2 s at most.
  g_sending = 0;
  g_stop = 0;
  double t_close = now_s() + 2;
  if (t_close > t_hard + 2) t_close = t_hard + 2;
  loop_until(cs, conns, t_close, calls_open, buf, bufsize, cbs);
  unsigned long unfinished = 0;
  for (long i = 0; i < conns; i++) {
    if (cs[i].st == C_OPEN) {
      for (long j = 0; j < g_streams; j++) unfinished += cs[i].slots[j].stream_id > 0;
      nghttp2_session_terminate_session(cs[i].s, NGHTTP2_NO_ERROR);
      flush(&cs[i]);
    }
    conn_close(&cs[i], unfinished > 0);
    if (cs[i].s) nghttp2_session_del(cs[i].s);
    free(cs[i].slots);
    free(cs[i].out);
  }
  if (unfinished) note_error("calls not finished within 2 s of the end", 0);
  nghttp2_session_callbacks_del(cbs);
  free(cs);
  free(buf);
  free(g_req);
  free(g_resp);
  close(g_ep);

  double elapsed = t_stop - t_begin;
  double rate = elapsed > 0 ? (double)g_count / elapsed : 0;
  double mean_us = g_count ? g_lat_sum / (double)g_count * 1e6 : 0;
  const char *mode = g_stream_mode ? "stream" : "unary";
  printf("RESULT mode=%s count=%llu elapsed=%.3f rate=%.1f errors=%lu conns=%ld calls=%ld bytes=%ld mean_us=%.1f\n",
         mode, g_count, elapsed, rate, g_errors, alive, busy, bytes, mean_us);
  fflush(stdout);
  fprintf(stderr, "grpc_load: %s, %ld conns x %ld calls, %ld-byte payloads: %.1f %s/s, mean %s %.1f us, "
                  "%llu in %.3f s (%llu in all), %lu errors%s%s%s\n",
          mode, conns, g_streams, bytes, rate, g_stream_mode ? "messages" : "calls",
          g_stream_mode ? "round trip" : "call", mean_us, g_count, elapsed, g_count_all, g_errors,
          g_errors ? " (first: " : "", g_first_error, g_errors ? ")" : "");
  if (timed_out) fprintf(stderr, "grpc_load: hard time limit reached\n");
  if (interrupted && !g_errors) return 1;
  return g_errors || timed_out ? 1 : 0;
}
