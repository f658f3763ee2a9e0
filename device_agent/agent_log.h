// How nf-agent reports what it does: a text line per event on stderr, or one
// JSON object per event on stdout (--json).
#pragma once

#include <string>

#include "device_agent/agent_loop.h"

namespace nf {

std::string format_event_text(const AgentEvent& event);
std::string format_event_json(const AgentEvent& event, const std::string& device_id);

}  // namespace nf
