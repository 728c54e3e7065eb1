// The first layer of the shape grid on MNIST's own images, dense and sparse, the kernels alone: per
// mini-batch, the dense path's forward product and fused gradient + update (the book's L1
// subgradient rule) against the sparse path's steps (gather the nonzeros, forward product, sort
// them by input, gradient + update of every weight, biases), in microseconds, for 784-H with
// H = 30, 100, 500, mini-batch 10 and 100, float64 and float32. The same bits either way
// (tests/test_sparse_inputs.py); this says where each path's time goes and which is faster, with
// nothing else of an epoch around it (no other layer, no Python, no shuffling). The last column times
// the sparse update again with a new mini-batch each call, as in training, where the branch predictor
// cannot learn where each row's loop over its entries ends (784-30 m=10 float64, 2026-12-05: 5.6 us
// with the same mini-batch, 7.4 us with a new one). A second table, for the mini-batches of at most 16
// examples, times the later epochs of a training run, whose nonzeros come from the input cache: the sort
// into runs and the update from them, against placing them as pixel codes and the update from those
// (sparse_inputs.hpp's place_codes), a new mini-batch each call; and its last column, the update
// with no entry at all (every row as a row whose input is zero in the whole mini-batch): every weight
// read, stepped by the penalty and written, the floor of an update that touches every weight each
// mini-batch (784-30 m=10 float64, 2026-12-06: 2.8 us of the 7.2 of placing the codes and updating).
//
// The mini-batches cycle through the first 2,000 training images (12.5 MB as float64: in L3, not in
// L2, as rows drawn at random from 50,000 are in training only more so). Times are the best of 7
// rounds, so that a round the machine's other work interrupts does not count: what the kernels can
// do on this core, robust to a busy neighbour.
//
// Build and run from the repository root on an x86-64 CPU with AVX-512 (the kernel set's flags as in
// CMakeLists.txt; zlib reads the bundled images; the thread pool, for the layer's weight copies):
//   g++ -O3 -std=c++17 -ffp-contract=fast -fno-math-errno -mavx512f -mavx2 -mfma -Icpp/include \
//       benchmarks/sparse_in_cache.cpp cpp/src/thread_pool.cpp -pthread -lz -o /tmp/sparse_in_cache
//   /tmp/sparse_in_cache                       # the grid, a Markdown table
//   /tmp/sparse_in_cache 30 10 float64         # one width, mini-batch and dtype
// or for the avx2 kernels, on a CPU with AVX2 and FMA: -DSPARSE_IN_CACHE_AVX2 -mavx2 -mfma (no -mavx512f);
// add -DSPARSE_IN_CACHE_HALVES for the layer in parity halves (as two threads train it).
#ifdef SPARSE_IN_CACHE_AVX2
#define NNDL_KERNEL_NS avx2
#define NNDL_KERNEL_NAME "avx2"
#define NNDL_VECTOR_BYTES 32
#define NNDL_VECTOR_REGS 16
#define NNDL_KERNEL_SET sparse_in_cache_avx2
#define SPARSE_IN_CACHE_CPU_FLAG "avx2"
#else
#define NNDL_KERNEL_NS avx512
#define NNDL_KERNEL_NAME "avx512"
#define NNDL_VECTOR_BYTES 64
#define NNDL_VECTOR_REGS 32
#define NNDL_KERNEL_SET sparse_in_cache_avx512
#define SPARSE_IN_CACHE_CPU_FLAG "avx512f"
#endif
#include "../cpp/src/kernels_simd.inl"

#include "book_l1_step.hpp"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "nndl/architecture.hpp"
#include "nndl/input_cache.hpp"
#include "nndl/sparse_inputs.hpp"

namespace {

constexpr int64_t kPixels = 784, kImages = 2000;

// The first layer's rows in input order, as one thread trains it; built with -DSPARSE_IN_CACHE_HALVES,
// in parity halves, as two threads do (sparse_inputs.hpp).
#ifdef SPARSE_IN_CACHE_HALVES
constexpr bool kSparseInCacheHalves = true;
#else
constexpr bool kSparseInCacheHalves = false;
#endif

// The first kImages training images of the bundled MNIST, as bytes.
std::vector<unsigned char> mnist_images() {
    const char* path = "python/nndl/data/mnist/train-images-idx3-ubyte.gz";
    gzFile file = gzopen(path, "rb");
    if (!file) {
        std::fprintf(stderr, "sparse_in_cache: cannot open %s (run from the repository root)\n", path);
        std::exit(1);
    }
    unsigned char header[16];
    std::vector<unsigned char> pixels(static_cast<size_t>(kImages * kPixels));
    const bool ok =
        gzread(file, header, 16) == 16 &&
        gzread(file, pixels.data(), static_cast<unsigned>(pixels.size())) == static_cast<int>(pixels.size());
    gzclose(file);
    if (!ok) {
        std::fprintf(stderr, "sparse_in_cache: %s is shorter than %lld images\n", path,
                     static_cast<long long>(kImages));
        std::exit(1);
    }
    return pixels;
}

// Best of 7 rounds of `reps` calls of call(r) (r counts the calls), in microseconds per call.
template <class F>
double microseconds_per_call(int reps, F call) {
    int r = 0;
    for (int w = 0; w < reps / 4 + 1; ++w) call(r++);  // warm the caches
    double best = 1e300;
    for (int round = 0; round < 7; ++round) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) call(r++);
        const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, us / reps);
    }
    return best;
}

// What both tables time against: the images as T, a 784-H-10 network's parameters and a mini-batch's
// deltas (fixed, plausible values: the times do not depend on them).
template <class T>
struct FirstLayerData {
    std::vector<T> X;
    nndl::Architecture arch;
    std::vector<T> params;
    std::vector<T> delta;

    FirstLayerData(const std::vector<unsigned char>& pixels, int64_t H, int64_t m)
        : X(pixels.size()),
          arch({kPixels, H, 10}, {nndl::Activation::sigmoid, nndl::Activation::sigmoid}, nndl::Cost::cross_entropy),
          params(static_cast<size_t>(arch.num_params())),
          delta(static_cast<size_t>(m * H)) {
        for (size_t i = 0; i < pixels.size(); ++i) X[i] = static_cast<T>(pixels[i]) / T(255);
        for (size_t i = 0; i < params.size(); ++i)
            params[i] = static_cast<T>(static_cast<double>(i % 89) * 0.001 - 0.04);
        for (size_t i = 0; i < delta.size(); ++i) delta[i] = static_cast<T>(static_cast<double>(i % 13) * 1e-4 - 6e-4);
    }
    T* W() { return params.data() + arch.weight_offset(1); }
};

template <class T>
void run(const std::vector<unsigned char>& pixels, int64_t H, int64_t m) {
    const nndl::KernelTable<T>& kernels = nndl::NNDL_KERNEL_SET.template table<T>();
    const char* dtype = sizeof(T) == 4 ? "float32" : "float64";
    FirstLayerData<T> data(pixels, H, m);
    const std::vector<T>& X = data.X;
    const nndl::Architecture& arch = data.arch;
    const int64_t batches = kImages / m;
    std::vector<const T*> rows(static_cast<size_t>(kImages));
    for (int64_t i = 0; i < kImages; ++i) rows[static_cast<size_t>(i)] = X.data() + ((i * 7919) % kImages) * kPixels;

    T* W = data.W();
    T* b = data.params.data() + arch.bias_offset(1);
    std::vector<T> z(static_cast<size_t>(m * H));
    std::vector<T>& delta = data.delta;
    std::vector<double> change(static_cast<size_t>(H));
    const nndl::UpdateStep<T> step = book_l1_step<T>(m);
    const int reps = std::max(20, static_cast<int>(2e7 / static_cast<double>(m * H * kPixels)));
    auto batch = [&](int r) { return rows.data() + (r % batches) * m; };

    const double dense_forward =
        microseconds_per_call(reps, [&](int r) { kernels.dense_forward(batch(r), m, kPixels, W, b, H, z.data()); });
    const double dense_update = microseconds_per_call(reps, [&](int r) {
        kernels.fused_update(delta.data(), batch(r), m, H, 0, H, kPixels, W, b, step, nullptr, nullptr, nullptr,
                             change.data());
    });

    nndl::SparseFirstLayer<T> sparse(arch, kernels, m, 1, kSparseInCacheHalves, W, nullptr, nullptr, nullptr);
    // Each step reads what the one before it left for its own mini-batch, gathered once per batch
    // here so that the later steps can be timed alone.
    auto gather = [&](int r) {
        kernels.gather_nonzeros(batch(r), m, kPixels, sparse.half_rows, sparse.index.data(), sparse.value.data(),
                                sparse.count.data());
    };
    const double gather_us = microseconds_per_call(reps, gather);
    gather(0);
    const double forward_us = microseconds_per_call(reps, [&](int) {
        kernels.sparse_forward(sparse.input_rows(0), m, kPixels, sparse.wt.data(), sparse.ld, b, H, z.data());
    });
    sparse.pad_deltas(delta.data(), 0, m);
    const nndl::Range inputs = sparse.input_range(1, 0);
    const double sort_us =
        microseconds_per_call(reps, [&](int) { sparse.sort_by_input(m, {0, m}, 0, /*coded=*/false); });
    auto update = [&]() {
        kernels.sparse_update(sparse.row_entries(m, /*coded=*/false), sparse.delta_pad.data(), inputs.begin, inputs.end,
                              sparse.half_rows, sparse.ld, sparse.wt.data(), step, nullptr, nullptr,
                              sparse.row_change.data(),
                              /*every_row=*/false);
    };
    const double update_us = microseconds_per_call(reps, [&](int) { update(); });
    // The update above sees the same mini-batch every call, so the branch predictor learns where each
    // row's loop over its entries ends. In training every mini-batch is new: timed here as gather,
    // sort and update of a new mini-batch each call, less gather and sort alone.
    auto new_batch = [&](int r) {
        gather(r);
        sparse.sort_by_input(m, {0, m}, 0, /*coded=*/false);
    };
    const double new_batch_us = microseconds_per_call(reps,
                                                      [&](int r) {
                                                          new_batch(r);
                                                          update();
                                                      }) -
                                microseconds_per_call(reps, new_batch);
    const double bias_us = microseconds_per_call(
        reps, [&](int) { kernels.bias_update(delta.data(), m, H, 0, H, b, step, nullptr, sparse.bias_change.data()); });
    const double dense_us = dense_forward + dense_update;
    const double sparse_us = gather_us + forward_us + sort_us + update_us + bias_us;
    std::printf(
        "| 784-%lld | %lld | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
        static_cast<long long>(H), static_cast<long long>(m), dtype, dense_forward, dense_update, dense_us, gather_us,
        forward_us, sort_us, update_us, bias_us, sparse_us, dense_us / sparse_us, new_batch_us);
}

// The later epochs of a training run, whose nonzeros come from the input cache: for a new mini-batch
// each call, the sort into runs and the update from them, against placing the nonzeros as pixel codes
// (m <= 16: SparseFirstLayer::place_codes) and the update from those. Each includes looking the
// mini-batch's records up (as training's gather does for kept examples). The two alternate, 3 times
// each, and each takes its best.
template <class T>
void kept_rows(const std::vector<unsigned char>& pixels, int64_t H, int64_t m) {
    const nndl::KernelTable<T>& kernels = nndl::NNDL_KERNEL_SET.template table<T>();
    FirstLayerData<T> data(pixels, H, m);
    const std::vector<T>& X = data.X;
    nndl::SparseFirstLayer<T> sparse(data.arch, kernels, m, 1, kSparseInCacheHalves, data.W(), nullptr, nullptr,
                                     nullptr);
    // Every image kept, as the first epoch keeps them.
    nndl::SparseInputCache<T> cache;
    cache.bind(X.data(), kImages, kPixels, kernels.sparse_lanes);
    for (int64_t i = 0; i < kImages; ++i) {
        const T* row = X.data() + i * kPixels;
        kernels.gather_nonzeros(&row, 1, kPixels, sparse.half_rows, sparse.index.data(), sparse.value.data(),
                                sparse.count.data());
        cache.keep(i, sparse.index.data(), sparse.value.data(), sparse.count.data());
    }
    if (cache.examples_kept() != kImages) {
        std::fprintf(stderr, "sparse_in_cache: the input cache kept %lld of %lld images\n",
                     static_cast<long long>(cache.examples_kept()), static_cast<long long>(kImages));
        std::exit(1);
    }
    std::vector<nndl::KeptNonzeros> kept(static_cast<size_t>(m));
    sparse.read_kept(kept.data(), cache.decoded());
    sparse.pad_deltas(data.delta.data(), 0, m);
    const nndl::UpdateStep<T> step = book_l1_step<T>(m);
    const nndl::Range inputs = sparse.input_range(1, 0);
    const int64_t batches = kImages / m;
    const int reps = std::max(20, static_cast<int>(2e7 / static_cast<double>(m * H * kPixels)));
    auto look_up = [&](int r) {
        const int64_t b = r % batches;
        for (int64_t i = 0; i < m; ++i) {
            kept[static_cast<size_t>(i)] = cache.record(((b * m + i) * 7919) % kImages);
            sparse.note_kept(i);
        }
    };
    auto step_with = [&](int r, bool coded) {
        look_up(r);
        sparse.sort_by_input(m, {0, m}, 0, coded);
        kernels.sparse_update(sparse.row_entries(m, coded), sparse.delta_pad.data(), inputs.begin, inputs.end,
                              sparse.half_rows, sparse.ld, sparse.wt.data(), step, nullptr, nullptr,
                              sparse.row_change.data(), /*every_row=*/false);
    };
    // The update's floor: every weight's regularized step with no entry at all (pixel codes all 0, so
    // every row goes the way of a row whose input is zero in the whole mini-batch), Wt read and
    // written once. What a mini-batch's update of every weight costs before any gradient is summed.
    const std::vector<uint8_t> no_codes(static_cast<size_t>(sparse.rows * nndl::kCodedRowBytes), uint8_t{0});
    nndl::SparseRowEntries<T> no_entries = sparse.row_entries(m, true);
    no_entries.codes = no_codes.data();
    double sort_us = 1e300, place_us = 1e300, runs_us = 1e300, codes_us = 1e300, floor_us = 1e300;
    for (int turn = 0; turn < 3; ++turn) {
        floor_us = std::min(floor_us, microseconds_per_call(reps, [&](int) {
                                kernels.sparse_update(no_entries, sparse.delta_pad.data(), inputs.begin, inputs.end,
                                                      sparse.half_rows, sparse.ld, sparse.wt.data(), step, nullptr,
                                                      nullptr, sparse.row_change.data(), /*every_row=*/false);
                            }));
        sort_us = std::min(sort_us, microseconds_per_call(reps, [&](int r) {
                               look_up(r);
                               sparse.sort_by_input(m, {0, m}, 0, false);
                           }));
        place_us = std::min(place_us, microseconds_per_call(reps, [&](int r) {
                                look_up(r);
                                sparse.sort_by_input(m, {0, m}, 0, true);
                            }));
        runs_us = std::min(runs_us, microseconds_per_call(reps, [&](int r) { step_with(r, false); }));
        codes_us = std::min(codes_us, microseconds_per_call(reps, [&](int r) { step_with(r, true); }));
    }
    std::printf("| 784-%lld | %lld | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", static_cast<long long>(H),
                static_cast<long long>(m), sizeof(T) == 4 ? "float32" : "float64", sort_us, runs_us, place_us, codes_us,
                runs_us / codes_us, floor_us);
}

}  // namespace

int main(int argc, char** argv) {
    if (!__builtin_cpu_supports(SPARSE_IN_CACHE_CPU_FLAG)) {
        std::fprintf(stderr, "sparse_in_cache: this build times the %s kernels; this CPU lacks %s\n", NNDL_KERNEL_NAME,
                     SPARSE_IN_CACHE_CPU_FLAG);
        return 1;
    }
    std::vector<int64_t> widths = {30, 100, 500}, batches = {10, 100};
    std::vector<std::string> dtypes = {"float64", "float32"};
    if (argc == 4) {
        widths = {std::atoll(argv[1])};
        batches = {std::atoll(argv[2])};
        dtypes = {argv[3]};
        if (widths[0] < 1 || batches[0] < 1 || kImages % batches[0] != 0 ||
            (dtypes[0] != "float64" && dtypes[0] != "float32")) {
            std::fprintf(stderr, "usage: sparse_in_cache [H M DTYPE], e.g. 30 10 float64 (M divides %lld)\n",
                         static_cast<long long>(kImages));
            return 2;
        }
    } else if (argc != 1) {
        std::fprintf(stderr, "usage: sparse_in_cache [H M DTYPE], e.g. 30 10 float64\n");
        return 2;
    }
    const std::vector<unsigned char> pixels = mnist_images();
    std::printf(
        "%s kernels, the first layer 784-H of the book's network on MNIST images, microseconds per "
        "mini-batch (best of 7 rounds)\n\n",
        NNDL_KERNEL_NAME);
    std::printf(
        "| layer | m | dtype | dense forward | dense update | dense | gather | sparse forward | sort | "
        "sparse update | biases | sparse | dense / sparse | sparse update, a new mini-batch each call |\n");
    std::printf("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const auto& dtype : dtypes)
        for (int64_t m : batches)
            for (int64_t H : widths) {
                if (dtype == "float64")
                    run<double>(pixels, H, m);
                else
                    run<float>(pixels, H, m);
            }
    std::printf(
        "\nThe later epochs (nonzeros from the input cache), a new mini-batch each call: the sort into runs "
        "and the update from them, against the nonzeros placed as pixel codes (m <= %lld); and the update with "
        "no entry at all, every weight read, stepped and written\n\n"
        "| layer | m | dtype | sort | sort + update | place codes | place + update | runs / codes | "
        "update without entries |\n"
        "|---|---:|---|---:|---:|---:|---:|---:|---:|\n",
        static_cast<long long>(nndl::kCodedRowBytes));
    for (const auto& dtype : dtypes)
        for (int64_t m : batches)
            for (int64_t H : widths) {
                if (m > nndl::kCodedRowBytes) continue;
                if (dtype == "float64")
                    kept_rows<double>(pixels, H, m);
                else
                    kept_rows<float>(pixels, H, m);
            }
    return 0;
}
