// pybind11 wiring of the network3 layer stack (cpp/include/nndl/layer_stack.hpp): layer specs,
// training, backprop, evaluation. Arguments are checked here, each error naming the argument,
// and the GIL is released around every loop over data.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "checked_array.hpp"
#include "nndl/layer_stack.hpp"

namespace nndl_bindings {

using namespace nndl;

namespace {

LayerActivation parse_layer_activation(const std::string& name) {
    if (name == "linear") return LayerActivation::linear;
    if (name == "relu") return LayerActivation::relu;
    if (name == "sigmoid") return LayerActivation::sigmoid;
    if (name == "tanh") return LayerActivation::tanh;
    if (name == "softmax") return LayerActivation::softmax;
    throw py::value_error("activation_fn: unknown activation '" + name + "' (linear, relu, sigmoid, tanh)");
}

LayerKind parse_kind(const std::string& name) {
    if (name == "conv_pool") return LayerKind::conv_pool;
    if (name == "fully_connected") return LayerKind::fully_connected;
    if (name == "softmax") return LayerKind::softmax;
    throw py::value_error("kind: unknown layer kind '" + name + "' (conv_pool, fully_connected, softmax)");
}

// Labels (n,) int64 in [0, classes).
const int64_t* checked_labels(py::array& labels, int64_t n, int64_t classes, const char* name) {
    const int64_t* lab = checked_input<int64_t>(labels, name, {n});
    for (int64_t i = 0; i < n; ++i)
        if (lab[i] < 0 || lab[i] >= classes)
            throw py::value_error(std::string(name) + ": label " + std::to_string(lab[i]) + " at position " +
                                  std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
    return lab;
}

struct PyStackState {
    std::optional<py::array> velocity, l1_applied;
    double l1_total = 0.0;
    SplitMemory split;  // not seen from Python: a cache of the speed of splitting, not a result
    uint64_t step = 0;
    double update_ema = 0.0, ema_tau = 0.0;
    bool ema_started = false;
};

// std::tuple results, not py::tuple, so that the signatures (and the generated _core.pyi) name the types.
template <class T>
std::tuple<int64_t, bool, int64_t> train_typed(const LayerStack& stack, py::array& params, py::array& X,
                                               py::array& labels, py::array& order, int64_t mini_batch_size,
                                               int64_t batch_begin, int64_t batch_end, const UpdateRule& rule,
                                               uint64_t dropout_key, PyStackState& py_state) {
    const auto P = static_cast<py::ssize_t>(stack.num_params());
    T* p = checked_array<T>(params, "params", {P}, true);
    const T* x = checked_input<T>(X, "X", {-1, stack.in_size()});
    const int64_t n = X.shape(0);
    const int64_t* lab = checked_labels(labels, n, stack.classes(), "labels");
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
    state.l1_total = py_state.l1_total;
    state.split = py_state.split;
    state.step = py_state.step;
    state.update_ema = py_state.update_ema;
    state.ema_tau = py_state.ema_tau;
    state.ema_started = py_state.ema_started;
    ChunkResult result;
    {
        py::gil_scoped_release release;
        result = train_stack_minibatches<T>(stack, p, x, lab, n, ord, mini_batch_size, batch_begin, batch_end, rule,
                                            dropout_key, state);
    }
    py_state.l1_total = state.l1_total;
    py_state.split = state.split;
    py_state.step = state.step;
    py_state.update_ema = state.update_ema;
    py_state.ema_started = state.ema_started;
    return {result.batches_done, result.diverged, result.nonfinite_position};
}

bool is_float32(const py::array& a) { return a.dtype().is(py::dtype::of<float>()); }

}  // namespace

void bind_layer_stack(py::module_& m) {
    py::class_<LayerSpec>(m, "LayerSpec")
        .def(py::init([](const std::string& kind, const std::string& activation, std::vector<int64_t> image,
                         std::vector<int64_t> filters, std::vector<int64_t> pool, int64_t n_in, int64_t n_out,
                         double p_dropout) {
                 LayerSpec s;
                 s.kind = parse_kind(kind);
                 s.activation = parse_layer_activation(activation);
                 if (s.kind == LayerKind::conv_pool) {
                     if (image.size() != 3) throw py::value_error("image_shape: expected (channels, height, width)");
                     if (filters.size() != 3) throw py::value_error("filter_shape: expected (count, height, width)");
                     if (pool.size() != 2) throw py::value_error("poolsize: expected (height, width)");
                     s.channels = image[0], s.height = image[1], s.width = image[2];
                     s.filters = filters[0], s.filter_h = filters[1], s.filter_w = filters[2];
                     s.pool_h = pool[0], s.pool_w = pool[1];
                 }
                 s.n_in = n_in, s.n_out = n_out, s.p_dropout = p_dropout;
                 return s;
             }),
             py::arg("kind"), py::arg("activation"), py::arg("image") = std::vector<int64_t>{},
             py::arg("filters") = std::vector<int64_t>{}, py::arg("pool") = std::vector<int64_t>{}, py::arg("n_in") = 0,
             py::arg("n_out") = 0, py::arg("p_dropout") = 0.0)
        .def_property_readonly("in_size", &LayerSpec::in_size)
        .def_property_readonly("out_size", &LayerSpec::out_size);

    py::class_<LayerStack>(m, "LayerStack")
        .def(py::init<std::vector<LayerSpec>>(), py::arg("layers"))
        .def_property_readonly("num_params", &LayerStack::num_params)
        .def_property_readonly("in_size", &LayerStack::in_size)
        .def_property_readonly("classes", &LayerStack::classes)
        .def("weight_offset", &LayerStack::weight_offset, py::arg("layer"))
        .def("bias_offset", &LayerStack::bias_offset, py::arg("layer"));

    py::class_<PyStackState>(m, "StackTrainState")
        .def(py::init<>())
        .def_readwrite("velocity", &PyStackState::velocity)
        .def_readwrite("l1_applied", &PyStackState::l1_applied)
        .def_readwrite("l1_total", &PyStackState::l1_total)
        .def_readwrite("step", &PyStackState::step)
        .def_readwrite("update_ema", &PyStackState::update_ema)
        .def_readwrite("ema_tau", &PyStackState::ema_tau)
        .def_readwrite("ema_started", &PyStackState::ema_started);

    m.def(
        "train_stack_minibatches",
        [](const LayerStack& stack, py::array params, py::array X, py::array labels, py::array order,
           int64_t mini_batch_size, int64_t batch_begin, int64_t batch_end, const UpdateRule& rule,
           uint64_t dropout_key, PyStackState& state) {
            if (is_float32(params))
                return train_typed<float>(stack, params, X, labels, order, mini_batch_size, batch_begin, batch_end,
                                          rule, dropout_key, state);
            return train_typed<double>(stack, params, X, labels, order, mini_batch_size, batch_begin, batch_end, rule,
                                       dropout_key, state);
        },
        py::arg("stack"), py::arg("params").noconvert(), py::arg("X").noconvert(), py::arg("labels").noconvert(),
        py::arg("order").noconvert(), py::arg("mini_batch_size"), py::arg("batch_begin"), py::arg("batch_end"),
        py::arg("rule"), py::arg("dropout_key"), py::arg("state"),
        "Train mini-batches [batch_begin, batch_end) of one epoch in place; returns (batches_done, diverged,\n"
        "nonfinite_position) as train_minibatches does.");

    m.def(
        "stack_backprop",
        [](const LayerStack& stack, py::array params, py::array X, py::array labels) {
            auto run = [&](auto tag) {
                using T = decltype(tag);
                const auto P = static_cast<py::ssize_t>(stack.num_params());
                const T* p = checked_input<T>(params, "params", {P});
                const T* x = checked_input<T>(X, "X", {-1, stack.in_size()});
                const int64_t rows = X.shape(0);
                if (rows < 1) throw py::value_error("X: need at least one example");
                const int64_t* lab = checked_labels(labels, rows, stack.classes(), "labels");
                py::array_t<T> grad(P);
                std::vector<py::array> outputs;
                std::vector<T*> out_ptrs;
                for (const LayerSpec& s : stack.specs()) {
                    py::array_t<T> a({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(s.out_size())});
                    out_ptrs.push_back(a.mutable_data());
                    outputs.push_back(a);
                }
                T* g = grad.mutable_data();
                {
                    py::gil_scoped_release release;
                    stack_backprop<T>(stack, p, x, lab, rows, g, out_ptrs);
                }
                return std::make_tuple(py::array(grad), std::move(outputs));
            };
            return is_float32(params) ? run(float{}) : run(double{});
        },
        py::arg("stack"), py::arg("params").noconvert(), py::arg("X").noconvert(), py::arg("labels").noconvert(),
        "(gradient of the log-likelihood cost summed over the rows of X laid out as params, [each layer's\n"
        "outputs (rows, out_size)]); no dropout, no penalty.");

    m.def(
        "stack_feedforward",
        [](const LayerStack& stack, py::array params, py::array X) {
            auto run = [&](auto tag) {
                using T = decltype(tag);
                const T* p = checked_input<T>(params, "params", {static_cast<py::ssize_t>(stack.num_params())});
                const T* x = checked_input<T>(X, "X", {-1, stack.in_size()});
                const int64_t k = X.shape(0);
                py::array_t<T> out({static_cast<py::ssize_t>(k), static_cast<py::ssize_t>(stack.classes())});
                T* o = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    stack_feedforward<T>(stack, p, x, k, o);
                }
                return py::array(out);
            };
            return is_float32(params) ? run(float{}) : run(double{});
        },
        py::arg("stack"), py::arg("params").noconvert(), py::arg("X").noconvert(),
        "Output probabilities (k, classes) of finite inputs X, no dropout.");

    m.def(
        "stack_evaluate",
        [](const LayerStack& stack, py::array params, py::array X, py::array labels) {
            auto run = [&](auto tag) {
                using T = decltype(tag);
                const T* p = checked_input<T>(params, "params", {static_cast<py::ssize_t>(stack.num_params())});
                const T* x = checked_input<T>(X, "X", {-1, stack.in_size()});
                const int64_t n = X.shape(0);
                const int64_t* lab = checked_labels(labels, n, stack.classes(), "labels");
                Evaluation e;
                {
                    py::gil_scoped_release release;
                    e = stack_evaluate<T>(stack, p, x, lab, n);
                }
                return py::make_tuple(e.cost_sum, e.correct, e.nonfinite_row);
            };
            return is_float32(params) ? run(float{}) : run(double{});
        },
        py::arg("stack"), py::arg("params").noconvert(), py::arg("X").noconvert(), py::arg("labels").noconvert(),
        "(summed log-likelihood cost, number correct, first row of X with a NaN or an infinity or -1).");
}

}  // namespace nndl_bindings
