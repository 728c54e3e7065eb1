// The SIMD kernels alone, on data that stays in cache, for the shape grid of `nndl bench --grid`
// (784-H-10 for H = 30, 100, 500 and 784-30-30-30-10; mini-batch 10 and 100; float64 and float32):
// per layer, the forward product, the error sent one layer down (layers after the first) and the
// fused gradient + regularized update (the book's L1 subgradient rule), each as microseconds per
// mini-batch and % of the FMA peak this program measures first, on the same core. Summed over a
// network and multiplied by the mini-batches of an epoch, it is the epoch's arithmetic at the
// kernels' in-cache speed: the grid's epoch minus this is everything else (main memory, the
// activations, the loop, Python).
//
// Times are the best of 7 rounds of many calls: a round that the machine's other work interrupts
// is slower, never faster, so the best is what the kernel can do. The first layer of 784-500-10
// (1.6 MB of float32 weights, 3.1 MB of float64) does not fit this machine's 1 MB L2: those rows
// are L3 speed, as in training.
//
// Build and run from the repository root on an x86-64 CPU with AVX-512 (the flags are those
// CMakeLists.txt gives the avx512 kernel set):
//   g++ -O3 -std=c++17 -ffp-contract=fast -fno-math-errno -fschedule-insns -fsched-pressure \
//       -mavx512f -mavx2 -mfma -Icpp/include benchmarks/kernels_in_cache.cpp -o /tmp/kernels_in_cache
//   /tmp/kernels_in_cache            # the whole grid, a Markdown table
//   /tmp/kernels_in_cache 784,30,10 10 float64   # one network, mini-batch and dtype
#define NNDL_KERNEL_NS avx512
#define NNDL_KERNEL_NAME "avx512"
#define NNDL_VECTOR_BYTES 64
#define NNDL_VECTOR_REGS 32
#define NNDL_KERNEL_SET kernels_in_cache_avx512
#include "../cpp/src/kernels_simd.inl"

#include "book_l1_step.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// A T array of `count` values starting on a 64-byte boundary, as nndl/alignment.py gives Python.
template <class T>
T* aligned(std::vector<T>& storage, size_t count) {
    storage.assign(count + 64 / sizeof(T), T(0));
    const auto address = reinterpret_cast<uintptr_t>(storage.data());
    return reinterpret_cast<T*>((address + 63) & ~uintptr_t(63));
}

// Best of 7 rounds of `reps` calls (reps chosen for ~10 ms a round), in microseconds per call.
template <class F>
double microseconds_per_call(double flop_per_call, F call) {
    const int reps = std::max(10, static_cast<int>(2e8 / std::max(flop_per_call, 1.0)));
    for (int r = 0; r < reps / 4 + 1; ++r) call();  // warm the caches
    double best = 1e300;
    for (int round = 0; round < 7; ++round) {
        const auto start = std::chrono::steady_clock::now();
        for (int r = 0; r < reps; ++r) call();
        const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
        best = std::min(best, us / reps);
    }
    return best;
}

// One layer's data: weights (n_out, n_in), biases, its inputs, its errors, and the error one layer down.
template <class T>
struct LayerData {
    int64_t n_in, n_out;
    std::vector<T> w_store, b, x_store, delta, d_in, delta_in;
    std::vector<double> change;
    std::vector<const T*> rows;
    T* W = nullptr;
    T* X = nullptr;
    LayerData(int64_t in, int64_t out, int64_t m)
        : n_in(in),
          n_out(out),
          b(static_cast<size_t>(out), T(0.1)),
          delta(static_cast<size_t>(m * out), T(0.001)),
          d_in(static_cast<size_t>(m * in), T(0.25)),
          delta_in(static_cast<size_t>(m * in)),
          change(static_cast<size_t>(out)),
          rows(static_cast<size_t>(m)) {
        W = aligned(w_store, static_cast<size_t>(out * in));
        X = aligned(x_store, static_cast<size_t>(m * in));
        for (int64_t i = 0; i < m * in; ++i) X[i] = static_cast<T>((i % 97) * 0.01);
        for (int64_t i = 0; i < out * in; ++i) W[i] = static_cast<T>((i % 89) * 0.001 - 0.04);
        for (int64_t i = 0; i < m; ++i) rows[static_cast<size_t>(i)] = X + i * in;
    }
};

struct Peak {
    double f64, f32;
};

template <class T>
void run(const std::vector<int64_t>& sizes, int64_t m, const Peak& peak) {
    const nndl::KernelTable<T>& kernels = nndl::NNDL_KERNEL_SET.template table<T>();
    const char* dtype = sizeof(T) == 4 ? "float32" : "float64";
    const double peak_gflops = sizeof(T) == 4 ? peak.f32 : peak.f64;
    const nndl::UpdateStep<T> step = book_l1_step<T>(m);
    std::string shape;
    for (size_t l = 0; l < sizes.size(); ++l) shape += (l ? "-" : "") + std::to_string(sizes[l]);

    double network_us = 0, network_flop = 0;
    for (size_t l = 1; l < sizes.size(); ++l) {
        LayerData<T> d(sizes[l - 1], sizes[l], m);
        std::vector<T> z(static_cast<size_t>(m * d.n_out));
        const double flop = 2.0 * static_cast<double>(m * d.n_in * d.n_out);  // each kernel: one product
        auto report = [&](const char* kernel, double us) {
            const double gflops = flop / us / 1e3;
            std::printf("| %s | %lld | %s | %lld-%lld | %s | %.2f | %.0f | %.0f%% |\n", shape.c_str(),
                        static_cast<long long>(m), dtype, static_cast<long long>(d.n_in),
                        static_cast<long long>(d.n_out), kernel, us, gflops, 100 * gflops / peak_gflops);
            network_us += us;
            network_flop += flop;
        };
        const bool first = l == 1;
        report(first ? "dense_forward" : "hidden_forward", microseconds_per_call(flop, [&] {
                   (first ? kernels.dense_forward : kernels.hidden_forward)(d.rows.data(), m, d.n_in, d.W, d.b.data(),
                                                                            d.n_out, z.data());
               }));
        if (!first)  // the first layer sends no error to the inputs
            report("dense_backward", microseconds_per_call(flop, [&] {
                       kernels.dense_backward(d.delta.data(), m, d.n_out, d.W, d.n_in, d.d_in.data(),
                                              d.delta_in.data());
                   }));
        report("fused_update", microseconds_per_call(flop, [&] {
                   kernels.fused_update(d.delta.data(), d.rows.data(), m, d.n_out, 0, d.n_out, d.n_in, d.W, d.b.data(),
                                        step, nullptr, nullptr, nullptr, d.change.data());
               }));
    }
    const double batches = 50000.0 / static_cast<double>(m);
    const double gflops = network_flop / network_us / 1e3;
    std::printf(
        "| %s | %lld | %s | all | every kernel, x %.0f mini-batches: %.1f ms an epoch | %.2f | %.0f | %.0f%% |\n",
        shape.c_str(), static_cast<long long>(m), dtype, batches, network_us * batches / 1e3, network_us, gflops,
        100 * gflops / peak_gflops);
}

std::vector<int64_t> parse_sizes(const char* text) {
    std::vector<int64_t> sizes;
    for (const char* p = text; *p;) {
        char* end = nullptr;
        const long long v = std::strtoll(p, &end, 10);
        if (end == p || v < 1) return {};
        sizes.push_back(v);
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') return {};
    }
    return sizes.size() >= 2 ? sizes : std::vector<int64_t>{};
}

}  // namespace

int main(int argc, char** argv) {
    if (!__builtin_cpu_supports("avx512f")) {
        std::fprintf(stderr, "kernels_in_cache: this build times the avx512 kernels; this CPU has no AVX-512\n");
        return 1;
    }
    std::vector<std::vector<int64_t>> networks = {{784, 30, 10}, {784, 100, 10}, {784, 500, 10}, {784, 30, 30, 30, 10}};
    std::vector<int64_t> batches = {10, 100};
    std::vector<std::string> dtypes = {"float64", "float32"};
    if (argc == 4) {
        networks = {parse_sizes(argv[1])};
        batches = {std::atoll(argv[2])};
        dtypes = {argv[3]};
        if (networks[0].empty() || batches[0] < 1 || (dtypes[0] != "float64" && dtypes[0] != "float32")) {
            std::fprintf(stderr, "usage: kernels_in_cache [SIZES M DTYPE], e.g. 784,30,10 10 float64\n");
            return 2;
        }
    } else if (argc != 1) {
        std::fprintf(stderr, "usage: kernels_in_cache [SIZES M DTYPE], e.g. 784,30,10 10 float64\n");
        return 2;
    }
    // The peak as the kernels: the best of several short measurements.
    auto best_peak = [](int bytes) {
        double best = 0;
        for (int round = 0; round < 7; ++round)
            best = std::max(best, nndl::NNDL_KERNEL_SET.fma_peak_gflops(bytes, 0.02));
        return best;
    };
    const Peak peak{best_peak(8), best_peak(4)};
    std::printf("avx512 kernels; FMA peak measured here: %.1f GFLOP/s float64, %.1f float32 (one core)\n\n", peak.f64,
                peak.f32);
    std::printf("| network | m | dtype | layer | kernel | us per mini-batch | GFLOP/s | %% of FMA peak |\n");
    std::printf("|---|---:|---|---|---|---:|---:|---:|\n");
    for (const auto& dtype : dtypes)
        for (int64_t m : batches)
            for (const auto& sizes : networks) {
                if (dtype == "float64")
                    run<double>(sizes, m, peak);
                else
                    run<float>(sizes, m, peak);
            }
    return 0;
}
