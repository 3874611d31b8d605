# xanesmap_git_commit(<var>): the git commit the sources are at, for provenance (`xanesmap
# --version`, summary.json, results.h5): the short hash, with "-dirty" when tracked files differ
# from it, or "unknown" outside a git checkout or without git.
#
# It runs at configure time. CMake configures again when HEAD or the checked-out branch moves
# (a commit, a checkout), so the hash follows them; the dirty flag is as of the last configure
# (edits made after it are only seen at the next configure).
function(xanesmap_git_commit out_var)
  set(_commit "unknown")
  find_package(Git QUIET)
  if(GIT_FOUND AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short HEAD
      WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}" RESULT_VARIABLE _rc
      OUTPUT_VARIABLE _hash OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(_rc EQUAL 0 AND _hash)
      set(_commit "${_hash}")
      # --no-optional-locks: do not refresh (write) the index of a checkout others may be using.
      execute_process(COMMAND "${GIT_EXECUTABLE}" --no-optional-locks diff --quiet HEAD --
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}" RESULT_VARIABLE _dirty OUTPUT_QUIET ERROR_QUIET)
      if(NOT _dirty EQUAL 0)
        string(APPEND _commit "-dirty")
      endif()
      # Configure again when HEAD or the branch it points to moves.
      set(_watch HEAD packed-refs)
      execute_process(COMMAND "${GIT_EXECUTABLE}" symbolic-ref -q HEAD
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}" OUTPUT_VARIABLE _branch
        OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(_branch)
        list(APPEND _watch "${_branch}")
      endif()
      foreach(_ref IN LISTS _watch)
        execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --git-path "${_ref}"
          WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}" OUTPUT_VARIABLE _file
          OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
        get_filename_component(_file "${_file}" ABSOLUTE BASE_DIR "${PROJECT_SOURCE_DIR}")
        if(EXISTS "${_file}")
          set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_file}")
        endif()
      endforeach()
    endif()
  endif()
  set(${out_var} "${_commit}" PARENT_SCOPE)
endfunction()
