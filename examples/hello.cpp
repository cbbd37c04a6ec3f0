// The smallest Portico server: curl http://127.0.0.1:8080/hello/world
#include <portico/portico.hpp>

int main(int argc, char** argv) {
  portico::server srv({.listen = {argc > 1 ? argv[1] : "127.0.0.1:8080"}});
  srv.get("/hello/:name", [](const portico::request& req, portico::response& res) {
    res.header("Content-Type", "text/plain; charset=utf-8")
        .send("Hello, " + std::string(req.param("name")) + "!\n");
  });
  return srv.run();  // until Ctrl-C or SIGTERM, then drains
}
