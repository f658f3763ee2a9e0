// Figures and tables of the study, drawn from its run records.
#pragma once

#include <string>
#include <vector>

#include "core/util/status.h"
#include "examples/study/study_records.h"

namespace nf::study {

// Writes into `out_dir` (which must exist): fig1_accuracy_vs_weights.svg,
// fig2_init_vs_depth.svg, fig3_batch_size.svg, fig4_scores_vs_accuracy.svg,
// fig5_accuracy_vs_time.svg (each only when its experiment has rows), and
// study_tables.md: the measured tables (accuracy per fabric and budget,
// Spearman correlations of every data-free score with accuracy, overall and
// per budget). Files are written atomically.
Status write_study_outputs(const std::vector<RunRecord>& records, const std::string& out_dir);

}  // namespace nf::study
