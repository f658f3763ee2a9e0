// Which name the agent goes by.
//
// With mutual TLS the aggregator knows a device by the subject CN of its
// certificate and nothing else, so the agent takes the same name from its own
// certificate for its Hello, its log lines and its backoff seed: the two sides'
// logs then speak of the same device. `device_id` names the device only over
// insecure TCP; with TLS it may be left empty, and when set it must equal the
// CN (a mismatch is a configuration error naming both, not a silent alias).
#pragma once

#include <string>

#include "core/util/status.h"
#include "device_agent/agent_config.h"

namespace nf {

// The name insecure mode uses when device_id is empty.
inline constexpr const char* kDefaultDeviceId = "device-0";

// The subject CN of the first certificate in a PEM file. Errors name the file
// and say what is wrong (missing, not a certificate, no CN).
Result<std::string> certificate_common_name(const std::string& cert_path);

// The device's identity per the rules above: the CN of tls.cert with TLS,
// device_id (or kDefaultDeviceId) with aggregator.insecure.
Result<std::string> resolve_device_identity(const AgentConfig& config);

}  // namespace nf
