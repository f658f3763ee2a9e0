#include "transports/inproc.h"

#include <chrono>
#include <vector>

#include "transports/detail/mailbox.h"

namespace nf {

namespace {

using Clock = std::chrono::steady_clock;
using FrameBox = detail::Mailbox<std::vector<uint8_t>>;

struct Pipe {
  explicit Pipe(const asio::any_io_executor& ex) : boxes{FrameBox(ex), FrameBox(ex)} {}
  FrameBox boxes[2];  // boxes[i] holds the frames sent to endpoint i
};

class InprocConnection final : public Connection {
 public:
  InprocConnection(asio::any_io_executor executor, std::shared_ptr<Pipe> pipe, int side,
                   const LinkOptions& options, std::string peer)
      : executor_(std::move(executor)),
        pipe_(std::move(pipe)),
        side_(side),
        options_(options),
        peer_(std::move(peer)) {}
  ~InprocConnection() override { close(); }

  asio::awaitable<Status> send(std::span<const uint8_t> frame) override {
    if (frame.size() > options_.max_frame_bytes) {
      co_return invalid_argument("frame of " + std::to_string(frame.size()) +
                                 " bytes exceeds the limit of " +
                                 std::to_string(options_.max_frame_bytes));
    }
    FrameBox& out = pipe_->boxes[1 - side_];
    if (!open_ || out.closed()) co_return unavailable("in-process link to " + peer_ + " closed");
    out.push(std::vector<uint8_t>(frame.begin(), frame.end()));
    co_return Status::ok();
  }

  asio::awaitable<Status> receive(std::vector<uint8_t>* frame,
                                  std::chrono::milliseconds timeout) override {
    if (!open_) co_return unavailable("in-process link to " + peer_ + " closed");
    Status s = co_await pipe_->boxes[side_].pop(frame, Clock::now() + timeout, "frame");
    if (!s.is_ok()) co_return s.with_context("receiving from " + peer_);
    co_return Status::ok();
  }

  void close() override {
    if (!open_) return;
    open_ = false;
    pipe_->boxes[side_].close_and_clear();
    pipe_->boxes[1 - side_].close();
  }
  bool is_open() const override { return open_ && !pipe_->boxes[side_].closed(); }
  const std::string& peer_identity() const override { return peer_; }
  const LinkOptions& options() const override { return options_; }
  asio::any_io_executor executor() const override { return executor_; }

 private:
  asio::any_io_executor executor_;
  std::shared_ptr<Pipe> pipe_;
  int side_;
  LinkOptions options_;
  std::string peer_;
  bool open_ = true;
};

}  // namespace

std::pair<std::unique_ptr<Connection>, std::unique_ptr<Connection>> make_inproc_pair(
    asio::any_io_executor executor, const LinkOptions& options, std::string first_name,
    std::string second_name) {
  auto pipe = std::make_shared<Pipe>(executor);
  auto first = std::make_unique<InprocConnection>(executor, pipe, 0, options, second_name);
  auto second = std::make_unique<InprocConnection>(executor, pipe, 1, options, first_name);
  return {std::move(first), std::move(second)};
}

struct InprocNetwork::ListenerState {
  ListenerState(asio::any_io_executor ex, std::string addr, const LinkOptions& opts)
      : executor(ex), address(std::move(addr)), options(opts), pending(std::move(ex)) {}
  asio::any_io_executor executor;
  std::string address;
  LinkOptions options;
  detail::Mailbox<std::unique_ptr<Connection>> pending;
};

namespace {

class InprocListener final : public Listener {
 public:
  InprocListener(std::shared_ptr<InprocNetwork::ListenerState> state,
                 std::map<std::string, std::shared_ptr<InprocNetwork::ListenerState>>* registry)
      : state_(std::move(state)), registry_(registry) {}
  ~InprocListener() override { close(); }

  asio::awaitable<Result<std::unique_ptr<Connection>>> accept(
      std::chrono::milliseconds timeout) override {
    std::unique_ptr<Connection> c;
    Status s = co_await state_->pending.pop(&c, Clock::now() + timeout, "connection");
    if (!s.is_ok()) co_return s.with_context("accepting on " + state_->address);
    co_return std::move(c);
  }

  void close() override {
    if (state_->pending.closed()) return;
    state_->pending.close_and_clear();
    registry_->erase(state_->address);
  }
  std::string address() const override { return state_->address; }

 private:
  std::shared_ptr<InprocNetwork::ListenerState> state_;
  std::map<std::string, std::shared_ptr<InprocNetwork::ListenerState>>* registry_;
};

}  // namespace

InprocNetwork::~InprocNetwork() {
  for (auto& [address, state] : listeners_) state->pending.close_and_clear();
}

Result<std::unique_ptr<Listener>> InprocNetwork::listen(const std::string& address,
                                                        const LinkOptions& options) {
  if (listeners_.count(address) != 0) {
    return invalid_argument("in-process address '" + address + "' is already in use");
  }
  auto state = std::make_shared<ListenerState>(executor_, address, options);
  listeners_[address] = state;
  return std::unique_ptr<Listener>(std::make_unique<InprocListener>(state, &listeners_));
}

asio::awaitable<Result<std::unique_ptr<Connection>>> InprocNetwork::connect(
    const std::string& address, const std::string& client_name) {
  auto it = listeners_.find(address);
  if (it == listeners_.end() || it->second->pending.closed()) {
    co_return unavailable("no in-process listener at '" + address + "'");
  }
  auto [client, server] = make_inproc_pair(executor_, it->second->options, client_name, address);
  it->second->pending.push(std::move(server));
  co_return std::move(client);
}

Connector InprocNetwork::connector(std::string address, std::string client_name) {
  return [this, address = std::move(address), client_name = std::move(client_name)]() {
    return connect(address, client_name);
  };
}

}  // namespace nf
