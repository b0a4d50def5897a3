// nvrtc.cpp: NVRTC compiles a kernel from a string to a CUBIN for sm_90; the driver API loads
// and launches it on the device's primary context (-lnvrtc -lcuda, -cudart none).
#include <cuda.h>
#include <nvrtc.h>
#include <vector>
#include "check.h"

static const char kSource[] = R"(
extern "C" __global__ void scale(float *x, float a, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] *= a;
}
)";

int main()
{
    int major = 0, minor = 0;
    CHECK_STATUS(nvrtcVersion(&major, &minor));
    printf("nvrtc>=13=%d\n", major >= 13);
    nvrtcProgram prog;
    CHECK_STATUS(nvrtcCreateProgram(&prog, kSource, "scale.cu", 0, nullptr, nullptr));
    const char *opts[] = {"--gpu-architecture=sm_90"};
    nvrtcResult rc = nvrtcCompileProgram(prog, 1, opts);
    if (rc != NVRTC_SUCCESS) {
        size_t len = 0;
        nvrtcGetProgramLogSize(prog, &len);
        std::vector<char> log(len + 1);
        nvrtcGetProgramLog(prog, log.data());
        printf("compile failed: %s\n%s\n", nvrtcGetErrorString(rc), log.data());
        return 1;
    }
    size_t size = 0;
    CHECK_STATUS(nvrtcGetCUBINSize(prog, &size));
    std::vector<char> cubin(size);
    CHECK_STATUS(nvrtcGetCUBIN(prog, cubin.data()));
    CHECK_STATUS(nvrtcDestroyProgram(&prog));
    printf("cubin_nonempty=%d\n", size > 0);

    CHECK_STATUS(cuInit(0));
    CUdevice dev;
    CHECK_STATUS(cuDeviceGet(&dev, 0));
    CUcontext ctx;
    CHECK_STATUS(cuDevicePrimaryCtxRetain(&ctx, dev));
    CHECK_STATUS(cuCtxSetCurrent(ctx));
    CUmodule mod;
    CHECK_STATUS(cuModuleLoadData(&mod, cubin.data()));
    CUfunction fn;
    CHECK_STATUS(cuModuleGetFunction(&fn, mod, "scale"));
    int n = 4096;
    std::vector<float> x(n);
    for (int i = 0; i < n; i++)
        x[i] = (float)(i % 10);
    CUdeviceptr dx;
    CHECK_STATUS(cuMemAlloc(&dx, n * sizeof(float)));
    CHECK_STATUS(cuMemcpyHtoD(dx, x.data(), n * sizeof(float)));
    float a = 3.0f;
    void *args[] = {&dx, &a, &n};
    CHECK_STATUS(cuLaunchKernel(fn, (n + 127) / 128, 1, 1, 128, 1, 1, 0, nullptr, args, nullptr));
    CHECK_STATUS(cuCtxSynchronize());
    CHECK_STATUS(cuMemcpyDtoH(x.data(), dx, n * sizeof(float)));
    double sum = 0;
    for (float v : x)
        sum += v;
    printf("scale sum=%.1f\n", sum);
    cuMemFree(dx);
    cuModuleUnload(mod);
    CHECK_STATUS(cuDevicePrimaryCtxRelease(dev));
    printf("ok\n");
    return 0;
}
