// The device listener nf-aggregator opens from its config: mutual TLS with the
// configured certificate, key and CA, or plain TCP when server.insecure is set.
#pragma once

#include <asio/any_io_executor.hpp>
#include <memory>

#include "aggregator/config.h"
#include "core/util/status.h"
#include "transports/connection.h"

namespace nf::aggregator {

Result<std::unique_ptr<Listener>> open_device_listener(asio::any_io_executor executor,
                                                       const AggregatorConfig& config);

}  // namespace nf::aggregator
