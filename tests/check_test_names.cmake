# xanesmap_check_test_names(DIR): fails the configuration when a Catch2 TEST_CASE name under DIR
# holds a ';'. CTest keeps lists as ';'-separated strings, so catch_discover_tests would split
# such a test into entries whose filters match nothing, and those would pass without running.
function(xanesmap_check_test_names dir)
  file(GLOB_RECURSE _sources "${dir}/*.cpp")
  foreach(_source IN LISTS _sources)
    file(STRINGS "${_source}" _lines REGEX "TEST_CASE\\(\"[^\"]*\;")
    if(_lines)
      message(FATAL_ERROR "${_source}: a TEST_CASE name holds ';', which CTest would split: ${_lines}")
    endif()
  endforeach()
endfunction()
