# The CI smoke run of vgpu-bench (no GPU), against vgpud on the fake driver, a few samples each.
# Asserts that the harness ran every case on its sides and wrote figures, never how fast they
# are:
#   1. the transport cases, natively (in-process rings) and through vgpud (a transport case has
#      no driver shim side);
#   2. when the CUDA children were built (nvcc): the local cases, which launch no kernel, through
#      the runtime shim and through NVIDIA's static runtime over the driver shim (the fake
#      driver cannot run nvcc's kernels, and without a GPU there is no native side);
#   3. --sides is checked before anything starts.
#   cmake -DBENCH=... -DDRIVER=... -DWORK=... [-DCUDA_CHILDREN=ON] -P smoke_test.cmake
cmake_minimum_required(VERSION 3.20)  # script mode sets no policies; IN_LIST needs CMP0057
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

# smoke_run(NAME EXPECTED_CASES "SIDE..." ARGS...): runs vgpu-bench in WORK/NAME and checks that
# each of EXPECTED_CASES cases has figures on exactly the given sides and a row in the table.
function(smoke_run name expected sides)
  set(dir ${WORK}/${name})
  execute_process(
    COMMAND ${BENCH} ${ARGN} --rounds 2 --scale 0.02 --driver ${DRIVER} --work-dir ${dir}
            --out ${dir}/results.json --commit smoke
    RESULT_VARIABLE rc OUTPUT_VARIABLE table ERROR_VARIABLE progress TIMEOUT 60)
  if(NOT rc EQUAL 0)
    file(GLOB logs ${dir}/*.log ${dir}/*.stderr)
    set(text "")
    foreach(log ${logs})
      file(READ ${log} content)
      string(APPEND text "${log}:\n${content}\n")
    endforeach()
    message(FATAL_ERROR "${name}: vgpu-bench failed (${rc}):\n${table}\n${progress}\n${text}")
  endif()
  message(STATUS "${name}:\n${table}")

  file(READ ${dir}/results.json json)
  string(JSON count LENGTH "${json}" cases)
  if(NOT count EQUAL expected)
    message(FATAL_ERROR "${name}: expected ${expected} cases in results.json, found ${count}")
  endif()
  string(JSON n_sides LENGTH "${json}" sides)
  list(LENGTH sides want_sides)
  if(NOT n_sides EQUAL want_sides)
    string(JSON got GET "${json}" sides)
    message(FATAL_ERROR "${name}: expected the sides ${sides} in results.json, found ${got}")
  endif()
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON name_i GET "${json}" cases ${i} name)
    foreach(side native runtime driver)
      string(JSON error ERROR_VARIABLE absent GET "${json}" cases ${i} ${side})
      if(NOT side IN_LIST sides)
        if(NOT absent)
          message(FATAL_ERROR "${name}: ${name_i} ran on the ${side} side, which was not asked for")
        endif()
        continue()
      endif()
      string(JSON error ERROR_VARIABLE no_error GET "${json}" cases ${i} ${side} error)
      if(NOT no_error)
        message(FATAL_ERROR "${name}: ${name_i} ${side}: ${error}")
      endif()
      string(JSON n GET "${json}" cases ${i} ${side} count)
      string(JSON p50 GET "${json}" cases ${i} ${side} p50)
      # Two rounds of max(1, round(samples * 0.02)) samples each.
      if(n LESS 2 OR NOT p50 GREATER 0)
        message(FATAL_ERROR "${name}: ${name_i} ${side}: ${n} samples, p50 ${p50}")
      endif()
    endforeach()
    string(FIND "${table}" "| ${name_i} |" row)
    if(row EQUAL -1)
      message(FATAL_ERROR "${name}: the table has no row for ${name_i}:\n${table}")
    endif()
  endforeach()
endfunction()

smoke_run(transport 2 "native;runtime" --cases transport)
if(CUDA_CHILDREN)
  smoke_run(shims 4 "runtime;driver" --cases local --sides runtime,driver)
endif()

# Only the driver side, which no transport case has: refused before vgpud starts.
execute_process(
  COMMAND ${BENCH} --cases transport --sides driver --driver ${DRIVER} --work-dir ${WORK}/refused
          --out ${WORK}/refused.json
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE why TIMEOUT 20)
if(rc EQUAL 0 OR NOT why MATCHES "selected sides")
  message(FATAL_ERROR "--sides driver with transport cases: rc ${rc}, ${why}")
endif()
