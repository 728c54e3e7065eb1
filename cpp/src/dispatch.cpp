// The choice of kernel set: what this build compiled, what this CPU can run, and which one runs.
// The choice is made once, on first use (the module's import): NNDL_SIMD names a set to use if
// it is available; otherwise the best the CPU supports (never a test set, which only its name
// selects). set_active_kernels changes it later.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "nndl/cache_line_vector.hpp"
#include "nndl/kernel_table.hpp"
#include "nndl/kernels.hpp"

namespace nndl {

#ifdef NNDL_HAVE_BASELINE_KERNELS
extern const KernelSet kernels_baseline;
#endif
#ifdef NNDL_HAVE_AVX2_KERNELS
extern const KernelSet kernels_avx2;
#endif
#ifdef NNDL_HAVE_AVX512_ON_AVX2_KERNELS
extern const KernelSet kernels_avx512_on_avx2;
#endif
#ifdef NNDL_HAVE_AVX512_KERNELS
extern const KernelSet kernels_avx512;
#endif

namespace {

// ---- the scalar set: kernels.hpp's plain loops, compiled for the baseline target ----

template <class T>
void scalar_fused_update(const T* delta, const T* const* in_rows, int64_t m, int64_t n_out, int64_t j_begin,
                         int64_t j_end, int64_t n_in, T* W, T* b, const UpdateStep<T>& step, T* velocity_w,
                         T* velocity_b, T* l1_applied_w, double* row_change) {
    thread_local CacheLineVector<T> g_row;  // one scratch row per thread, kept between calls
    if (g_row.size() < static_cast<size_t>(n_in)) g_row.resize(static_cast<size_t>(n_in));
    fused_regularized_update(delta, in_rows, m, n_out, j_begin, j_end, n_in, W, b, step, velocity_w, velocity_b,
                             l1_applied_w, g_row.data(), row_change);
}

template <class T>
void scalar_sigmoid(T* z, int64_t count) {
    for (int64_t t = 0; t < count; ++t) z[t] = T(1) / (T(1) + std::exp(-z[t]));
}

template <class T>
double scalar_peak(double seconds) {
    // Four independent multiply-add chains; the compiler may turn these into SSE2 pairs.
    T acc[4] = {1, 2, 3, 4};
    const T a = T(0.999), c = T(0.001);
    int64_t iterations = 0;
    timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double elapsed = 0;
    do {
        for (int it = 0; it < (1 << 14); ++it)
            for (int k = 0; k < 4; ++k) acc[k] = acc[k] * a + c;
        iterations += 1 << 14;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        elapsed = static_cast<double>(t1.tv_sec - t0.tv_sec) + 1e-9 * static_cast<double>(t1.tv_nsec - t0.tv_nsec);
    } while (elapsed < seconds);
    volatile T sink = acc[0] + acc[1] + acc[2] + acc[3];
    (void)sink;
    return 2.0 * static_cast<double>(iterations) * 4 / elapsed * 1e-9;
}

double scalar_fma_peak(int bytes_per_value, double seconds) {
    return bytes_per_value == 4 ? scalar_peak<float>(seconds) : scalar_peak<double>(seconds);
}

template <class T>
constexpr KernelTable<T> scalar_table() {
    return KernelTable<T>{&dense_forward<T>,
                          &dense_forward<T>,  // hidden_forward: the scalar loop already sums along k in order
                          &dense_backward<T>,
                          &dense_weight_gradient<T>,
                          &gathered_rows_sum<T>,
                          &scalar_fused_update<T>,
                          &scalar_sigmoid<T>,
                          &first_nonfinite_row<T>,
                          1,
                          &gather_nonzeros<T>,
                          &sparse_forward<T>,
                          &sparse_update<T>,
                          &bias_update_rows<T>,
                          nullptr};  // sparse_forward_half: one lane, no halves
}

const KernelSet kernels_scalar{"scalar", scalar_table<float>(), scalar_table<double>(), &scalar_fma_peak};

struct Candidate {
    const KernelSet* set;
    bool (*cpu_has)();
    bool automatic = true;  // false: a test set, run only when asked for by name
};

bool always() { return true; }
#if defined(__x86_64__) || defined(__i386__)
bool cpu_has_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
bool cpu_has_avx512() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && cpu_has_avx2();
}
#endif

// Lowest first.
const std::vector<Candidate>& compiled() {
    static const std::vector<Candidate> sets = {
        {&kernels_scalar, &always},
#ifdef NNDL_HAVE_BASELINE_KERNELS
        {&kernels_baseline, &always},
#endif
#ifdef NNDL_HAVE_AVX2_KERNELS
        {&kernels_avx2, &cpu_has_avx2},
#endif
#ifdef NNDL_HAVE_AVX512_ON_AVX2_KERNELS
        {&kernels_avx512_on_avx2, &cpu_has_avx2, false},
#endif
#ifdef NNDL_HAVE_AVX512_KERNELS
        {&kernels_avx512, &cpu_has_avx512},
#endif
    };
    return sets;
}

const KernelSet* initial_choice() {
    const KernelSet* best = nullptr;
    for (const Candidate& c : compiled())
        if (c.automatic && c.cpu_has()) best = c.set;
    if (const char* wanted = std::getenv("NNDL_SIMD")) {
        if (const KernelSet* forced = find_kernel_set(wanted)) return forced;
        // An unknown or unavailable name: keep the best; simd_info() reports the request.
    }
    return best;
}

std::atomic<const KernelSet*> active{nullptr};

}  // namespace

const KernelSet* find_kernel_set(const std::string& name) {
    for (const Candidate& c : compiled())
        if (name == c.set->name && c.cpu_has()) return c.set;
    return nullptr;
}

const KernelSet& active_kernels() {
    const KernelSet* set = active.load(std::memory_order_acquire);
    if (!set) {
        const KernelSet* chosen = initial_choice();
        active.compare_exchange_strong(set, chosen);
        set = active.load(std::memory_order_acquire);
    }
    return *set;
}

bool set_active_kernels(const std::string& name) {
    const KernelSet* set = find_kernel_set(name);
    if (!set) return false;
    active.store(set, std::memory_order_release);
    return true;
}

std::vector<std::string> compiled_kernel_sets() {
    std::vector<std::string> names;
    for (const Candidate& c : compiled()) names.emplace_back(c.set->name);
    return names;
}

std::vector<std::string> available_kernel_sets() {
    std::vector<std::string> names;
    for (const Candidate& c : compiled())
        if (c.cpu_has()) names.emplace_back(c.set->name);
    return names;
}

}  // namespace nndl
