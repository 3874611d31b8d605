# FindOpenCVModules
# -----------------
#
# Finds the three OpenCV modules xanesmap uses (core, imgproc, imgcodecs) WITHOUT OpenCV's own
# CMake package.
#
# Why this exists: Debian (bookworm) ships OpenCVConfig.cmake only in libopencv-dev, the
# metapackage that pulls in every OpenCV module and with them Qt, ffmpeg, VTK and MPI.
# xanesmap only needs the module -dev packages libopencv-core-dev, libopencv-imgproc-dev and
# libopencv-imgcodecs-dev, which install headers and libraries but no CMake config, so
# find_package(OpenCV) cannot be used. This module finds them with find_path/find_library.
#
# Usage:
#   find_package(OpenCVModules [4.0] REQUIRED [COMPONENTS core imgproc imgcodecs])
#   target_link_libraries(mytarget PRIVATE OpenCV::imgcodecs)
#
# Components: core, imgproc, imgcodecs (all three when none are asked for). Asking for one also
# requires the modules it depends on (imgproc -> core; imgcodecs -> imgproc, core).
#
# Imported targets (UNKNOWN IMPORTED, so either the shared or the static library works):
#   OpenCV::core       the library, INTERFACE_INCLUDE_DIRECTORIES = the opencv4 include folder
#   OpenCV::imgproc    links OpenCV::core
#   OpenCV::imgcodecs  links OpenCV::imgproc and OpenCV::core
# CMake passes the include folder of imported targets with -isystem, which also keeps OpenCV
# 4.6's own C++20 warnings (-Wdeprecated-enum-enum-conversion, -Wconversion) out of our builds.
#
# Result variables:
#   OpenCVModules_FOUND, OpenCVModules_<component>_FOUND
#   OpenCVModules_VERSION        from opencv2/core/version.hpp, e.g. 4.6.0
#   OpenCVModules_INCLUDE_DIRS
#   OpenCVModules_LIBRARIES      the libraries of the components found
# Cache variables: OpenCVModules_INCLUDE_DIR, OpenCVModules_<component>_LIBRARY.
# Hint: set OpenCVModules_ROOT (variable or environment) to an installation prefix.

include(FindPackageHandleStandardArgs)

set(_ocvm_all_components core imgproc imgcodecs)
set(_ocvm_depends_core "")
set(_ocvm_depends_imgproc core)
set(_ocvm_depends_imgcodecs imgproc core)

# The components to look for: those asked for (default: all) and the modules they depend on.
# A dependency is as required as the component that needs it.
if(OpenCVModules_FIND_COMPONENTS)
  set(_ocvm_components "")
  foreach(_ocvm_c IN LISTS OpenCVModules_FIND_COMPONENTS)
    if(NOT _ocvm_c IN_LIST _ocvm_all_components)
      message(FATAL_ERROR "FindOpenCVModules: unknown component '${_ocvm_c}' "
                          "(known: ${_ocvm_all_components})")
    endif()
    list(APPEND _ocvm_components ${_ocvm_c} ${_ocvm_depends_${_ocvm_c}})
  endforeach()
  list(REMOVE_DUPLICATES _ocvm_components)
else()
  set(_ocvm_components ${_ocvm_all_components})
endif()
set(_ocvm_required_libraries "")
foreach(_ocvm_c IN LISTS _ocvm_components)
  if(NOT OpenCVModules_FIND_COMPONENTS OR OpenCVModules_FIND_REQUIRED_${_ocvm_c})
    foreach(_ocvm_d IN ITEMS ${_ocvm_c} ${_ocvm_depends_${_ocvm_c}})
      list(APPEND _ocvm_required_libraries OpenCVModules_${_ocvm_d}_LIBRARY)
    endforeach()
  endif()
endforeach()
list(REMOVE_DUPLICATES _ocvm_required_libraries)

# Debian puts the headers in /usr/include/opencv4/opencv2/...; other layouts have include/opencv2.
find_path(OpenCVModules_INCLUDE_DIR
  NAMES opencv2/core.hpp
  PATH_SUFFIXES opencv4
  DOC "Folder holding opencv2/core.hpp (e.g. /usr/include/opencv4)")
mark_as_advanced(OpenCVModules_INCLUDE_DIR)

unset(OpenCVModules_VERSION)
if(OpenCVModules_INCLUDE_DIR AND EXISTS "${OpenCVModules_INCLUDE_DIR}/opencv2/core/version.hpp")
  file(STRINGS "${OpenCVModules_INCLUDE_DIR}/opencv2/core/version.hpp" _ocvm_version_lines
       REGEX "^#define[ \t]+CV_VERSION_(MAJOR|MINOR|REVISION)[ \t]+[0-9]+")
  foreach(_ocvm_part MAJOR MINOR REVISION)
    set(_ocvm_${_ocvm_part} "")
    foreach(_ocvm_line IN LISTS _ocvm_version_lines)
      if(_ocvm_line MATCHES "CV_VERSION_${_ocvm_part}[ \t]+([0-9]+)")
        set(_ocvm_${_ocvm_part} "${CMAKE_MATCH_1}")
      endif()
    endforeach()
  endforeach()
  if(NOT _ocvm_MAJOR STREQUAL "" AND NOT _ocvm_MINOR STREQUAL "" AND NOT _ocvm_REVISION STREQUAL "")
    set(OpenCVModules_VERSION "${_ocvm_MAJOR}.${_ocvm_MINOR}.${_ocvm_REVISION}")
  endif()
endif()

set(OpenCVModules_LIBRARIES "")
foreach(_ocvm_c IN LISTS _ocvm_components)
  find_library(OpenCVModules_${_ocvm_c}_LIBRARY
    NAMES opencv_${_ocvm_c}
    DOC "The OpenCV ${_ocvm_c} library")
  mark_as_advanced(OpenCVModules_${_ocvm_c}_LIBRARY)
  if(OpenCVModules_${_ocvm_c}_LIBRARY AND OpenCVModules_INCLUDE_DIR)
    set(OpenCVModules_${_ocvm_c}_FOUND TRUE)
    list(APPEND OpenCVModules_LIBRARIES "${OpenCVModules_${_ocvm_c}_LIBRARY}")
  else()
    set(OpenCVModules_${_ocvm_c}_FOUND FALSE)
  endif()
endforeach()

find_package_handle_standard_args(OpenCVModules
  REQUIRED_VARS OpenCVModules_INCLUDE_DIR ${_ocvm_required_libraries}
  VERSION_VAR OpenCVModules_VERSION
  HANDLE_COMPONENTS
  REASON_FAILURE_MESSAGE
    "On Debian/Ubuntu: apt-get install libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev")

if(OpenCVModules_FOUND)
  set(OpenCVModules_INCLUDE_DIRS "${OpenCVModules_INCLUDE_DIR}")
  foreach(_ocvm_c IN LISTS _ocvm_components)
    if(OpenCVModules_${_ocvm_c}_FOUND AND NOT TARGET OpenCV::${_ocvm_c})
      add_library(OpenCV::${_ocvm_c} UNKNOWN IMPORTED)
      set(_ocvm_links "")
      foreach(_ocvm_d IN LISTS _ocvm_depends_${_ocvm_c})
        list(APPEND _ocvm_links OpenCV::${_ocvm_d})
      endforeach()
      set_target_properties(OpenCV::${_ocvm_c} PROPERTIES
        IMPORTED_LOCATION "${OpenCVModules_${_ocvm_c}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${OpenCVModules_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "${_ocvm_links}")
    endif()
  endforeach()
endif()

foreach(_ocvm_v all_components components required_libraries links version_lines line part c d
                MAJOR MINOR REVISION depends_core depends_imgproc depends_imgcodecs)
  unset(_ocvm_${_ocvm_v})
endforeach()
unset(_ocvm_v)
