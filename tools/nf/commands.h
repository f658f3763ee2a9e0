// Subcommands of `nf`. Each add_*_command registers one subcommand (with its
// options and callback) on the root app; the callback's exit code is stored
// in *exit_code.
#pragma once

#include <CLI/CLI.hpp>

namespace nf::cli {}  // namespace nf::cli
namespace nf::cli {
void add_topo_command(CLI::App& app, int* exit_code);
}  // namespace nf::cli
