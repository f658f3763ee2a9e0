// FedProx's client-side term (Li et al. 2020, "Federated Optimization in
// Heterogeneous Networks"): a client minimizes
//   F(w) + (mu / 2) * ||w - w_global||^2,
// which keeps its local model near the round's global model. The server only
// sends mu (FitConfig::proximal_mu); these functions are for the client's
// training loop. Hot path: no allocation, thread-safe on distinct outputs.
#pragma once

#include <span>

namespace nf {

// grad += mu * (weights - global). Preconditions: equal sizes.
void add_proximal_gradient(std::span<const float> weights, std::span<const float> global, float mu,
                           std::span<float> grad);

// (mu / 2) * ||weights - global||^2, for reporting the local objective.
double proximal_term(std::span<const float> weights, std::span<const float> global, float mu);

}  // namespace nf
