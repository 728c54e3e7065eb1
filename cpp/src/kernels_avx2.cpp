// The SIMD kernels for the "avx2" instruction set. Compiled with -mavx2 -mfma (CMakeLists.txt); chosen only when the
// CPU reports both.
#define NNDL_KERNEL_NS avx2
#define NNDL_KERNEL_NAME "avx2"
#define NNDL_VECTOR_BYTES 32
#define NNDL_VECTOR_REGS 16
#define NNDL_KERNEL_SET kernels_avx2
#include "kernels_simd.inl"
