// A JSON echo server: POST a JSON body to /echo and get it back wrapped with request details.
//   curl -d '{"a":1}' -H 'Content-Type: application/json' http://127.0.0.1:8080/echo
// Also shows an asynchronous handler (/delayed/:ms answers later from the same event loop).
#include <charconv>
#include <string>

#include <portico/portico.hpp>

namespace {
// JSON string escaping (RFC 8259 §7).
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}
}  // namespace

int main(int argc, char** argv) {
  portico::server srv({.listen = {argc > 1 ? argv[1] : "127.0.0.1:8080"}});
  srv.post("/echo", [](const portico::request& req, portico::response& res) {
    std::string ct(req.header("content-type"));
    if (ct.rfind("application/json", 0) != 0) {
      res.status(415).header("Content-Type", "application/json")
          .send(R"({"error":"send Content-Type: application/json"})" "\n");
      return;
    }
    std::string body = "{\"method\":" + json_string(req.method()) +
                       ",\"path\":" + json_string(req.path()) +
                       ",\"length\":" + std::to_string(req.body().size()) +
                       ",\"body\":" + json_string(req.body()) + "}\n";
    res.header("Content-Type", "application/json").send(std::move(body));
  });
  srv.get("/delayed/:ms", [](const portico::request& req, portico::response& res) {
    unsigned ms = 0;
    auto p = req.param("ms");
    std::from_chars(p.data(), p.data() + p.size(), ms);
    if (ms > 10000) ms = 10000;
    portico::response later = res;  // keep the response: answer from a timer
    res.set_timeout(ms, [later, ms]() mutable {
      later.header("Content-Type", "application/json")
          .send("{\"delayed_ms\":" + std::to_string(ms) + "}\n");
    });
  });
  return srv.run();
}
