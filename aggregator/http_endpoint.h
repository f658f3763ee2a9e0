// HttpEndpoint: the aggregator's read-only HTTP side: the live page ("/"),
// Prometheus text ("/metrics") and the page's data ("/api/state").
//
// Only GET and HEAD are served; every other method gets 405, and nothing served
// here can change the server or reveal key material (the handlers decide what
// is shown: counters, rounds and device identities). Requests are limited to
// 8 KiB of headers and 10 s, and each connection serves one request.
// The endpoint runs as coroutines on the executor given to start(); handlers are
// called on that executor.
#pragma once

#include <asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/util/status.h"

namespace nf::aggregator {

struct HttpHandlers {
  std::function<std::string()> metrics_text;  // Prometheus exposition format
  std::function<std::string()> state_json;    // see live_page.h
};

class HttpEndpoint {
 public:
  // Binds host:port (port 0: any free port) and starts accepting.
  static Result<std::unique_ptr<HttpEndpoint>> start(asio::any_io_executor executor,
                                                     const std::string& host, uint16_t port,
                                                     HttpHandlers handlers);
  ~HttpEndpoint();
  uint16_t port() const;
  // Stops accepting; connections in progress finish on their own.
  void stop();

  struct Impl;

 private:
  explicit HttpEndpoint(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// The live page: plain HTML and JS, no external assets. `state_json` is
// embedded so the chart is drawn on load without a second request; the page
// then refreshes itself from /api/state every 2 s.
std::string live_page_html(const std::string& state_json);

}  // namespace nf::aggregator
