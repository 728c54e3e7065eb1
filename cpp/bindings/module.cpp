// pybind11 wiring of the C++ engine: argument checks at the boundary (each error names the
// argument), dtype dispatch to the float32/float64 instantiations, and the GIL released around
// every loop over data.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/typing.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>

#include "checked_array.hpp"
#include "nndl/cross_core.hpp"
#include "nndl/dropout_rng.hpp"
#include "nndl/kernel_table.hpp"
#include "nndl/thread_pool.hpp"
#include "nndl/train.hpp"

#include <cstdlib>

namespace py = pybind11;
using namespace nndl;
using nndl_bindings::bind_layer_stack;
using nndl_bindings::checked_array;
using nndl_bindings::checked_input;

namespace {

Activation parse_activation(const std::string& name) {
    if (name == "sigmoid") return Activation::sigmoid;
    if (name == "tanh") return Activation::tanh;
    if (name == "relu") return Activation::relu;
    if (name == "softmax") return Activation::softmax;
    throw py::value_error("activation: unknown activation '" + name + "' (sigmoid, tanh, relu, softmax)");
}

Cost parse_cost(const std::string& name) {
    if (name == "quadratic") return Cost::quadratic;
    if (name == "cross_entropy") return Cost::cross_entropy;
    if (name == "log_likelihood") return Cost::log_likelihood;
    throw py::value_error("cost: unknown cost '" + name + "' (quadratic, cross_entropy, log_likelihood)");
}

Regularization parse_regularization(const std::string& name) {
    if (name == "none") return Regularization::none;
    if (name == "l2") return Regularization::l2;
    if (name == "l1") return Regularization::l1;
    if (name == "elastic_net") return Regularization::elastic_net;
    throw py::value_error("regularization: unknown regularization '" + name + "' (none, l2, l1, elastic_net)");
}

L1Method parse_l1_method(const std::string& name) {
    if (name == "subgradient") return L1Method::subgradient;
    if (name == "proximal") return L1Method::proximal;
    if (name == "cumulative") return L1Method::cumulative;
    throw py::value_error("l1_method: unknown L1 method '" + name + "' (subgradient, proximal, cumulative)");
}

// Scalars of a training run that persist between chunks of mini-batches; the arrays are owned by
// the Python Network so that a run can be stopped and resumed at any mini-batch boundary.
struct PyTrainState {
    std::optional<py::array> velocity, l1_applied, update_ema_weights;
    double l1_total = 0.0;
    SplitMemory split;  // not seen from Python: a cache of the speed of splitting, not a result
    uint64_t step = 0;
    double update_ema = 0.0, ema_tau = 0.0;
    bool ema_started = false;
};

// The nonzeros one SGD call keeps of its training inputs (input_cache.hpp), for either dtype. It holds
// the array it was last used with, so that no other array can take that memory while it is cached;
// used with another array (or another dtype), it starts empty.
struct PyInputCache {
    int64_t max_bytes = kInputCacheBytes;
    py::object data;
    std::unique_ptr<SparseInputCache<float>> f32;
    std::unique_ptr<SparseInputCache<double>> f64;

    template <class T>
    SparseInputCache<T>* typed(const py::array& X) {
        auto& cache = slot<T>();
        if (!cache || !data.is(X)) {
            f32.reset(), f64.reset();
            cache = std::make_unique<SparseInputCache<T>>(max_bytes);
            data = X;
        }
        return cache.get();
    }
    template <class T>
    std::unique_ptr<SparseInputCache<T>>& slot() {
        if constexpr (std::is_same_v<T, float>)
            return f32;
        else
            return f64;
    }
    template <class F>
    auto read(F f, decltype(f(std::declval<SparseInputCache<float>&>())) empty) const {
        if (f32) return f(*f32);
        if (f64) return f(*f64);
        return empty;
    }
};

// A std::tuple, not a py::tuple, so that the signature (and the generated _core.pyi) names the types.
template <class T>
std::tuple<int64_t, bool, int64_t> train_minibatches_typed(const Architecture& arch, py::array& params, py::array& X,
                                                           py::array& Y, py::array& order, int64_t mini_batch_size,
                                                           int64_t batch_begin, int64_t batch_end,
                                                           const UpdateRule& rule, const Dropout& dropout,
                                                           PyTrainState& py_state, bool sparse_inputs,
                                                           PyInputCache* input_cache) {
    const auto P = static_cast<py::ssize_t>(arch.num_params());
    T* p = checked_array<T>(params, "params", {P}, true);
    const T* x = checked_input<T>(X, "X", {-1, arch.n_in()});
    const int64_t n = X.shape(0);
    const T* y = checked_input<T>(Y, "Y", {n, arch.n_out()});
    const int64_t* ord = checked_input<int64_t>(order, "order", {n});
    if (mini_batch_size < 1 || mini_batch_size > n)
        throw py::value_error("mini_batch_size: must be in [1, " + std::to_string(n) + "], got " +
                              std::to_string(mini_batch_size));
    const int64_t num_batches = (n + mini_batch_size - 1) / mini_batch_size;
    if (batch_begin < 0 || batch_end > num_batches || batch_begin > batch_end)
        throw py::value_error("batch range: [" + std::to_string(batch_begin) + ", " + std::to_string(batch_end) +
                              ") is not within [0, " + std::to_string(num_batches) + "]");
    for (int64_t i = 0; i < n; ++i)
        if (ord[i] < 0 || ord[i] >= n)
            throw py::value_error("order: index out of range at position " + std::to_string(i));
    if (rule.n < 1) throw py::value_error("n: the training-set size must be positive");

    TrainState<T> state;
    if (rule.momentum != 0.0) {
        if (!py_state.velocity) throw py::value_error("state: momentum needs a velocity buffer");
        state.velocity = checked_array<T>(*py_state.velocity, "velocity", {P}, true);
    }
    if (rule.l1_method == L1Method::cumulative && rule.l1_lmbda() != 0.0) {
        if (!py_state.l1_applied) throw py::value_error("state: the cumulative L1 method needs an l1_applied buffer");
        state.l1_applied = checked_array<T>(*py_state.l1_applied, "l1_applied", {P}, true);
    }
    if (py_state.update_ema_weights && py_state.ema_tau > 0)
        state.update_ema_weights = checked_array<T>(*py_state.update_ema_weights, "update_ema_weights", {P}, true);
    state.l1_total = py_state.l1_total;
    state.split = py_state.split;
    state.step = py_state.step;
    state.update_ema = py_state.update_ema;
    state.ema_tau = py_state.ema_tau;
    state.ema_started = py_state.ema_started;

    SparseInputCache<T>* cache = input_cache && sparse_inputs ? input_cache->typed<T>(X) : nullptr;
    ChunkResult result;
    {
        py::gil_scoped_release release;
        result = train_minibatches<T>(arch, p, x, y, n, ord, mini_batch_size, batch_begin, batch_end, rule, dropout,
                                      state, sparse_inputs, cache);
    }
    py_state.l1_total = state.l1_total;
    py_state.split = state.split;
    py_state.step = state.step;
    py_state.update_ema = state.update_ema;
    py_state.ema_started = state.ema_started;
    return {result.batches_done, result.diverged, result.nonfinite_position};
}

bool is_float32(const py::array& params) { return params.dtype().is(py::dtype::of<float>()); }

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "nndl's C++ engine: matrix-form backprop and the regularized mini-batch update";

    py::class_<Architecture>(m, "Architecture")
        .def(py::init(
                 [](std::vector<int64_t> sizes, const std::vector<std::string>& activations, const std::string& cost) {
                     std::vector<Activation> acts;
                     for (const auto& a : activations) acts.push_back(parse_activation(a));
                     return Architecture(std::move(sizes), std::move(acts), parse_cost(cost));
                 }),
             py::arg("sizes"), py::arg("activations"), py::arg("cost"))
        .def_readonly("sizes", &Architecture::sizes)
        .def_property_readonly("num_params", &Architecture::num_params)
        .def("weight_offset", &Architecture::weight_offset, py::arg("layer"))
        .def("bias_offset", &Architecture::bias_offset, py::arg("layer"));

    py::class_<UpdateRule>(m, "UpdateRule")
        .def(py::init([](const std::string& regularization, const std::string& l1_method, double eta, double lmbda,
                         double l1_ratio, int64_t n, double momentum) {
                 UpdateRule rule;
                 rule.regularization = parse_regularization(regularization);
                 rule.l1_method = parse_l1_method(l1_method);
                 rule.eta = eta;
                 rule.lmbda = lmbda;
                 rule.l1_ratio = l1_ratio;
                 rule.n = n;
                 rule.momentum = momentum;
                 return rule;
             }),
             py::arg("regularization"), py::arg("l1_method"), py::arg("eta"), py::arg("lmbda"), py::arg("l1_ratio"),
             py::arg("n"), py::arg("momentum"));

    py::class_<Dropout>(m, "Dropout")
        .def(py::init([](double p, uint64_t key, bool per_mini_batch) { return Dropout{p, key, per_mini_batch}; }),
             py::arg("p"), py::arg("key"), py::arg("per_mini_batch") = false);

    py::class_<PyTrainState>(m, "TrainState")
        .def(py::init<>())
        .def_readwrite("velocity", &PyTrainState::velocity)
        .def_readwrite("l1_applied", &PyTrainState::l1_applied)
        .def_readwrite("l1_total", &PyTrainState::l1_total)
        .def_readwrite("step", &PyTrainState::step)
        .def_readwrite("update_ema", &PyTrainState::update_ema)
        .def_readwrite("ema_tau", &PyTrainState::ema_tau)
        .def_readwrite("ema_started", &PyTrainState::ema_started)
        .def_readwrite("update_ema_weights", &PyTrainState::update_ema_weights);

    py::class_<PyInputCache>(m, "SparseInputCache")
        .def(py::init([](int64_t max_bytes) {
                 if (max_bytes < 0) throw py::value_error("max_bytes: must be >= 0, got " + std::to_string(max_bytes));
                 PyInputCache cache;
                 cache.max_bytes = max_bytes;
                 return cache;
             }),
             py::arg("max_bytes") = kInputCacheBytes,
             "The nonzero inputs one SGD call keeps of its training set (8-bit pixel data only), at most\n"
             "max_bytes of them: train_minibatches' input_cache.")
        .def_property_readonly(
            "examples_kept", [](const PyInputCache& c) { return c.read([](auto& t) { return t.examples_kept(); }, 0); })
        .def_property_readonly("bytes_used",
                               [](const PyInputCache& c) { return c.read([](auto& t) { return t.bytes_used(); }, 0); })
        .def_property_readonly(
            "scale", [](const PyInputCache& c) { return c.read([](auto& t) { return t.scale(); }, 0); },
            "The codes' scale (255 or 256: pixels q/255 or q/256), 0 when none was found.")
        .def_readonly("max_bytes", &PyInputCache::max_bytes);

    m.def(
        "train_minibatches",
        [](const Architecture& arch, py::array params, py::array X, py::array Y, py::array order,
           int64_t mini_batch_size, int64_t batch_begin, int64_t batch_end, const UpdateRule& rule,
           const Dropout& dropout, PyTrainState& state, bool sparse_inputs,
           std::optional<std::reference_wrapper<PyInputCache>> cache) {
            PyInputCache* input_cache = cache ? &cache->get() : nullptr;
            if (is_float32(params))
                return train_minibatches_typed<float>(arch, params, X, Y, order, mini_batch_size, batch_begin,
                                                      batch_end, rule, dropout, state, sparse_inputs, input_cache);
            return train_minibatches_typed<double>(arch, params, X, Y, order, mini_batch_size, batch_begin, batch_end,
                                                   rule, dropout, state, sparse_inputs, input_cache);
        },
        py::arg("arch"), py::arg("params").noconvert(), py::arg("X").noconvert(), py::arg("Y").noconvert(),
        py::arg("order").noconvert(), py::arg("mini_batch_size"), py::arg("batch_begin"), py::arg("batch_end"),
        py::arg("rule"), py::arg("dropout"), py::arg("state"), py::arg("sparse_inputs") = false,
        py::arg("input_cache") = py::none(),
        "Train mini-batches [batch_begin, batch_end) of one epoch in place; returns (batches_done, diverged,\n"
        "nonfinite_position): the position in order of an example with NaN or infinite inputs (its mini-batch\n"
        "not trained), or -1. sparse_inputs: the first layer reads only nonzero inputs (the same numbers on\n"
        "the SIMD kernel sets, less arithmetic when most inputs are exact zeros). input_cache: where the\n"
        "sparse first layer keeps the nonzeros it gathers of X, for the later calls of one SGD call.");

    m.def(
        "backprop",
        [](const Architecture& arch, py::array params, py::array X, py::array Y) {
            auto run = [&](auto tag) {
                using T = decltype(tag);
                const auto P = static_cast<py::ssize_t>(arch.num_params());
                const T* p = checked_input<T>(params, "params", {P});
                const T* x = checked_input<T>(X, "X", {-1, arch.n_in()});
                const int64_t m_rows = X.shape(0);
                const T* y = checked_input<T>(Y, "Y", {m_rows, arch.n_out()});
                py::array_t<T> grad(P);
                T* g = grad.mutable_data();
                {
                    py::gil_scoped_release release;
                    backprop<T>(arch, p, x, y, m_rows, g);
                }
                return py::array(grad);
            };
            return is_float32(params) ? run(float{}) : run(double{});
        },
        py::arg("arch"), py::arg("params").noconvert(), py::arg("X").noconvert(), py::arg("Y").noconvert(),
        "Gradient of the cost summed over the rows of X, laid out as params.");

    m.def(
        "feedforward",
        [](const Architecture& arch, py::array params, py::array X) {
            auto run = [&](auto tag) {
                using T = decltype(tag);
                const T* p = checked_input<T>(params, "params", {static_cast<py::ssize_t>(arch.num_params())});
                const T* x = checked_input<T>(X, "X", {-1, arch.n_in()});
                const int64_t k = X.shape(0);
                py::array_t<T> out({static_cast<py::ssize_t>(k), static_cast<py::ssize_t>(arch.n_out())});
                T* o = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    feedforward<T>(arch, p, x, k, o);
                }
                return py::array(out);
            };
            return is_float32(params) ? run(float{}) : run(double{});
        },
        py::arg("arch"), py::arg("params").noconvert(), py::arg("X").noconvert(), "Output activations (k, n_out).");

    m.def(
        "evaluate",
        [](const Architecture& arch, py::array params, py::array X, std::optional<py::array> Y,
           std::optional<py::array> labels) {
            auto run = [&](auto tag) {
                using T = decltype(tag);
                const T* p = checked_input<T>(params, "params", {static_cast<py::ssize_t>(arch.num_params())});
                const T* x = checked_input<T>(X, "X", {-1, arch.n_in()});
                const int64_t n = X.shape(0);
                const T* y = Y ? checked_input<T>(*Y, "Y", {n, arch.n_out()}) : nullptr;
                const int64_t* lab = labels ? checked_input<int64_t>(*labels, "labels", {n}) : nullptr;
                if (!y && !lab) throw py::value_error("evaluate: give Y or labels");
                if (lab)
                    for (int64_t i = 0; i < n; ++i)
                        if (lab[i] < 0 || lab[i] >= arch.n_out())
                            throw py::value_error("labels: label " + std::to_string(lab[i]) + " at position " +
                                                  std::to_string(i) + " is outside [0, " +
                                                  std::to_string(arch.n_out()) + ")");
                Evaluation e;
                {
                    py::gil_scoped_release release;
                    e = evaluate<T>(arch, p, x, y, lab, n);
                }
                return py::make_tuple(e.cost_sum, e.correct, e.nonfinite_row);
            };
            return is_float32(params) ? run(float{}) : run(double{});
        },
        py::arg("arch"), py::arg("params").noconvert(), py::arg("X").noconvert(), py::arg("Y").noconvert() = py::none(),
        py::arg("labels").noconvert() = py::none(),
        "(sum of the cost over the examples, number classified correctly, first row of X with a NaN or an\n"
        "infinity or -1; the sums mean nothing unless it is -1).");

    m.def("dropout_uniform", &dropout_uniform, py::arg("key"), py::arg("step"), py::arg("example"), py::arg("layer"),
          py::arg("unit"), "The counter-based uniform draw behind dropout masks (for tests).");

    // ---- performance controls: SIMD path and threads ----
    m.def(
        "simd_info",
        []() {
            py::typing::Dict<py::str, py::object> info;
            info["path"] = active_kernels().name;
            info["available"] = available_kernel_sets();
            info["compiled"] = compiled_kernel_sets();
            const char* env = std::getenv("NNDL_SIMD");
            info["requested"] = env ? py::object(py::str(env)) : py::object(py::none());
            return info;
        },
        "{'path': the kernel set in use, 'available': sets this CPU can run (lowest first), 'compiled': sets "
        "in this build, 'requested': the NNDL_SIMD environment variable or None}.");
    m.def(
        "set_simd",
        [](const std::string& name) {
            if (!set_active_kernels(name)) {
                std::string names;
                for (const auto& n : available_kernel_sets()) names += (names.empty() ? "" : ", ") + n;
                throw py::value_error("name: kernel set '" + name +
                                      "' is not available on this machine (available: " + names + ")");
            }
        },
        py::arg("name"), "Use the named kernel set ('scalar', 'baseline', 'avx2', 'avx512') from now on.");
    m.def(
        "set_num_threads",
        [](int n) {
            if (n < 1 || n > 1024)
                throw py::value_error("n: the number of threads must be in [1, 1024], got " + std::to_string(n));
            py::gil_scoped_release release;  // joining workers may wait for a running job
            set_num_threads(n);
        },
        py::arg("n"), "Threads for large mini-batches and evaluation, the caller included.");
    m.def("get_num_threads", &num_threads, "Threads for large mini-batches and evaluation, the caller included.");
    m.def(
        "cross_core_round_trip_ns",
        [](int rounds, int batches) {
            if (rounds < 1 || rounds > 100000000) throw py::value_error("rounds: must be in [1, 1e8]");
            if (batches < 1 || batches > 1000) throw py::value_error("batches: must be in [1, 1000]");
            py::gil_scoped_release release;
            return cross_core_round_trip_ns(rounds, batches);
        },
        py::arg("rounds") = 20000, py::arg("batches") = 5,
        "Nanoseconds of one cache line's round trip between the first two CPUs this process may run "
        "on (the fastest of `batches` batches of `rounds`); NaN with fewer than two.");
    m.def(
        "fma_peak_gflops",
        [](py::object dtype, double seconds) {
            const py::dtype dt = py::dtype::from_args(dtype);
            int bytes;
            if (dt.is(py::dtype::of<float>()))
                bytes = 4;
            else if (dt.is(py::dtype::of<double>()))
                bytes = 8;
            else
                throw py::type_error("dtype: expected float32 or float64");
            if (!(seconds > 0 && seconds <= 60)) throw py::value_error("seconds: must be in (0, 60]");
            const KernelSet& set = active_kernels();
            py::gil_scoped_release release;
            return set.fma_peak_gflops(bytes, seconds);
        },
        py::arg("dtype"), py::arg("seconds") = 0.2,
        "GFLOP/s of a loop of independent multiply-adds on one core with the active kernel set (the "
        "practical peak the benchmark compares to).");

    bind_layer_stack(m);
}
