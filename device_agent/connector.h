// The agent's way to its aggregator, from its config: mutual TLS by
// default, plain TCP with --insecure.
#pragma once

#include <asio/any_io_executor.hpp>

#include "device_agent/agent_config.h"
#include "transports/connection.h"

namespace nf {

// Reads the TLS identity files now (errors name them), so a missing key is
// reported at start-up rather than at every reconnect.
Result<Connector> make_agent_connector(asio::any_io_executor executor, const AgentConfig& config);

}  // namespace nf
