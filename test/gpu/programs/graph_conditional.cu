// graph_conditional: conditional nodes (CUDA 12.4 and later) driven from the GPU. An IF node
// whose condition a kernel sets with cudaGraphSetConditional from data on the device: its body
// (a kernel) runs only in the replays where the data says so. A WHILE node whose body halves a
// value on the device and sets the condition to whether it is still above a bound: the number of
// rounds depends on the data. Built with cudaGraphConditionalHandleCreate and cudaGraphAddNode;
// the bodies filled with kernel nodes through the handles cudaGraphAddNode returns. Each replay's
// results are checked exactly against a host computation.
#include "common.h"

__global__ void set_if(cudaGraphConditionalHandle handle, const int* flag) {
  if (threadIdx.x == 0 && blockIdx.x == 0) cudaGraphSetConditional(handle, *flag != 0 ? 1u : 0u);
}

__global__ void add(int* x, int v) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *x += v;
}

// One WHILE round: *value /= 2, ++*rounds; the loop goes on while *value > bound.
__global__ void halve(cudaGraphConditionalHandle handle, int* value, int* rounds, int bound) {
  if (threadIdx.x == 0 && blockIdx.x == 0) {
    *value /= 2;
    *rounds += 1;
    cudaGraphSetConditional(handle, *value > bound ? 1u : 0u);
  }
}

static cudaGraphNode_t kernel_node(cudaGraph_t g, void* fn, void** args, const cudaGraphNode_t* deps, size_t n) {
  cudaKernelNodeParams p{};
  p.func = fn;
  p.gridDim = dim3(1);
  p.blockDim = dim3(32);
  p.kernelParams = args;
  cudaGraphNode_t node;
  CK(cudaGraphAddKernelNode(&node, g, deps, n, &p));
  return node;
}

int main() {
  int* d = nullptr;  // d[0] flag, d[1] counter, d[2] value, d[3] rounds
  CK(cudaMalloc(&d, 4 * sizeof(int)));
  int* flag = d;
  int* counter = d + 1;
  int* value = d + 2;
  int* rounds = d + 3;
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));

  cudaGraph_t g;
  CK(cudaGraphCreate(&g, 0));
  cudaGraphConditionalHandle if_handle, while_handle;
  CK(cudaGraphConditionalHandleCreate(&if_handle, g, 0, cudaGraphCondAssignDefault));
  CK(cudaGraphConditionalHandleCreate(&while_handle, g, 1, cudaGraphCondAssignDefault));

  // IF: set_if -> IF { add(counter, 10) }
  void* set_args[] = {&if_handle, &flag};
  const cudaGraphNode_t setter = kernel_node(g, reinterpret_cast<void*>(set_if), set_args, nullptr, 0);
  cudaGraphNodeParams cp{};
  cp.type = cudaGraphNodeTypeConditional;
  cp.conditional.handle = if_handle;
  cp.conditional.type = cudaGraphCondTypeIf;
  cp.conditional.size = 1;
  cudaGraphNode_t if_node;
  CK(cudaGraphAddNode(&if_node, g, &setter, nullptr, 1, &cp));
  cudaGraph_t if_body = cp.conditional.phGraph_out[0];
  int ten = 10;
  void* add_args[] = {&counter, &ten};
  kernel_node(if_body, reinterpret_cast<void*>(add), add_args, nullptr, 0);

  // WHILE (condition starts at 1) { halve(value, rounds, 3) }, after the IF.
  cp.conditional.handle = while_handle;
  cp.conditional.type = cudaGraphCondTypeWhile;
  cp.conditional.size = 1;
  cudaGraphNode_t while_node;
  CK(cudaGraphAddNode(&while_node, g, &if_node, nullptr, 1, &cp));
  cudaGraph_t while_body = cp.conditional.phGraph_out[0];
  int bound = 3;
  void* halve_args[] = {&while_handle, &value, &rounds, &bound};
  kernel_node(while_body, reinterpret_cast<void*>(halve), halve_args, nullptr, 0);

  size_t count = 0;
  CK(cudaGraphGetNodes(g, nullptr, &count));
  std::printf("graph: %zu nodes\n", count);
  cudaGraphExec_t exec;
  CK(cudaGraphInstantiate(&exec, g, 0));

  int host_counter = 0, exact = 0;
  for (int r = 0; r < 12; ++r) {
    const int flag_value = (r % 3 == 0) ? 1 : 0;
    const int start = 100 * (r + 1);
    int init[4] = {flag_value, host_counter, start, 0};
    CK(cudaMemcpyAsync(d, init, sizeof init, cudaMemcpyHostToDevice, s));
    CK(cudaGraphLaunch(exec, s));
    int out[4];
    CK(cudaMemcpyAsync(out, d, sizeof out, cudaMemcpyDeviceToHost, s));
    CK(cudaStreamSynchronize(s));
    // The host's answer: the IF adds 10 when the flag is set; the WHILE halves at least once.
    if (flag_value) host_counter += 10;
    int v = start, n = 0;
    do {
      v /= 2;
      ++n;
    } while (v > bound);
    const bool ok = out[1] == host_counter && out[2] == v && out[3] == n;
    exact += ok ? 1 : 0;
    std::printf("replay %d: flag=%d counter=%d value=%d rounds=%d %s\n", r, flag_value, out[1], out[2], out[3],
                ok ? "ok" : "WRONG");
  }
  std::printf("%d of 12 replays exact\n", exact);
  CK(cudaGraphExecDestroy(exec));
  CK(cudaGraphDestroy(g));
  CK(cudaStreamDestroy(s));
  CK(cudaFree(d));
  std::printf("graph_conditional done\n");
  return exact == 12 ? 0 : 1;
}
