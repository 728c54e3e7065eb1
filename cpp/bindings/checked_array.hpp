// Argument checks shared by the binding files: arrays C++ reads or writes, checked without a
// converting copy, each error naming the argument.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <initializer_list>
#include <string>

namespace nndl_bindings {

namespace py = pybind11;

// A C-contiguous array of T with the given shape (-1: any), checked without converting: a silent
// converting copy would lose what C++ writes, and would hide a dtype mix-up.
template <class T>
inline T* checked_array(py::array& array, const char* name, std::initializer_list<py::ssize_t> shape, bool writable) {
    if (!py::isinstance<py::array_t<T>>(array) || !array.dtype().is(py::dtype::of<T>()))
        throw py::type_error(std::string(name) + ": expected an array of " +
                             py::str(py::dtype::of<T>()).cast<std::string>() + ", got " +
                             py::str(array.dtype()).cast<std::string>());
    if (!(array.flags() & py::array::c_style))
        throw py::value_error(std::string(name) + ": expected a C-contiguous array");
    // A C-contiguous view at an odd byte offset (np.frombuffer(buf, offset=1)) is not aligned for T.
    if (!(array.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
        throw py::value_error(std::string(name) + ": expected an aligned array");
    if (writable && !array.writeable()) throw py::value_error(std::string(name) + ": array is read-only");
    if (static_cast<size_t>(array.ndim()) != shape.size())
        throw py::value_error(std::string(name) + ": expected " + std::to_string(shape.size()) + " dimensions, got " +
                              std::to_string(array.ndim()));
    size_t axis = 0;
    for (py::ssize_t want : shape) {
        if (want >= 0 && array.shape(static_cast<py::ssize_t>(axis)) != want)
            throw py::value_error(std::string(name) + ": expected size " + std::to_string(want) + " on axis " +
                                  std::to_string(axis) + ", got " +
                                  std::to_string(array.shape(static_cast<py::ssize_t>(axis))));
        ++axis;
    }
    // Inputs may be read-only (np.frombuffer, memory maps): only ask for write access when writing.
    return writable ? static_cast<T*>(array.mutable_data()) : const_cast<T*>(static_cast<const T*>(array.data()));
}

template <class T>
inline const T* checked_input(py::array& array, const char* name, std::initializer_list<py::ssize_t> shape) {
    return checked_array<T>(array, name, shape, false);
}

// The network3 layer stack's bindings (layer_stack_bindings.cpp).
void bind_layer_stack(py::module_& m);

}  // namespace nndl_bindings
