#include <cstdio>

#include "tools/nf/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "nf: NeuroFabric's command for a priori sparse topologies, training and certificates"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nf 0.1.0");
  int exit_code = 0;
  nf::cli::add_topo_command(app, &exit_code);
  nf::cli::add_certs_command(app, &exit_code);
  nf::cli::add_train_command(app, &exit_code);
  nf::cli::add_topo_search_command(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
