// Subcommands of `nf`. Each add_*_command registers one subcommand (with its
// options and callback) on the root app; the callback's exit code is stored
// in *exit_code.
#pragma once

#include <CLI/CLI.hpp>

namespace nf::cli {

void add_topo_command(CLI::App& app, int* exit_code);
void add_certs_command(CLI::App& app, int* exit_code);  // tools/nf/certs_command.cpp
// `nf train`: centralized training on Fashion-MNIST (tools/nf/train_command.cpp).
void add_train_command(CLI::App& app, int* exit_code);
// `nf topo search`: evolutionary search over fabric shapes at a fixed budget
// (tools/nf/topo_search_command.cpp).
void add_topo_search_command(CLI::App& app, int* exit_code);

// The `topo` group, created on first use, so several files can add
// `nf topo <verb>` without knowing about each other.
inline CLI::App* topo_group(CLI::App& app) {
  auto found = app.get_subcommands([](CLI::App* s) { return s->get_name() == "topo"; });
  if (!found.empty()) return found.front();
  CLI::App* topo =
      app.add_subcommand("topo", "Sparse topologies (fabrics): describe, draw, search");
  topo->require_subcommand(1);
  return topo;
}

}  // namespace nf::cli
