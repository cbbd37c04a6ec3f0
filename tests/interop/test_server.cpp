// The server the interop tests run: `portico serve` (same options, same static files) plus
// routes that exercise request bodies, streaming, asynchronous answers and slow responses.
//
//   POST /echo              → the request body, with X-Body-Length and X-Request-Version
//   GET  /stream/:n         → n chunks of 1 KiB ("0123456789abcdef" repeated), chunked,
//                              written with back-pressure (on_drain)
//   GET  /big/:bytes        → a body of that many bytes (pattern as above), Content-Length
//   GET  /slow/:ms          → "slow done\n" after :ms milliseconds (asynchronous)
//   GET  /slowstream/:ms    → 10 chunks spread over :ms milliseconds, then the end
//   GET  /headers           → the request's header fields, one "name: value" per line
//   GET  /...               → static files from DIR (default: the demo site)
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "cli.hpp"
#include "portico/portico.hpp"

namespace {

unsigned number(std::string_view s, unsigned max) {
  unsigned v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v > max ? max : v;
}

std::string pattern(std::size_t n) {
  static constexpr std::string_view p = "0123456789abcdef";
  std::string out;
  out.reserve(n);
  while (out.size() < n)
    out.append(p.substr(0, std::min(p.size(), n - out.size())));
  return out;
}

struct streamer {
  portico::response res;
  unsigned left;
  void pump() {
    static const std::string chunk = pattern(1024);
    while (left > 0) {
      --left;
      if (!res.write(chunk)) {
        if (res.aborted()) return;
        auto self = std::make_shared<streamer>(*this);
        left = 0;
        res.on_drain([self] { self->pump(); });
        return;
      }
    }
    res.end();
  }
};

void slow_chunk(portico::response res, unsigned i, unsigned step_ms) {
  if (res.aborted()) return;
  res.write("chunk " + std::to_string(i) + "\n");
  if (i == 9) {
    res.end();
    return;
  }
  res.set_timeout(step_ms, [res, i, step_ms] { slow_chunk(res, i + 1, step_ms); });
}

}  // namespace

int main(int argc, char** argv) {
  auto cfg = portico::cli::parse_serve_args(argc - 1, argv + 1);
  if (cfg.help) {
    std::fputs(portico::cli::usage_text, stdout);
    return 0;
  }
  if (cfg.dir.empty()) cfg.dir = PORTICO_DEMO_DIR;
  std::unique_ptr<portico::server> owned;
  try {
    owned = std::make_unique<portico::server>(cfg.options);
  } catch (const portico::tls_config_error& e) {
    std::fprintf(stderr, "portico: TLS: %s\n", e.what());
    return 2;
  } catch (const std::invalid_argument& e) {
    portico::cli::usage_error(e.what());
  }
  portico::server& srv = *owned;
  if (!cfg.metrics_path.empty()) srv.metrics(cfg.metrics_path);
  if (!cfg.status_path.empty()) srv.status_page(cfg.status_path);
  portico::cli::add_websocket_endpoints(srv, cfg);
  if (!cfg.ws_echo_path.empty()) {  // only with --ws-echo: endpoints turn RFC 8441 on
    // /ws/auth: the upgrade hook authenticates with a bearer token (Authorization, or
    // ?token= for browsers); echoes like /ws/echo. Small buffers and idle pings, for the tests
    // of a slow consumer (closed with 1008) and of a dead peer (dropped after the pong timeout).
    portico::websocket_handlers h;
    h.on_upgrade = [](const portico::request& req) {
      if (req.header("authorization") == "Bearer let-me-in" || req.query() == "token=let-me-in")
        return 0;
      return req.header("authorization").empty() && req.query().empty() ? 401 : 403;
    };
    h.on_open = [](portico::websocket& ws) {
      ws.user_data() = std::make_shared<unsigned>(0);
      ws.send_text("welcome");
    };
    h.on_message = [](portico::websocket& ws, std::string_view msg, bool text) {
      auto n = std::static_pointer_cast<unsigned>(ws.user_data());
      ++*n;
      if (msg == "count") {
        ws.send_text(std::to_string(*n));
      } else if (msg.substr(0, 6) == "flood ") {
        // Sends N KiB without waiting for on_drain: the slow-consumer limit stops it.
        const unsigned kib = number(msg.substr(6), 1u << 20);
        const std::string chunk(1024, 'f');
        for (unsigned i = 0; i < kib && ws.is_open(); ++i)
          ws.send_binary(chunk);
      } else if (text) {
        ws.send_text(msg);
      } else {
        ws.send_binary(msg);
      }
    };
    portico::websocket_options o;
    o.high_water = 64 * 1024;
    o.max_buffered = 512 * 1024;
    o.idle_ping_ms = 500;
    o.pong_timeout_ms = 1000;
    srv.websocket("/ws/auth", std::move(h), o);
  }
  srv.post("/echo", [](const portico::request& req, portico::response& res) {
    res.header("Content-Type", "application/octet-stream")
        .header("X-Body-Length", std::to_string(req.body().size()))
        .header("X-Request-Version", std::to_string(req.version()))
        .send(std::string(req.body()));
  });
  srv.get("/stream/:n", [](const portico::request& req, portico::response& res) {
    res.header("Content-Type", "text/plain");
    auto s = std::make_shared<streamer>(streamer{res, number(req.param("n"), 1u << 20)});
    s->pump();
  });
  srv.get("/big/:bytes", [](const portico::request& req, portico::response& res) {
    res.header("Content-Type", "application/octet-stream")
        .send(pattern(number(req.param("bytes"), 256u << 20)));
  });
  srv.get("/slow/:ms", [](const portico::request& req, portico::response& res) {
    portico::response later = res;
    res.set_timeout(number(req.param("ms"), 60000), [later]() mutable {
      later.header("Content-Type", "text/plain").send("slow done\n");
    });
  });
  // The response is made on another thread (a stand-in for a thread pool doing blocking work)
  // and handed back with post(); the handle is copied to, and destroyed on, that thread.
  srv.get("/offthread/:ms", [](const portico::request& req, portico::response& res) {
    const unsigned ms = number(req.param("ms"), 10000);
    std::thread([res, ms]() {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      const std::string body = "made off the worker thread after " + std::to_string(ms) + " ms\n";
      res.post([res, body]() mutable {
        if (!res.aborted()) res.header("Content-Type", "text/plain").send(body);
      });
    }).detach();
  });
  srv.get("/slowstream/:ms", [](const portico::request& req, portico::response& res) {
    res.header("Content-Type", "text/plain");
    slow_chunk(res, 0, number(req.param("ms"), 60000) / 10);
  });
  srv.get("/headers", [](const portico::request& req, portico::response& res) {
    std::string out;
    for (const auto& h : req.headers()) {
      out.append(h.name).append(": ").append(h.value).append("\n");
    }
    res.header("Content-Type", "text/plain").send(std::move(out));
  });
  // The request's trailer fields (after the body length), one "name: value" line each.
  srv.post("/request-trailers", [](const portico::request& req, portico::response& res) {
    std::string out = "body " + std::to_string(req.body().size()) + "\n";
    for (const auto& t : req.trailers()) {
      out.append(t.name).append(": ").append(t.value).append("\n");
    }
    res.header("Content-Type", "text/plain").send(std::move(out));
  });
  // Pushes /pushed/0 .. /pushed/N-1 (HTTP/2 server push), then answers with how many were
  // promised.
  srv.get("/push/:n", [](const portico::request& req, portico::response& res) {
    const unsigned n = number(req.param("n"), 1000);
    const portico::header_view extra[] = {{"x-pushed-by", "portico-test"}};
    unsigned promised = 0;
    for (unsigned i = 0; i < n; ++i)
      if (res.push("/pushed/" + std::to_string(i), extra)) ++promised;
    res.header("Content-Type", "text/plain").send("promised " + std::to_string(promised) + "\n");
  });
  // Pushes two 1 MiB responses (/big/1048576), for cancelling one while it flows.
  srv.get("/pushbig", [](const portico::request&, portico::response& res) {
    const bool a = res.push("/big/1048576"), b = res.push("/big/1048576");
    res.header("Content-Type", "text/plain").send(a && b ? "pushed 2\n" : "not pushed\n");
  });
  srv.get("/pushed/:i", [](const portico::request& req, portico::response& res) {
    res.header("Content-Type", "text/plain")
        .header("X-Seen-Pushed-By", req.header("x-pushed-by"))
        .send("pushed " + std::string(req.param("i")) + "\n");
  });
  // A page whose Link preload targets are pushed with --h2-push-preload.
  srv.get("/preload", [](const portico::request&, portico::response& res) {
    res.header("Content-Type", "text/html")
        .header("Link", "</pushed/a>; rel=preload; as=style, </pushed/b>; rel=preload; nopush")
        .header("Link", "<https://elsewhere.example/x>; rel=preload, </pushed/c>; rel=\"preload\"")
        .send("<!doctype html><title>preload</title>\n");
  });
  // N bytes streamed, then trailers (chunked on HTTP/1.1, trailing HEADERS on HTTP/2).
  srv.get("/trailers/:n", [](const portico::request& req, portico::response& res) {
    const unsigned n = number(req.param("n"), 1u << 20);
    res.header("Content-Type", "application/octet-stream").header("Trailer", "x-checksum, x-count");
    const std::string body = pattern(n);
    unsigned sum = 0;
    for (unsigned char c : body)
      sum += c;
    res.write(body);
    res.trailer("X-Checksum", std::to_string(sum)).trailer("X-Count", std::to_string(n));
    res.end();
  });
  // N bytes streamed, then the handler gives up: RST_STREAM(CANCEL) on HTTP/2.
  srv.get("/reset/:n", [](const portico::request& req, portico::response& res) {
    res.header("Content-Type", "application/octet-stream");
    res.write(pattern(number(req.param("n"), 1u << 20)));
    res.reset();
  });
  // Throws after starting a streamed response: RST_STREAM(INTERNAL_ERROR) on HTTP/2.
  srv.get("/throw-late", [](const portico::request&, portico::response& res) {
    res.header("Content-Type", "text/plain");
    res.write("partial");
    throw std::runtime_error("handler failed after starting its response");
  });
  // Streamed request bodies (route_options::stream_body): /duplex echoes each piece as it
  // arrives (full duplex over HTTP/2) and ends with a trailer counting pieces and bytes.
  srv.route(
      "POST", "/duplex",
      [](const portico::request& req, portico::response& res) {
        res.header("Content-Type", "application/octet-stream");
        auto counts = std::make_shared<std::pair<unsigned, std::size_t>>(0, 0);
        req.on_body([res, counts](std::string_view piece, bool last) mutable {
          if (!piece.empty()) {
            ++counts->first;
            counts->second += piece.size();
            res.write(piece);
          }
          if (last) {
            res.trailer("x-pieces", std::to_string(counts->first))
                .trailer("x-bytes", std::to_string(counts->second));
            res.end();
          }
        });
      },
      portico::server::route_options{true});
  srv.static_files("/", cfg.dir, cfg.files);
  return srv.run();
}
