// driver_api.cpp: the driver API alone (linked with -lcuda, -cudart none): cuInit, a context
// from cuCtxCreate (CUDA 13's cuCtxCreate_v4), cuModuleLoadData of a PTX text (so the driver's
// PTX JIT runs), cuMemAlloc / cuMemcpyHtoD / cuLaunchKernel / cuMemcpyDtoH.
#include <cuda.h>
#include <vector>
#include "check.h"

// vadd(a, b, c, n): c[i] = a[i] + b[i], written for sm_90 (from nvcc -ptx, trimmed).
static const char kPtx[] = R"(
.version 8.0
.target sm_90
.address_size 64

.visible .entry vadd(
	.param .u64 vadd_param_0,
	.param .u64 vadd_param_1,
	.param .u64 vadd_param_2,
	.param .u32 vadd_param_3
)
{
	.reg .pred 	%p<2>;
	.reg .f32 	%f<4>;
	.reg .b32 	%r<6>;
	.reg .b64 	%rd<11>;

	ld.param.u64 	%rd1, [vadd_param_0];
	ld.param.u64 	%rd2, [vadd_param_1];
	ld.param.u64 	%rd3, [vadd_param_2];
	ld.param.u32 	%r2, [vadd_param_3];
	mov.u32 	%r3, %ctaid.x;
	mov.u32 	%r4, %ntid.x;
	mov.u32 	%r5, %tid.x;
	mad.lo.s32 	%r1, %r3, %r4, %r5;
	setp.ge.s32 	%p1, %r1, %r2;
	@%p1 bra 	DONE;
	cvta.to.global.u64 	%rd4, %rd1;
	mul.wide.s32 	%rd5, %r1, 4;
	add.s64 	%rd6, %rd4, %rd5;
	cvta.to.global.u64 	%rd7, %rd2;
	add.s64 	%rd8, %rd7, %rd5;
	ld.global.f32 	%f1, [%rd8];
	ld.global.f32 	%f2, [%rd6];
	add.f32 	%f3, %f2, %f1;
	cvta.to.global.u64 	%rd9, %rd3;
	add.s64 	%rd10, %rd9, %rd5;
	st.global.f32 	[%rd10], %f3;
DONE:
	ret;
}
)";

int main()
{
    CHECK_STATUS(cuInit(0));
    int version = 0, count = 0;
    CHECK_STATUS(cuDriverGetVersion(&version));
    CHECK_STATUS(cuDeviceGetCount(&count));
    printf("driver>=13000=%d devices>0=%d\n", version >= 13000, count > 0);
    CUdevice dev;
    CHECK_STATUS(cuDeviceGet(&dev, 0));
    int major = 0;
    CHECK_STATUS(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
    printf("cc_major=%d\n", major);
    CUcontext ctx;
    CHECK_STATUS(cuCtxCreate(&ctx, nullptr, 0, dev));
    CUmodule mod;
    CHECK_STATUS(cuModuleLoadData(&mod, kPtx));
    CUfunction fn;
    CHECK_STATUS(cuModuleGetFunction(&fn, mod, "vadd"));

    int n = 100000;
    std::vector<float> a(n), b(n), c(n);
    for (int i = 0; i < n; i++) {
        a[i] = (float)i;
        b[i] = (float)(2 * i);
    }
    CUdeviceptr da, db, dc;
    CHECK_STATUS(cuMemAlloc(&da, n * sizeof(float)));
    CHECK_STATUS(cuMemAlloc(&db, n * sizeof(float)));
    CHECK_STATUS(cuMemAlloc(&dc, n * sizeof(float)));
    CHECK_STATUS(cuMemcpyHtoD(da, a.data(), n * sizeof(float)));
    CHECK_STATUS(cuMemcpyHtoD(db, b.data(), n * sizeof(float)));
    void *args[] = {&da, &db, &dc, &n};
    CHECK_STATUS(cuLaunchKernel(fn, (n + 255) / 256, 1, 1, 256, 1, 1, 0, nullptr, args, nullptr));
    CHECK_STATUS(cuCtxSynchronize());
    CHECK_STATUS(cuMemcpyDtoH(c.data(), dc, n * sizeof(float)));
    double sum = 0;
    for (float v : c)
        sum += v;
    printf("vadd c[7]=%.1f sum=%.1f\n", c[7], sum);
    cuMemFree(da);
    cuMemFree(db);
    cuMemFree(dc);
    CHECK_STATUS(cuModuleUnload(mod));
    CHECK_STATUS(cuCtxDestroy(ctx));
    printf("ok\n");
    return 0;
}
