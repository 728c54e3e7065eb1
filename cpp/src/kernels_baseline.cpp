// The SIMD kernels for the "baseline" instruction set. No -m flags: SSE2 on x86-64, NEON on aarch64 (both part of the
// base ABI), so this set runs on every CPU the wheel installs on.
#define NNDL_KERNEL_NS baseline
#define NNDL_KERNEL_NAME "baseline"
#define NNDL_VECTOR_BYTES 16
#define NNDL_VECTOR_REGS 16
#define NNDL_KERNEL_SET kernels_baseline
#include "kernels_simd.inl"
