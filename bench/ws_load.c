// ws_load: WebSocket echo load over loopback. Each connection does the HTTP/1.1 upgrade
// (RFC 6455 §4.1: a random 16-byte key, the server's Sec-WebSocket-Accept checked), then keeps
// one binary message of SIZE bytes in flight: send it (masked, as a client must: §5.3), read
// the echo, check it byte for byte, send the next one. Round trips per second and MB/s of
// echoed payload are what it measures.
//
//   ws_load [-c CONNS] [-p PORT] [-a ADDR] [-u PATH] [-s SIZE] [-w WARMUP_S] [-d DURATION_S]
//           [-n MAX_MESSAGES] [-t MAX_S]
//
//   -c CONNS         connections (default 64)
//   -p PORT          server port on ADDR (default 8080)
//   -a ADDR          server IPv4 address; must be in 127.0.0.0/8 (default 127.0.0.1)
//   -u PATH          request target of the upgrade (default /ws/echo)
//   -s SIZE          message payload bytes, 1..64 MiB (default 32)
//   -w WARMUP_S      seconds of traffic on the same connections before the measurement
//                    (default 2; 0: none)
//   -d DURATION_S    seconds of measurement (default 10)
//   -n MAX_MESSAGES  stop the measurement after this many round trips (default: no limit)
//   -t MAX_S         hard limit on the whole run (default WARMUP_S + DURATION_S + 30)
//
// Messages: binary frames, one frame per message, FIN set, a fresh masking key per frame from
// a xorshift generator seeded from getrandom() (unpredictable enough for a load client on
// loopback). The first 8 payload bytes carry the connection's message counter, the rest a
// per-connection random pattern, so a stale or mixed-up echo is caught. The echo may come in
// any number of frames (continuation frames are joined); a Ping is answered with a Pong; a
// Close, a masked or text frame, RSV bits, or a payload that differs from what was sent is an
// error. Errors close that connection (no reconnect) and are counted; the run goes on with
// the others.
//
// Timing: connections and handshakes happen first (before the warm-up), then WARMUP_S of
// traffic, then the measured period of DURATION_S (or MAX_MESSAGES round trips), then each
// connection waits (at most 1 s in all) for its message in flight, sends a Close (1000) and
// waits (at most 1 s) for the server's Close before closing. Only round trips completed inside
// the measured period count.
//
// Output (stdout, each line flushed as it is printed):
//   START                      when the measured period begins
//   END                        when it ends
//   RESULT messages=<round trips> bytes=<payload bytes echoed back> elapsed=<s>
//          rtps=<round trips/s> mbps=<bytes/s / 1e6> errors=<n> conns=<open at the end>
//          size=<SIZE>   (conns: connections open when the measurement ended)
// and a human-readable line on stderr. Exit status: 0 if no error occurred (warm-up and
// closing included), 1 if any did, 2 on a setup failure (bad arguments, no connection or no
// handshake at all).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// ---- SHA-1 (FIPS 180-4), for Sec-WebSocket-Accept only ----------------------------------------

static uint32_t rol32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20]) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  unsigned char block[64];
  size_t total = ((len + 8) / 64 + 1) * 64;  // padded length
  for (size_t off = 0; off < total; off += 64) {
    for (size_t i = 0; i < 64; i++) {
      size_t k = off + i;
      unsigned char b = 0;
      if (k < len) b = msg[k];
      else if (k == len) b = 0x80;
      else if (k >= total - 8) b = (unsigned char)(((uint64_t)len * 8) >> (8 * (total - 1 - k)));
      block[i] = b;
    }
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
      w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
             (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
      else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
      else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
      else { f = b ^ c ^ d; k = 0xCA62C1D6; }
      uint32_t t = rol32(a, 5) + f + e + k + w[i];
      e = d; d = c; c = rol32(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
  }
  for (int i = 0; i < 5; i++) {
    out[4 * i] = (unsigned char)(h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(h[i] >> 8);
    out[4 * i + 3] = (unsigned char)h[i];
  }
}

static void base64(const unsigned char *in, size_t n, char *out) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                 (i + 2 < n ? in[i + 2] : 0);
    out[o++] = tab[(v >> 18) & 63];
    out[o++] = tab[(v >> 12) & 63];
    out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? tab[v & 63] : '=';
  }
  out[o] = '\0';
}

// ---- state --------------------------------------------------------------------------------

enum state {
  ST_CONNECTING,  // connect() in progress
  ST_HANDSHAKE,   // upgrade request sent (or being sent), reading the 101 response head
  ST_OPEN,        // messages flowing
  ST_CLOSING,     // our Close sent (or queued); reading until the server's Close or EOF
  ST_DONE         // closed
};

struct conn {
  int fd;
  enum state st;
  uint32_t events;        // epoll interest
  unsigned char *payload; // the message in flight, unmasked (SIZE bytes)
  unsigned char *out;     // bytes to send: a frame (header + masked payload), Pongs, a Close
  size_t out_len, out_off, out_cap;
  uint64_t seq;           // messages sent
  int in_flight;          // a message was sent and its echo is not complete yet
  double sent_at;         // when the message in flight was sent (for the mean round trip)
  // handshake
  char key[32];           // Sec-WebSocket-Key (base64 of 16 bytes)
  char accept[32];        // the expected Sec-WebSocket-Accept
  char head[4096];
  size_t head_len;
  // frame parser: header bytes collected so far, then the payload still to come
  unsigned char hdr[14];
  size_t hdr_len, hdr_need;
  uint64_t frame_left;    // payload bytes of the current frame not yet read
  int frame_op;           // opcode of the current frame (0 continuation, 2 binary, 8/9/10)
  int frame_fin;
  int mid_msg;            // a data frame without FIN came: continuation frames follow
  size_t msg_off;         // payload bytes of the current echoed message received so far
  unsigned char ctl[125]; // payload of a control frame
  size_t ctl_len;
};

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static int g_ep;
static struct sockaddr_in g_addr;
static const char *g_path = "/ws/echo";
static size_t g_size = 32;
static int g_measuring = 0, g_sending = 1;
static unsigned long long g_msgs = 0, g_bytes = 0, g_msgs_all = 0;
static double g_rtt_sum = 0;
static unsigned long g_errors = 0, g_opened = 0;
static char g_first_error[256] = "";
static uint64_t g_rng;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "ws_load: %s: %s\n", what, strerror(errno));
  exit(2);
}

static uint64_t rng_next(void) {  // xorshift64*
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return g_rng * 0x2545F4914F6CDD1DULL;
}

static void random_bytes(void *p, size_t n) {
  unsigned char *b = p;
  while (n > 0) {
    ssize_t r = getrandom(b, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("getrandom");
    }
    b += r;
    n -= (size_t)r;
  }
}

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
    close(c->fd);  // also leaves the epoll set
    c->fd = -1;
  }
  c->st = ST_DONE;
}

static void fail(struct conn *c, const char *what) {
  g_errors++;
  if (!g_first_error[0]) {
    snprintf(g_first_error, sizeof g_first_error, "%s (connection %d, state %d, message %llu)", what,
             c->fd, (int)c->st, (unsigned long long)c->seq);
  }
  conn_close(c, 1);
}

// Appends bytes to the output buffer (growing it).
static void out_append(struct conn *c, const void *p, size_t n) {
  if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
  if (c->out_len + n > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 256;
    while (cap < c->out_len + n) cap *= 2;
    unsigned char *o = realloc(c->out, cap);
    if (!o) die("realloc");
    c->out = o;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
}

// Appends one masked client frame (RFC 6455 §5.2, §5.3): FIN, opcode, the payload XORed with a
// fresh key. Masking goes 8 bytes at a time.
static void out_frame(struct conn *c, int opcode, const unsigned char *payload, size_t n) {
  unsigned char h[14];
  size_t hl = 0;
  h[hl++] = (unsigned char)(0x80 | opcode);
  if (n < 126) {
    h[hl++] = (unsigned char)(0x80 | n);
  } else if (n < 65536) {
    h[hl++] = 0x80 | 126;
    h[hl++] = (unsigned char)(n >> 8);
    h[hl++] = (unsigned char)n;
  } else {
    h[hl++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) h[hl++] = (unsigned char)((uint64_t)n >> (8 * i));
  }
  uint32_t key = (uint32_t)(rng_next() >> 32);
  memcpy(h + hl, &key, 4);
  hl += 4;
  out_append(c, h, hl);
  size_t at = c->out_len;
  if (at + n > c->out_cap) {
    size_t cap = c->out_cap;
    while (cap < at + n) cap *= 2;
    unsigned char *o = realloc(c->out, cap);
    if (!o) die("realloc");
    c->out = o;
    c->out_cap = cap;
  }
  unsigned char *dst = c->out + at;
  uint64_t k8 = (uint64_t)key | (uint64_t)key << 32;  // the key repeated, in memory order
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    memcpy(&v, payload + i, 8);
    v ^= k8;
    memcpy(dst + i, &v, 8);
  }
  const unsigned char *kb = (const unsigned char *)&key;
  for (; i < n; i++) dst[i] = payload[i] ^ kb[i & 3];
  c->out_len += n;
}

// Writes what is queued. Returns 0, or -1 after an error (the connection is closed).
static int flush_out(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->out_off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want(c, EPOLLIN | EPOLLOUT);
      return 0;
    } else {
      fail(c, "send failed");
      return -1;
    }
  }
  c->out_off = c->out_len = 0;
  want(c, EPOLLIN);
  return 0;
}

static void send_message(struct conn *c) {
  c->seq++;
  if (g_size >= 8) memcpy(c->payload, &c->seq, 8);
  else c->payload[0] = (unsigned char)c->seq;
  out_frame(c, 2, c->payload, g_size);
  c->in_flight = 1;
  c->msg_off = 0;
  c->mid_msg = 0;
  c->sent_at = now_s();
  flush_out(c);
}

static void start_closing(struct conn *c) {
  unsigned char code[2] = {1000 >> 8, 1000 & 0xff};
  c->st = ST_CLOSING;
  out_frame(c, 8, code, 2);
  flush_out(c);
}

static int conn_open(struct conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  unsigned char raw[16], digest[20];
  random_bytes(raw, sizeof raw);
  base64(raw, sizeof raw, c->key);
  char cat[64 + 40];
  int cl = snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", c->key);
  sha1((const unsigned char *)cat, (size_t)cl, digest);
  base64(digest, sizeof digest, c->accept);
  char req[1400];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   g_path, inet_ntoa(g_addr.sin_addr), (unsigned)ntohs(g_addr.sin_port), c->key);
  c->out_off = c->out_len = 0;
  out_append(c, req, (size_t)n);
  c->head_len = 0;
  c->events = EPOLLOUT;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  if (connect(c->fd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0 && errno != EINPROGRESS) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  c->st = ST_CONNECTING;
  if (epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
  return 0;
}

// A header field's value in the response head (NUL-terminated), or NULL.
static const char *header(const char *head, const char *name, char *val, size_t cap) {
  size_t nl = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
    const char *line = p + 2;
    if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
      const char *v = line + nl + 1;
      while (*v == ' ' || *v == '\t') v++;
      const char *e = strstr(v, "\r\n");
      size_t len = e ? (size_t)(e - v) : strlen(v);
      while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) len--;
      if (len >= cap) len = cap - 1;
      memcpy(val, v, len);
      val[len] = '\0';
      return val;
    }
  }
  return NULL;
}

// Checks the complete response head c->head[0..end). Returns NULL when it accepts the upgrade,
// else what is wrong.
static const char *check_head(struct conn *c, size_t end) {
  char v[256];
  c->head[end] = '\0';
  if (strncmp(c->head, "HTTP/1.1 101", 12) != 0) return "upgrade refused (status is not 101)";
  if (!header(c->head, "Upgrade", v, sizeof v) || strcasecmp(v, "websocket") != 0)
    return "no Upgrade: websocket in the 101";
  if (!header(c->head, "Connection", v, sizeof v) || !strcasestr(v, "upgrade"))
    return "no Connection: Upgrade in the 101";
  if (!header(c->head, "Sec-WebSocket-Accept", v, sizeof v) || strcmp(v, c->accept) != 0)
    return "wrong Sec-WebSocket-Accept";
  if (header(c->head, "Sec-WebSocket-Extensions", v, sizeof v))
    return "an extension the client did not offer";
  return NULL;
}

// The echo of the message in flight is complete and correct.
static void message_done(struct conn *c) {
  double t = now_s();
  c->in_flight = 0;
  g_msgs_all++;
  if (g_measuring) {
    g_msgs++;
    g_bytes += g_size;
    g_rtt_sum += t - c->sent_at;
  }
  if (c->st == ST_OPEN) {
    if (g_sending) send_message(c);
    else start_closing(c);
  }
}

// Feeds received frame bytes to the parser. Returns 0, or -1 after an error (closed).
static int consume(struct conn *c, const unsigned char *p, size_t n) {
  while (n > 0) {
    if (c->hdr_len < c->hdr_need) {  // collecting a frame header
      size_t take = c->hdr_need - c->hdr_len;
      if (take > n) take = n;
      memcpy(c->hdr + c->hdr_len, p, take);
      c->hdr_len += take;
      p += take;
      n -= take;
      if (c->hdr_len < c->hdr_need) return 0;
      if (c->hdr_len == 2) {  // the first two bytes say how long the header is
        if (c->hdr[1] & 0x80) { fail(c, "masked frame from the server"); return -1; }
        if (c->hdr[0] & 0x70) { fail(c, "RSV bits set"); return -1; }
        unsigned l7 = c->hdr[1] & 0x7f;
        c->hdr_need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
        if (c->hdr_len < c->hdr_need) continue;
      }
      // complete header
      unsigned l7 = c->hdr[1] & 0x7f;
      uint64_t len = l7;
      if (l7 == 126) len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
      if (l7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) len = len << 8 | c->hdr[2 + i];
      }
      c->frame_op = c->hdr[0] & 0x0f;
      c->frame_fin = (c->hdr[0] & 0x80) != 0;
      c->frame_left = len;
      c->ctl_len = 0;
      switch (c->frame_op) {
        case 0:  // continuation
        case 2:  // binary
          if (!c->in_flight) { fail(c, "a message nobody asked for"); return -1; }
          // A message starts with a binary frame; continuation frames follow until FIN (§5.4).
          if ((c->frame_op == 2) == c->mid_msg) { fail(c, "bad fragmentation"); return -1; }
          c->mid_msg = !c->frame_fin;
          if (len > g_size - c->msg_off) { fail(c, "echo longer than the message sent"); return -1; }
          break;
        case 1: fail(c, "text frame in reply to a binary message"); return -1;
        case 8: if (c->st != ST_CLOSING) { fail(c, "Close from the server"); return -1; } break;
        case 9:
        case 10:
          if (len > 125 || !c->frame_fin) { fail(c, "bad control frame"); return -1; }
          break;
        default: fail(c, "unknown opcode"); return -1;
      }
    } else {  // payload
      size_t take = c->frame_left < n ? (size_t)c->frame_left : n;
      if (c->frame_op == 0 || c->frame_op == 2) {
        if (memcmp(p, c->payload + c->msg_off, take) != 0) { fail(c, "echo differs from the message sent"); return -1; }
        c->msg_off += take;
      } else {
        memcpy(c->ctl + c->ctl_len, p, take);
        c->ctl_len += take;
      }
      c->frame_left -= take;
      p += take;
      n -= take;
    }
    if (c->hdr_len == c->hdr_need && c->frame_left == 0) {  // frame complete
      c->hdr_len = 0;
      c->hdr_need = 2;
      if (c->frame_op == 9) {  // Ping: Pong with the same payload (§5.5.3)
        out_frame(c, 10, c->ctl, c->ctl_len);
        if (flush_out(c) != 0) return -1;
      } else if (c->frame_op == 8) {  // the server's Close after ours: done
        conn_close(c, 0);
        return -1;
      } else if ((c->frame_op == 0 || c->frame_op == 2) && c->frame_fin) {
        if (c->msg_off != g_size) { fail(c, "echo shorter than the message sent"); return -1; }
        message_done(c);
        if (c->st == ST_DONE) return -1;
      }
    }
  }
  return 0;
}

static void on_event(struct conn *c, uint32_t events, unsigned char *buf, size_t bufsize) {
  if (c->st == ST_DONE) return;
  if (c->st == ST_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      errno = err;
      fail(c, "connect failed");
      return;
    }
    c->st = ST_HANDSHAKE;
    flush_out(c);
    return;
  }
  if ((events & EPOLLOUT) && c->out_off < c->out_len) {
    if (flush_out(c) != 0) return;
  }
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
  // One recv per readiness event (level-triggered), so every connection gets its turn.
  ssize_t n = recv(c->fd, buf, bufsize, 0);
  if (n == 0) {
    if (c->st == ST_CLOSING) conn_close(c, 0);  // the server closed after our Close
    else fail(c, "connection closed by the server");
    return;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    if (c->st == ST_CLOSING) conn_close(c, 1);
    else fail(c, "recv failed (reset?)");
    return;
  }
  unsigned char *p = buf;
  size_t left = (size_t)n;
  if (c->st == ST_HANDSHAKE) {
    size_t room = sizeof c->head - 1 - c->head_len;
    size_t take = left < room ? left : room;
    memcpy(c->head + c->head_len, p, take);
    size_t old = c->head_len;
    c->head_len += take;
    size_t from = old >= 3 ? old - 3 : 0;
    char *e = memmem(c->head + from, c->head_len - from, "\r\n\r\n", 4);
    if (!e) {
      if (c->head_len >= sizeof c->head - 1) fail(c, "response head too large");
      return;
    }
    size_t end = (size_t)(e - c->head) + 4;
    const char *why = check_head(c, end);
    if (why) { fail(c, why); return; }
    g_opened++;
    c->st = ST_OPEN;
    c->hdr_len = 0;
    c->hdr_need = 2;
    size_t used = end - old;  // bytes of this chunk that belonged to the head
    p += used;
    left -= used;
    if (left > 0) { fail(c, "frames before any message was sent"); return; }
    if (g_sending) send_message(c);
    else start_closing(c);
    return;
  }
  consume(c, p, left);
}

static long arg_long(const char *s, const char *name, long lo, long hi) {
  char *e;
  errno = 0;
  long v = strtol(s, &e, 10);
  if (errno || *e || v < lo || v > hi) {
    fprintf(stderr, "ws_load: bad %s '%s' (%ld..%ld)\n", name, s, lo, hi);
    exit(2);
  }
  return v;
}

// Runs the event loop until `until` (or g_stop, or no connection left in a state that
// `busy` counts). busy(c) says whether a connection still has something to do.
static void loop_until(struct conn *cs, long conns, double until, int (*busy)(const struct conn *),
                       unsigned char *buf, size_t bufsize, unsigned long long max_msgs) {
  struct epoll_event evs[256];
  while (!g_stop) {
    double t = now_s();
    if (t >= until) return;
    if (max_msgs && g_msgs >= max_msgs) return;
    if (busy) {
      int any = 0;
      for (long i = 0; i < conns && !any; i++) any = busy(&cs[i]);
      if (!any) return;
    }
    int n = epoll_wait(g_ep, evs, 256, 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) on_event((struct conn *)evs[i].data.ptr, evs[i].events, buf, bufsize);
  }
}

static int busy_connecting(const struct conn *c) { return c->st == ST_CONNECTING || c->st == ST_HANDSHAKE; }
static int busy_open(const struct conn *c) { return c->st == ST_OPEN || c->st == ST_CLOSING; }
static int busy_any(const struct conn *c) { return c->st != ST_DONE; }

int main(int argc, char **argv) {
  long conns = 64, port = 8080, warmup = 2, duration = 10, max_s = -1, size = 32;
  long long max_msgs = 0;
  const char *addr = "127.0.0.1";
  int opt;
  while ((opt = getopt(argc, argv, "c:p:a:u:s:w:d:n:t:")) != -1) {
    switch (opt) {
      case 'c': conns = arg_long(optarg, "-c", 1, 10000); break;
      case 'p': port = arg_long(optarg, "-p", 1, 65535); break;
      case 'a': addr = optarg; break;
      case 'u': g_path = optarg; break;
      case 's': size = arg_long(optarg, "-s", 1, 64L << 20); break;
      case 'w': warmup = arg_long(optarg, "-w", 0, 3600); break;
      case 'd': duration = arg_long(optarg, "-d", 1, 3600); break;
      case 'n': max_msgs = arg_long(optarg, "-n", 1, 1L << 40); break;
      case 't': max_s = arg_long(optarg, "-t", 1, 7200); break;
      default:
        fprintf(stderr, "usage: %s [-c CONNS] [-p PORT] [-a ADDR] [-u PATH] [-s SIZE] [-w WARMUP_S] "
                        "[-d DURATION_S] [-n MAX_MESSAGES] [-t MAX_S]\n", argv[0]);
        return 2;
    }
  }
  if (max_s < 0) max_s = warmup + duration + 30;
  g_size = (size_t)size;
  if (g_path[0] != '/' || strlen(g_path) > 1000 || strpbrk(g_path, " \r\n")) {
    fprintf(stderr, "ws_load: bad path '%s'\n", g_path);
    return 2;
  }
  memset(&g_addr, 0, sizeof g_addr);
  g_addr.sin_family = AF_INET;
  g_addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, addr, &g_addr.sin_addr) != 1 || (ntohl(g_addr.sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "ws_load: address must be IPv4 loopback (127.0.0.0/8): %s\n", addr);
    return 2;
  }

  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  alarm((unsigned)max_s + 5);  // last resort if the loops below ever stop checking the clock
  random_bytes(&g_rng, sizeof g_rng);
  g_rng |= 1;

  size_t bufsize = 1 << 20;
  unsigned char *buf = malloc(bufsize);
  struct conn *cs = calloc((size_t)conns, sizeof *cs);
  if (!buf || !cs) die("malloc");
  g_ep = epoll_create1(EPOLL_CLOEXEC);
  if (g_ep < 0) die("epoll_create1");

  double t_start = now_s();
  double t_hard = t_start + (double)max_s;
  for (long i = 0; i < conns; i++) {
    cs[i].payload = malloc(g_size);
    if (!cs[i].payload) die("malloc");
    random_bytes(cs[i].payload, g_size);
    if (conn_open(&cs[i]) != 0) die("connect");
  }
  // Connections and handshakes (each connection starts sending once it is open).
  double t_conn = t_start + 10 < t_hard ? t_start + 10 : t_hard;
  loop_until(cs, conns, t_conn, busy_connecting, buf, bufsize, 0);
  if (g_opened == 0) {
    fprintf(stderr, "ws_load: no connection completed the WebSocket handshake%s%s\n",
            g_first_error[0] ? ": " : "", g_first_error);
    return 2;
  }
  for (long i = 0; i < conns; i++) {
    if (cs[i].st == ST_CONNECTING || cs[i].st == ST_HANDSHAKE) fail(&cs[i], "no handshake within 10 s");
  }
  // Warm-up, then the measured period.
  double t = now_s();
  double t_measure = t + (double)warmup;
  if (t_measure > t_hard) t_measure = t_hard;
  if (warmup > 0) loop_until(cs, conns, t_measure, busy_open, buf, bufsize, 0);
  double t_begin = now_s();
  g_measuring = 1;
  printf("START\n");
  fflush(stdout);
  double t_end = t_begin + (double)duration;
  if (t_end > t_hard) t_end = t_hard;
  loop_until(cs, conns, t_end, busy_open, buf, bufsize, (unsigned long long)max_msgs);
  double t_stop = now_s();
  g_measuring = 0;
  printf("END\n");
  fflush(stdout);
  int interrupted = g_stop != 0;
  long alive = 0;  // connections open when the measurement ended (failed ones are closed)
  for (long i = 0; i < conns; i++) alive += cs[i].st == ST_OPEN;
  int timed_out = t_stop >= t_hard && t_stop < t_begin + (double)duration && !(max_msgs && g_msgs >= (unsigned long long)max_msgs);

  // Closing: let the messages in flight come back (1 s at most), send Close, wait for the
  // server's (1 s at most). Connections that do not finish in time are reset, not counted as
  // errors (the measurement is over).
  g_sending = 0;
  g_stop = 0;
  for (long i = 0; i < conns; i++) {
    if (cs[i].st == ST_OPEN && !cs[i].in_flight) start_closing(&cs[i]);
  }
  double t_close = now_s() + 2;
  if (t_close > t_hard + 2) t_close = t_hard + 2;
  loop_until(cs, conns, t_close, busy_any, buf, bufsize, 0);
  for (long i = 0; i < conns; i++) {
    conn_close(&cs[i], 1);
    free(cs[i].payload);
    free(cs[i].out);
  }
  free(cs);
  free(buf);
  close(g_ep);
  double elapsed = t_stop - t_begin;
  double rtps = elapsed > 0 ? (double)g_msgs / elapsed : 0;
  double mbps = elapsed > 0 ? (double)g_bytes / elapsed / 1e6 : 0;
  printf("RESULT messages=%llu bytes=%llu elapsed=%.3f rtps=%.1f mbps=%.3f errors=%lu conns=%ld size=%zu\n",
         g_msgs, g_bytes, elapsed, rtps, mbps, g_errors, alive, g_size);
  fflush(stdout);
  fprintf(stderr, "ws_load: %ld conns, %zu-byte messages: %.1f round trips/s, %.3f MB/s, mean round trip %.1f us, "
                  "%llu messages in %.3f s (%llu in all), %lu errors%s%s%s\n",
          conns, g_size, rtps, mbps, g_msgs ? g_rtt_sum / (double)g_msgs * 1e6 : 0.0, g_msgs, elapsed,
          g_msgs_all, g_errors, g_errors ? " (first: " : "", g_first_error, g_errors ? ")" : "");
  if (timed_out) fprintf(stderr, "ws_load: hard time limit reached\n");
  if (interrupted && !g_errors) return 1;
  return g_errors || timed_out ? 1 : 0;
}
