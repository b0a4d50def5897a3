# The CI smoke run of vgpu-bench (no GPU): the transport cases natively (in-process rings) and
# through vgpud on the fake driver, a few samples each. Asserts that the harness ran every case
# on both sides and wrote figures, never how fast they are.
#   cmake -DBENCH=... -DDRIVER=... -DWORK=... -P smoke_test.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(
  COMMAND ${BENCH} --cases transport --rounds 2 --scale 0.02 --driver ${DRIVER}
          --work-dir ${WORK} --out ${WORK}/results.json --commit smoke
  RESULT_VARIABLE rc OUTPUT_VARIABLE table ERROR_VARIABLE progress TIMEOUT 100)
if(NOT rc EQUAL 0)
  file(READ ${WORK}/vgpud.log vgpud_log)
  message(FATAL_ERROR "vgpu-bench failed (${rc}):\n${table}\n${progress}\nvgpud.log:\n${vgpud_log}")
endif()
message(STATUS "${table}")

file(READ ${WORK}/results.json json)
string(JSON count LENGTH "${json}" cases)
if(NOT count EQUAL 2)
  message(FATAL_ERROR "expected 2 transport cases in results.json, found ${count}")
endif()
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${json}" cases ${i} name)
  foreach(side native vgpu)
    string(JSON error ERROR_VARIABLE no_error GET "${json}" cases ${i} ${side} error)
    if(NOT no_error)
      message(FATAL_ERROR "${name} ${side}: ${error}")
    endif()
    string(JSON n GET "${json}" cases ${i} ${side} count)
    string(JSON p50 GET "${json}" cases ${i} ${side} p50)
    # Two rounds of max(1, round(samples * 0.02)) samples each.
    if(n LESS 2 OR NOT p50 GREATER 0)
      message(FATAL_ERROR "${name} ${side}: ${n} samples, p50 ${p50}")
    endif()
  endforeach()
  string(FIND "${table}" "| ${name} |" row)
  if(row EQUAL -1)
    message(FATAL_ERROR "the table has no row for ${name}:\n${table}")
  endif()
endforeach()
