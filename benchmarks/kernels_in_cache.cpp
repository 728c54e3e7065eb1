// The SIMD kernels alone, on data that stays in cache: the forward pass and the fused
// gradient+update of one mini-batch of the book's first layer (784 inputs, 30 neurons), L1
// subgradient rule, float64 and float32. Compared with an epoch of `nndl bench`, it tells how much
// of the epoch is arithmetic and how much is everything else (main memory, the small layers, glue).
//
// Build and run from the repository root on an x86-64 CPU with AVX-512 (the flags are those
// CMakeLists.txt gives the avx512 kernel set):
//   g++ -O3 -std=c++17 -ffp-contract=fast -fno-math-errno -fschedule-insns -fsched-pressure \
//       -mavx512f -mavx2 -mfma -Icpp/include benchmarks/kernels_in_cache.cpp -o /tmp/kernels_in_cache
//   /tmp/kernels_in_cache 10       # the mini-batch size
#define NNDL_KERNEL_NS avx512
#define NNDL_KERNEL_NAME "avx512"
#define NNDL_VECTOR_BYTES 64
#define NNDL_VECTOR_REGS 32
#define NNDL_KERNEL_SET kernels_in_cache_avx512
#include "../cpp/src/kernels_simd.inl"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

// A T array of `count` values starting on a 64-byte boundary, as nndl/alignment.py gives Python.
template <class T>
T* aligned(std::vector<T>& storage, size_t count) {
    storage.assign(count + 64 / sizeof(T), T(0));
    const auto address = reinterpret_cast<uintptr_t>(storage.data());
    return reinterpret_cast<T*>((address + 63) & ~uintptr_t(63));
}

template <class F>
double microseconds_per_call(int reps, F call) {
    for (int r = 0; r < reps / 10 + 1; ++r) call();  // warm the caches
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) call();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / reps;
}

template <class T>
void run(int64_t m) {
    constexpr int64_t n_in = 784, n_out = 30;
    std::vector<T> x_store, w_store, b(n_out, T(0.1)), z(static_cast<size_t>(m * n_out));
    std::vector<T> delta(static_cast<size_t>(m * n_out), T(0.001));
    std::vector<double> change(n_out);
    T* X = aligned(x_store, static_cast<size_t>(m * n_in));
    T* W = aligned(w_store, static_cast<size_t>(n_out * n_in));
    for (int64_t i = 0; i < m * n_in; ++i) X[i] = static_cast<T>((i % 97) * 0.01);
    for (int64_t i = 0; i < n_out * n_in; ++i) W[i] = static_cast<T>((i % 89) * 0.001 - 0.04);
    std::vector<const T*> rows(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) rows[static_cast<size_t>(i)] = X + i * n_in;

    const nndl::KernelTable<T>& kernels = nndl::NNDL_KERNEL_SET.template table<T>();
    nndl::UpdateRule rule;
    rule.regularization = nndl::Regularization::l1;
    rule.eta = 0.5;
    rule.lmbda = 5.0;
    rule.n = 50000;
    const nndl::UpdateStep<T> step(rule, m, 0.0);
    const int reps = static_cast<int>(200000 / m);
    const double forward =
        microseconds_per_call(reps, [&] { kernels.dense_forward(rows.data(), m, n_in, W, b.data(), n_out, z.data()); });
    const double fused = microseconds_per_call(reps, [&] {
        kernels.fused_update(delta.data(), rows.data(), m, n_out, 0, n_out, n_in, W, b.data(), step, nullptr, nullptr,
                             nullptr, change.data());
    });
    const double flop = 2.0 * static_cast<double>(m * n_in * n_out);  // per kernel call
    const double batches = 50000.0 / static_cast<double>(m);
    std::printf(
        "%s m=%lld: forward %.2f us (%.0f GFLOP/s), fused gradient+update %.2f us (%.0f GFLOP/s); "
        "both x %.0f mini-batches = %.1f ms per epoch\n",
        sizeof(T) == 4 ? "float32" : "float64", static_cast<long long>(m), forward, flop / forward / 1e3, fused,
        flop / fused / 1e3, batches, (forward + fused) * batches / 1e3);
}

}  // namespace

int main(int argc, char** argv) {
    const int64_t m = argc > 1 ? std::atoll(argv[1]) : 10;
    if (m < 1) return 1;
    run<double>(m);
    run<float>(m);
    return 0;
}
