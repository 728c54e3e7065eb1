// What every layer of a network3-style stack does, over a whole mini-batch of m examples whose
// activations are stored example after example (row i of a layer's output is example i's output,
// flattened in (channel, row, column) order as the book's reshape does).
//
// The stack (layer_stack.cpp) drives the layers: forward for a range of examples, then backward
// for the same range (examples are independent, so ranges run on different threads), then the
// regularized update of each layer split by output unit (units are independent). A layer keeps
// its own workspace for the mini-batch; one set of layer objects serves one thread of work.
#pragma once

#include <cstdint>
#include <vector>

#include "nndl/kernel_table.hpp"
#include "nndl/update_rule.hpp"

namespace nndl {

// The dropout masks of one mini-batch: unit k of example i of layer `layer` is kept when its
// counter-based draw (dropout_rng.hpp) is >= p. Null when training without dropout or evaluating.
struct DropoutDraw {
    uint64_t key;
    uint64_t step;  // mini-batches trained so far
};

template <class T>
class Layer {
  public:
    virtual ~Layer() = default;

    // Sizes, per example, of the input and the output.
    virtual int64_t in_size() const = 0;
    virtual int64_t out_size() const = 0;
    // Multiply-adds per example of the forward pass (sizes the split between threads).
    virtual double macs() const = 0;

    // Make room for a mini-batch of m examples.
    virtual void reserve(int64_t m) = 0;
    // Outputs out[i0 .. i1) (after the activation) of inputs in_rows[i0 .. i1). With dropout
    // (training), a layer that drops its inputs draws the masks of those examples.
    virtual void forward(const KernelTable<T>& kernels, const T* params, const T* const* in_rows, int64_t i0,
                         int64_t i1, T* out, const DropoutDraw* dropout) = 0;
    // From delta[i0 .. i1) = dL/dz of the layer's pre-activation output, the error dL/d(input)
    // into grad_in[i0 .. i1) (skipped when grad_in is null: the first layer). Uses the weights and
    // the inputs in_rows of the forward pass, so it runs before any update; a layer may also gather
    // here what its update needs from those inputs while they are in cache.
    virtual void backward(const KernelTable<T>& kernels, const T* params, const T* const* in_rows, const T* delta,
                          int64_t i0, int64_t i1, T* grad_in) = 0;
    // Output units (or filters) this layer updates: the update may be split anywhere in [0, units).
    virtual int64_t units() const = 0;
    // The regularized update (update_rule.hpp, through the kernels' fused pass) of units
    // [u0, u1), from the m examples of the last backward. unit_change[u] as the kernel defines it.
    virtual void update(const KernelTable<T>& kernels, T* params, const T* delta, int64_t m, int64_t u0, int64_t u1,
                        const UpdateStep<T>& step, T* velocity, T* l1_applied, double* unit_change) = 0;
    // The gradient summed over the m examples of the last backward, into grad (laid out as params).
    virtual void gradient(const KernelTable<T>& kernels, const T* delta, int64_t m, T* grad) = 0;
};

}  // namespace nndl
