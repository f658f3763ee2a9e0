#include "examples/study/study_records.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace nf::study {

namespace {

constexpr const char* kHeader =
    "experiment,fabric,budget,weight_fraction,weights,within_tolerance,init,depth,batch,seed,"
    "epochs,train_examples,test_accuracy,test_loss,seconds_per_epoch,epoch_accuracies,path_cv,"
    "log_min_paths,spectral_ratio,expressivity,reachable,data_free_fitness,spec";
constexpr int kColumns = 23;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// Splits one CSV line; a field may be double-quoted ("" inside is a quote).
std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool to_double(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

std::string RunRecord::key() const {
  // Depth is chosen by the experiment only in "init_depth"; elsewhere it is
  // measured after the run, so it cannot be part of the plan's key.
  const int planned_depth = experiment == "init_depth" ? depth : 0;
  return experiment + "/" + fabric + "/" + num(budget) + "/" + init + "/" +
         std::to_string(planned_depth) + "/" + std::to_string(batch) + "/" + std::to_string(seed);
}

std::string records_to_csv(const std::vector<RunRecord>& records) {
  std::string s = std::string(kHeader) + "\n";
  for (const RunRecord& r : records) {
    std::string accs;
    for (size_t i = 0; i < r.epoch_accuracies.size(); ++i) {
      if (i) accs += ";";
      accs += num(r.epoch_accuracies[i]);
    }
    std::string spec;
    for (char c : r.spec) spec += (c == '"') ? std::string("\"\"") : std::string(1, c);
    s += r.experiment + "," + r.fabric + "," + num(r.budget) + "," + num(r.weight_fraction) + "," +
         std::to_string(r.weights) + "," + (r.within_tolerance ? "1" : "0") + "," + r.init + "," +
         std::to_string(r.depth) + "," + std::to_string(r.batch) + "," + std::to_string(r.seed) +
         "," + std::to_string(r.epochs) + "," + std::to_string(r.train_examples) + "," +
         num(r.test_accuracy) + "," + num(r.test_loss) + "," + num(r.seconds_per_epoch) + "," +
         accs + "," + num(r.path_cv) + "," + num(r.log_min_paths) + "," + num(r.spectral_ratio) +
         "," + num(r.expressivity) + "," + num(r.reachable) + "," + num(r.data_free_fitness) +
         ",\"" + spec + "\"\n";
  }
  return s;
}

Result<std::vector<RunRecord>> records_from_csv(const std::string& text) {
  std::vector<RunRecord> out;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    if (line_no == 1) {
      if (line != kHeader) return corrupt("line 1: not the study's CSV header");
      continue;
    }
    const std::vector<std::string> f = split_line(line);
    if (static_cast<int>(f.size()) != kColumns) {
      return corrupt("line " + std::to_string(line_no) + ": " + std::to_string(f.size()) +
                     " fields, expected " + std::to_string(kColumns));
    }
    RunRecord r;
    double v[kColumns] = {};
    const int numeric[] = {2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21};
    for (int c : numeric) {
      if (!to_double(f[static_cast<size_t>(c)], &v[c]) && f[static_cast<size_t>(c)] != "nan") {
        return corrupt("line " + std::to_string(line_no) + ": column " + std::to_string(c + 1) +
                       " '" + f[static_cast<size_t>(c)] + "' is not a number");
      }
      if (f[static_cast<size_t>(c)] == "nan") v[c] = std::strtod("nan", nullptr);
    }
    r.experiment = f[0];
    r.fabric = f[1];
    r.budget = v[2];
    r.weight_fraction = v[3];
    r.weights = static_cast<long long>(v[4]);
    r.within_tolerance = v[5] != 0;
    r.init = f[6];
    r.depth = static_cast<int>(v[7]);
    r.batch = static_cast<int>(v[8]);
    r.seed = static_cast<int>(v[9]);
    r.epochs = static_cast<int>(v[10]);
    r.train_examples = static_cast<long long>(v[11]);
    r.test_accuracy = v[12];
    r.test_loss = v[13];
    r.seconds_per_epoch = v[14];
    std::stringstream accs(f[15]);
    std::string a;
    while (std::getline(accs, a, ';')) {
      double x = 0;
      if (to_double(a, &x)) r.epoch_accuracies.push_back(x);
    }
    r.path_cv = v[16];
    r.log_min_paths = v[17];
    r.spectral_ratio = v[18];
    r.expressivity = v[19];
    r.reachable = v[20];
    r.data_free_fitness = v[21];
    r.spec = f[22];
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace nf::study
