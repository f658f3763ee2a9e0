// Readers for the IDX format of MNIST and Fashion-MNIST, plain or gzipped.
//
// IDX (yann.lecun.com/exdb/mnist): a big-endian header (two zero bytes, a
// type byte, the number of dimensions, then each dimension as u32) followed
// by the values. Only unsigned-byte data (type 0x08) is read: images with
// three dimensions (count, rows, cols) and labels with one (count).
//
// Errors name the file and the problem: missing file, wrong magic, a header
// whose sizes are absurd, a file shorter than its header promises (or a
// gzip stream cut short or failing its CRC), trailing bytes, image and label
// counts that disagree, a label outside the classes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/util/status.h"

namespace nf {

// Raw contents of one IDX file of unsigned bytes.
struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> values;  // product(dims) bytes, row-major
};

// Reads an IDX file, gunzipping it when it starts with the gzip magic.
// `expected_dims` is 3 for images, 1 for labels.
Result<IdxArray> read_idx_file(const std::string& path, int expected_dims);

// How a Dataset read from IDX holds its pixels: as floats in [0, 1]
// (`features`), or as the bytes they are in the file (`pixels`), a quarter of
// the memory. The engine trains and evaluates on either with the same
// results (pixel_value); code that reads rows itself must handle both.
enum class IdxFeatures { kFloats, kBytes };

// Builds a Dataset from an images file and a labels file: pixels become
// floats in [0, 1] (value / 255) or stay bytes, labels must be < num_classes.
Result<Dataset> read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                                 int32_t num_classes, std::string name,
                                 IdxFeatures features = IdxFeatures::kFloats);

enum class FashionMnistSplit { kTrain, kTest };

// The directory holding Fashion-MNIST: $NF_FASHION_MNIST_DIR if set and not
// empty, else the one compiled in (Debian's dataset-fashion-mnist package,
// /usr/share/datasets/fashion-mnist).
std::string default_fashion_mnist_dir();

// Loads {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz from `dir` (empty:
// default_fashion_mnist_dir()): 60000 training or 10000 test examples of
// 784 features in [0, 1], 10 classes. Named "fashion-mnist/train" or "/test".
// Kept as bytes unless asked otherwise: the training set is 47 MB so, 188 MB
// as floats.
Result<Dataset> load_fashion_mnist(FashionMnistSplit split, const std::string& dir = "",
                                   IdxFeatures features = IdxFeatures::kBytes);

}  // namespace nf
